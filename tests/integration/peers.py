"""Helpers for driving real SIP peers against sipd: SIPp (sip-tester 3.6.1),
sipsak 0.9.8.1 and baresip 1.0, and sipctl to read back what sipd stored.

Every process is bound to 127.0.0.1, bounded in time, and stopped by its own
handle (SIGTERM, then SIGKILL after a grace period) — never by name.
"""
import os
import shutil
import signal
import socket
import subprocess
import time
import types

from conftest import SCENARIOS, SIPCTL, free_port

SIPP = shutil.which("sipp")
SIPSAK = "/usr/bin/sipsak"
BARESIP = "/usr/bin/baresip"
BARESIP_MODULES = "/usr/lib/baresip/modules"


def sipctl(dsn, *args, password=None):
    return subprocess.run([SIPCTL, "--location", dsn, *args], input=password,
                          capture_output=True, text=True, timeout=30)


def add_users(dsn, addresses, password):
    for a in addresses:
        r = sipctl(dsn, "user", "add", a, password=password + "\n")
        assert r.returncode == 0, f"sipctl user add {a}: {r.stderr}"


def reg_list(dsn, aor=None):
    """`sipctl reg list [AOR]` as a list of dicts (aor, contact, expires as
    an int, q, received, and instance/ua when present); [] when sipctl
    reports no bindings for AOR."""
    r = sipctl(dsn, "reg", "list", *([aor] if aor else []))
    if aor and r.returncode == 1 and "no bindings" in r.stderr:
        return []
    assert r.returncode == 0, f"sipctl reg list: {r.stderr}"
    out = []
    for line in r.stdout.splitlines():
        f = line.split("\t")
        b = {"aor": f[0], "contact": f[1]}
        for kv in f[2:]:
            k, _, v = kv.partition("=")
            b[k] = v
        b["expires"] = int(b["expires"])
        out.append(b)
    return out


def wait_until(pred, timeout, step=0.1):
    """pred()'s first true value within timeout seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v or None
        time.sleep(step)


def stop(proc, grace=5):
    """Ends one of our children by its handle: SIGTERM, SIGKILL after grace."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def run(cmd, timeout, cwd=None):
    """Runs cmd to its end, at most timeout seconds: (exit status, output).
    An overrun is killed by its handle and reported as status None."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return None, out.decode(errors="replace")
    return proc.returncode, out.decode(errors="replace")


# ---- SIPp -------------------------------------------------------------------------

def write_injection(path, rows):
    """A SIPp injection file: one call per row, read in order; [field0],
    [field1]... are the row's values."""
    with open(path, "w") as f:
        f.write("SEQUENTIAL\n")
        for row in rows:
            f.write(";".join(row) + ";\n")
    return str(path)


def run_sipp(srv, scenario, transport, workdir, count, inf, rate=200, extra=()):
    """Runs a scenario of tests/integration/scenarios against srv: count
    calls at rate per second (one per line of the injection file inf),
    bounded by -timeout and by our own timer. Returns rc (0 only when every
    call succeeded), out, errors and messages (SIPp's logs), port (SIPp's own)."""
    assert SIPP, "sipp missing: scripts/bootstrap installs sip-tester"
    os.makedirs(workdir, exist_ok=True)
    port = free_port()
    cmd = [SIPP, f"{srv.host}:{srv.port}", "-sf", os.path.join(SCENARIOS, scenario),
           "-inf", inf, "-t", transport, "-i", "127.0.0.1", "-p", str(port),
           "-m", str(count), "-r", str(rate), "-timeout", "20", "-timeout_error",
           "-nostdin", "-trace_err", "-trace_msg", *extra]
    rc, out = run(cmd, timeout=40, cwd=workdir)
    logs = {"errors": "", "messages": ""}
    for name in sorted(os.listdir(workdir)):
        for kind in logs:
            if name.endswith(f"_{kind}.log"):
                with open(os.path.join(workdir, name), errors="replace") as f:
                    logs[kind] += f.read()
    return types.SimpleNamespace(rc=rc, out=out, port=port, **logs)


# ---- baresip ----------------------------------------------------------------------

def free_port_pair():
    """P with P+1 also free: baresip's sip_listen P takes UDP/TCP P and TLS P+1."""
    for _ in range(50):
        p = free_port()
        if p < 65535:
            try:
                with socket.socket() as t:
                    t.bind(("127.0.0.1", p + 1))
                return p
            except OSError:
                continue
    raise RuntimeError("no free port pair")


class Baresip:
    """baresip registering one account through sipd, from a configuration
    directory of its own: SIP on 127.0.0.1 only, its DNS pointed at a dead
    loopback port, and no module but account (no audio, no control)."""

    def __init__(self, confdir, srv, aor, password=None):
        os.makedirs(confdir, exist_ok=True)
        self.port = free_port_pair()
        with open(os.path.join(confdir, "config"), "w") as f:
            f.write(f"sip_listen 127.0.0.1:{self.port}\n"
                    "net_interface 127.0.0.1\n"
                    "dns_server 127.0.0.1:9\n"
                    f"module_path {BARESIP_MODULES}\n"
                    "module_app account.so\n")
        params = f';outbound="sip:{srv.host}:{srv.port}";regint=600'
        if password:
            params = f";auth_pass={password}" + params
        with open(os.path.join(confdir, "accounts"), "w") as f:
            f.write(f"<{aor}>{params}\n")
        self.log_path = os.path.join(confdir, "baresip.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([BARESIP, "-f", confdir], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, grace=5):
        """SIGTERM (baresip then unregisters), SIGKILL after grace seconds."""
        rc = stop(self.proc, grace)
        self.log.close()
        return rc
