"""sipbench — what the SIP benchmarks in bench/ share (bench/options,
bench/register): free ports, servers in their own process groups, CPU and
memory of a whole process group from /proc, and bounded SIPp runs.

Rules kept here so every benchmark keeps them:
- every server runs in its own session and process group (start_new_session)
  and is stopped by that group id: Kamailio's forked workers die with it;
- a server's CPU is utime+stime summed over the live processes of its
  group; its memory is PSS (smaps_rollup) summed over the group, so shared
  memory (Kamailio's shm) counts once, not once per worker;
- SIPp always runs bounded (-m and -timeout) and is stopped by its PID if it
  overstays; its CPU comes from wait4's rusage of that one process.
"""
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIPD = os.path.join(ROOT, "build", "release", "sipd")
SIPCTL = os.path.join(ROOT, "build", "release", "sipctl")
KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    """A UDP port free on 127.0.0.1 now (and, for sipd's defaults, its TCP twin)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue


def group_pids(pgid):
    """PIDs of the live processes in process group pgid."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5: pgrp
            pids.append(int(pid))
    return pids


def tree_cpu(pgid):
    """utime+stime (seconds) of every live process in process group pgid."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])  # fields 14, 15
    return total / TICK


def group_minflt(pgid):
    """Minor page faults of the live processes in process group pgid (a
    process's count includes its threads'): fresh memory being touched."""
    total = 0
    for pid in group_pids(pgid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                total += int(f.read().rsplit(")", 1)[1].split()[7])  # field 10
        except OSError:
            continue
    return total


def group_pss(pgid):
    """Proportional set size (bytes) summed over process group pgid: pages
    shared between its processes (Kamailio's shared memory) count once."""
    total = 0
    for pid in group_pids(pgid):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def options_probe(port, timeout=15.0):
    """Waits until something answers a SIP OPTIONS on 127.0.0.1:port (any
    status: the server is up and reading its socket). False on timeout."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        lport = s.getsockname()[1]
        s.settimeout(0.1)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            msg = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKprobe{n};rport\r\n"
                   "Max-Forwards: 70\r\n"
                   f"From: <sip:probe@127.0.0.1:{lport}>;tag=probe\r\n"
                   f"To: <sip:127.0.0.1:{port}>\r\n"
                   f"Call-ID: probe-{os.getpid()}-{n}\r\n"
                   "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
            try:
                s.sendto(msg.encode(), ("127.0.0.1", port))
                if s.recv(65536).startswith(b"SIP/2.0 "):
                    return True
            except OSError:  # timeout, or an ICMP error before it binds
                time.sleep(0.05)
    return False


class Server:
    """A server process in its own session and process group, stopped by
    group id. Ready when it answers an OPTIONS on its port."""

    def __init__(self, name, cmd, port, tmp, log_name=None):
        self.name, self.port, self.cmd = name, port, cmd
        self.log = open(os.path.join(tmp, f"{log_name or name}.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.pgid = self.proc.pid  # setsid: its PID is its group id
        if not options_probe(port) or self.proc.poll() is not None:
            self.stop()
            sys.exit(f"{name} did not start, see {self.log.name}")

    def cpu(self):
        return tree_cpu(self.pgid)

    def perf_start(self, path):
        """Samples where the group's CPU goes (perf, cpu-clock) until
        perf_stop(): see kernel_share()."""
        pids = ",".join(str(p) for p in group_pids(self.pgid))
        self._perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F",
                                       str(PERF_HZ), "-p", pids, "-o", path],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      stdin=subprocess.DEVNULL)
        self._perf_path = path
        time.sleep(0.2)  # attached before the load starts

    def perf_stop(self):
        """Stops the sampling (by its PID); the share of the samples in the
        kernel, or None."""
        p, self._perf = getattr(self, "_perf", None), None
        if not p:
            return None
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return None
        return kernel_share(self._perf_path)

    def pss(self):
        return group_pss(self.pgid)

    def minflt(self):
        return group_minflt(self.pgid)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        try:
            os.killpg(self.pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        # Workers can outlive the main process: whatever is left of the group.
        deadline = time.monotonic() + 5
        while group_pids(self.pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if group_pids(self.pgid):
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.log.close()


# Where a server's CPU goes: kernel or its own code. /proc's utime/stime
# split cannot tell (it comes from tick samples, and a server that sleeps
# between datagrams is woken in step with the tick: one run gave sipd 4.8 of
# 7.8 µs per OPTIONS as system time and Kamailio 0.0 of 9.6). perf's
# cpu-clock samples are taken only while the process runs.
PERF_HZ = 999


def kernel_share(path):
    """The share of the samples in perf.data at path that fell in the
    kernel (system calls, the UDP stack, page faults, scheduling), or None."""
    try:
        r = subprocess.run(["perf", "report", "-i", path, "--sort", "dso", "--stdio", "-q"],
                           capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    kernel = total = 0.0
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith("%"):
            pct = float(parts[0].rstrip("%"))
            total += pct
            if parts[1].startswith("[kernel"):
                kernel += pct
    return kernel / total if total else None


def start_sipd(tmp, workers, extra=(), log_name=None):
    port = free_port()
    # One SIPp address sends every request: no per-source limit, and no cap
    # on transactions (a 30,000/s REGISTER run holds ~1M for Timer J);
    # Kamailio's configs have none either.
    cmd = [SIPD, "--listen", f"udp:127.0.0.1:{port}", "--workers", str(workers),
           "--log-level", "warn", "--rate-limit", "0", "--max-transactions", "0", *extra]
    return Server("sipd", cmd, port, tmp, log_name)


def start_kamailio(tmp, workers, cfg_file, subst=None, log_name=None, shm_mb=2048):
    """Kamailio at its best (PEERS.md): -x tlsf, shared memory shm_mb, the
    config from bench/kamailio/ with LISTEN, CHILDREN and subst replaced."""
    port = free_port()
    with open(os.path.join(HERE, "kamailio", cfg_file)) as f:
        cfg = f.read()
    cfg = cfg.replace("CHILDREN", str(workers)).replace("LISTEN", f"127.0.0.1:{port}")
    for key, value in (subst or {}).items():
        cfg = cfg.replace(key, value)
    name = log_name or "kamailio"
    path = os.path.join(tmp, f"{name}.cfg")
    with open(path, "w") as f:
        f.write(cfg)
    cmd = ["kamailio", "-f", path, "-DD", "-E", "-x", "tlsf", "-m", str(shm_mb), "-M", "16",
           "-P", os.path.join(tmp, f"{name}.pid")]
    return Server("kamailio", cmd, port, tmp, log_name)


def _stat_last(stat_path):
    with open(stat_path) as f:
        rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
    head, last = rows[0], rows[-1]
    out = {}
    for key in ("SuccessfulCall(C)", "FailedCall(C)", "Retransmissions(C)",
                "FailedMaxUDPRetrans(C)", "FailedUnexpectedMessage(C)", "OutOfCallMsgs(C)",
                "DeadCallMsgs(C)"):
        if key in head:
            try:
                out[key] = int(last[head.index(key)])
            except ValueError:
                out[key] = 0
    return out


class Sipp:
    """One SIPp client, started now, bounded by count (-m) and by time
    (-timeout); wait() reaps it (killing it by PID if it overstays) and
    returns its figures."""

    def __init__(self, port, scenario, rate, count, tmp, tag, timeout_s, inf=None,
                 extra=(), limit=None, local_port=None):
        self.tmp, self.tag, self.timeout_s = tmp, tag, timeout_s
        self.stat = os.path.join(tmp, f"stat-{tag}.csv")
        if os.path.exists(self.stat):
            os.unlink(self.stat)
        cmd = ["sipp", f"127.0.0.1:{port}", "-sf", scenario, "-t", "u1", "-i", "127.0.0.1",
               "-p", str(local_port or free_port()), "-r", str(rate), "-m", str(count),
               "-timeout", f"{timeout_s}s", "-buff_size", "4194304", "-nostdin",
               "-trace_stat", "-stf", self.stat, "-fd", "1"]
        if limit:
            cmd += ["-l", str(limit)]
        if inf:
            cmd += ["-inf", inf]
        cmd += list(extra)
        self.cmd = cmd
        self.out = open(os.path.join(tmp, f"sipp-{tag}.out"), "w")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=tmp, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def wait(self):
        deadline = self.t0 + self.timeout_s + 20
        killed = False
        while True:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline and not killed:
                self.proc.send_signal(signal.SIGKILL)  # by its PID
                killed = True
            time.sleep(0.02)
        elapsed = time.monotonic() - self.t0
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.out.close()
        st = _stat_last(self.stat) if os.path.exists(self.stat) else {}
        ok = st.get("SuccessfulCall(C)", 0)
        failed = st.get("FailedCall(C)", 0)
        return {"ok": ok, "failed": failed, "calls": ok + failed,
                "retrans": st.get("Retransmissions(C)", 0),
                "failed_max_retrans": st.get("FailedMaxUDPRetrans(C)", 0),
                "unexpected": st.get("FailedUnexpectedMessage(C)", 0),
                "sipp_cpu_s": ru.ru_utime + ru.ru_stime, "elapsed_s": elapsed,
                "rc": self.proc.returncode, "killed": killed}


def sipp_run(port, scenario, rate, count, tmp, tag, timeout_s, inf=None, extra=(), limit=None,
             local_port=None):
    """One bounded SIPp run to its end: its figures (see Sipp.wait)."""
    return Sipp(port, scenario, rate, count, tmp, tag, timeout_s, inf, extra, limit,
                local_port).wait()
