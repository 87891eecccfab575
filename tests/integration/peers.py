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
    return free_port(2)


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


# ---- the proxy tests: SIPp callers and callees, their traces, registrations -------

def _trace_messages(text):
    """SIPp's -trace_msg log as a list of Traced, in the order logged."""
    import re
    out = []
    parts = re.split(r"^-{40,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n", text, flags=re.M)
    for stamp, chunk in zip(parts[1::2], parts[2::2]):
        head, _, raw = chunk.partition("\n")
        direction = "sent" if " sent" in head else "received"
        out.append(Traced(stamp, direction, raw.strip("\r\n")))
    return out


class Traced:
    """One message of a SIPp trace: when (seconds, wall clock: comparable
    across the SIPp processes of one test), sent or received, and a simple
    parse of its start line and headers (compact names not expanded)."""

    def __init__(self, stamp, direction, raw):
        import datetime
        self.t = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        self.direction = direction
        self.raw = raw.replace("\r\n", "\n")
        head = self.raw.split("\n\n", 1)[0]
        lines = head.split("\n")
        self.start = lines[0].strip()
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))
        first = self.start.split(" ", 2)
        self.status = int(first[1]) if first[0] == "SIP/2.0" else None
        self.method = None if self.status else first[0]

    def get(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def first(self, name):
        v = self.get(name)
        return v[0] if v else None

    @property
    def cseq_method(self):
        c = self.first("cseq")
        return c.split()[-1] if c else None

    @property
    def call_id(self):
        return self.first("call-id")

    def __repr__(self):
        return f"<{self.direction} {self.start}>"


class Sipp:
    """One SIPp process in the background, in a directory of its own (its
    -trace_msg and -trace_err logs land there): a callee (no remote: it
    waits for calls on its port, and this returns once the port is taken)
    or a caller (remote "host:port"). count bounds its calls (-m), timeout
    its run (-timeout, then our own timer); it is stopped by its handle."""

    def __init__(self, scenario, workdir, count=1, remote=None, args=(), timeout=20):
        assert SIPP, "sipp missing: scripts/bootstrap installs sip-tester"
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.port = free_port()
        self.timeout = timeout
        cmd = [SIPP] + ([remote] if remote else []) + [
            "-sf", os.path.join(SCENARIOS, scenario), "-i", "127.0.0.1", "-p", str(self.port),
            "-m", str(count), "-timeout", str(timeout), "-timeout_error", "-nostdin",
            "-trace_msg", "-trace_err", *[str(a) for a in args]]
        self.out_path = os.path.join(self.workdir, "sipp.out")
        self.out = open(self.out_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if not remote:
            assert wait_until(self._bound, 5, step=0.02), "sipp did not bind its port"

    def _bound(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"sipp exited with {self.proc.returncode}: {self.text()}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            try:
                u.bind(("127.0.0.1", self.port))
            except OSError:
                return True
        return False

    def wait(self, timeout=None):
        """Its exit status (0: every call succeeded), or None when it
        overran timeout (then it is stopped)."""
        try:
            return self.proc.wait(timeout=timeout or self.timeout + 10)
        except subprocess.TimeoutExpired:
            self.stop()
            return None

    def stop(self):
        rc = stop(self.proc, grace=2)
        if not self.out.closed:
            self.out.close()
        return rc

    def _logs(self, kind):
        text = ""
        for name in sorted(os.listdir(self.workdir)):
            if name.endswith(f"_{kind}.log"):
                with open(os.path.join(self.workdir, name), errors="replace") as f:
                    text += f.read()
        return text

    def text(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def errors(self):
        return self._logs("errors")

    def messages(self):
        """Every message it sent or received, parsed (Traced)."""
        return _trace_messages(self._logs("messages"))

    def received(self, method=None, status=None, cseq=None):
        return [m for m in self.messages() if m.direction == "received" and
                (method is None or m.method == method) and
                (status is None or m.status == status) and
                (cseq is None or m.cseq_method == cseq)]

    def sent(self, method=None, status=None, cseq=None):
        return [m for m in self.messages() if m.direction == "sent" and
                (method is None or m.method == method) and
                (status is None or m.status == status) and
                (cseq is None or m.cseq_method == cseq)]

    def report(self):
        """What to show when it failed: exit status, errors, last messages."""
        msgs = self._logs("messages")
        return (f"sipp {os.path.basename(self.workdir)} exit {self.proc.returncode}\n"
                f"{self.errors()[-1500:]}\n--- last messages ---\n{msgs[-2500:]}")


def register_binding(srv, aor, contacts, expires=600, user=None, password=None,
                     call_id=None, ua=None):
    """REGISTERs contacts (Contact header values, e.g. "<sip:bob@127.0.0.1:5070>;q=0.5")
    for aor at srv from a python UDP socket, answering a 401 with digest
    credentials for user (the aor's user part by default) when a password is
    given. Returns the final response (sip.Response)."""
    import random
    from sip import Udp, digest_authorization, parse_challenge, request
    own = ua is None
    ua = ua or Udp()
    call_id = call_id or "%016x@reg" % random.getrandbits(64)
    ruri = f"sip:{aor.split('@', 1)[1]}"
    hdrs = [f"Contact: {c}" for c in contacts] + [f"Expires: {expires}"]
    try:
        for cseq in (1, 2):
            msg = request("REGISTER", ruri, ua.local, extra=hdrs, call_id=call_id,
                          cseq=cseq)
            msg = msg.replace(f"To: <{ruri}>".encode(), f"To: <{aor}>".encode()).replace(
                b"From: <sip:tester@example.com>", f"From: <{aor}>".encode())
            ua.send(msg, (srv.host, srv.port))
            r = ua.recv(3)
            assert r is not None, f"no answer to REGISTER {aor}"
            if r.status != 401 or password is None or cseq == 2:
                return r
            ch = parse_challenge(r.first("www-authenticate"))
            user = user or aor.split(":", 1)[1].split("@", 1)[0]
            hdrs = hdrs + [digest_authorization(ch, "REGISTER", ruri, user, password)]
        return r
    finally:
        if own:
            ua.close()


# ---- baresip as a phone: audio, auto answer, remote control -----------------------

class BaresipPhone:
    """baresip 1.0 with one account registered through sipd (outbound
    proxy), answering calls by itself (;answermode=auto), a sine tone of
    freq Hz as its microphone (ausine: 48 kHz stereo only, resampled to
    PCMU), a null loudspeaker (aubridge), the sndfile filter writing what
    it sends and receives to dump-<time>-enc.wav / -dec.wav in confdir,
    and ctrl_tcp for remote control (menu.so provides the commands).
    baresip 1.0 has no `apistate` command: registration is read from
    `reginfo`, calls from the events ctrl_tcp pushes.

    For the sipua tests: play=PATH makes a WAV its microphone instead
    (aufile; at the file's own rate and channel count, so an 8 kHz mono
    file needs no resampling; baresip hangs up when it ends, so make it
    longer than the call), and srv=None makes a phone for direct calls:
    no outbound proxy and no registration (regint=0); it is reached at
    uri() and answers by itself as well. outbound= replaces the outbound
    proxy URI (e.g. "sips:127.0.0.1:5061" for TLS) and config= adds lines
    to its config file (sip_certificate, sip_cafile)."""

    def __init__(self, confdir, srv, aor, password, freq=1000, play=None, outbound=None,
                 config=""):
        import json  # noqa: F401  (used by the methods)
        import wave
        os.makedirs(confdir, exist_ok=True)
        self.confdir = str(confdir)
        self.aor = aor
        self.port = free_port_pair()
        self.ctrl_port = free_port()
        name = aor.split(":", 1)[1].split("@", 1)[0]
        with open(os.path.join(confdir, "config"), "w") as f:
            f.write(f"sip_listen 127.0.0.1:{self.port}\n"
                    "net_interface 127.0.0.1\n"
                    "dns_server 127.0.0.1:9\n"
                    f"module_path {BARESIP_MODULES}\n"
                    "module g711.so\n"
                    "module ausine.so\n"
                    "module aubridge.so\n"
                    "module sndfile.so\n"
                    "module_app account.so\n"
                    "module_app menu.so\n"
                    "module_app ctrl_tcp.so\n"
                    f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}\n"
                    f"audio_player aubridge,null-{name}\n"
                    f"audio_alert aubridge,alert-{name}\n"
                    f"snd_path {confdir}\n" + config)
            if play:
                with wave.open(str(play)) as w:
                    rate, channels = w.getframerate(), w.getnchannels()
                f.write("module aufile.so\n"
                        f"audio_source aufile,{play}\n"
                        f"ausrc_srate {rate}\n"
                        f"ausrc_channels {channels}\n")
            else:
                f.write(f"audio_source ausine,{freq}\n"
                        "ausrc_srate 48000\n"
                        "ausrc_channels 2\n")
        params = (f";auth_pass={password}" if password else "") + \
            (f';outbound="{outbound or f"sip:{srv.host}:{srv.port}"}";regint=600' if srv
             else ";regint=0") + \
            ";answermode=auto;audio_codecs=PCMU/8000"
        with open(os.path.join(confdir, "accounts"), "w") as f:
            f.write(f"<{aor}>{params}\n")
        self.log_path = os.path.join(confdir, "baresip.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([BARESIP, "-f", self.confdir], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.sock = None
        self.buf = b""
        self.events = []
        self.token = 0
        deadline = time.monotonic() + 10
        while self.sock is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"baresip exited: {self.text()}")
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"baresip ctrl_tcp not listening: {self.text()}")
                time.sleep(0.05)

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def uri(self):
        """Where a direct call reaches it: its AOR's user at its own port."""
        user = self.aor.split(":", 1)[1].split("@", 1)[0]
        return f"sip:{user}@127.0.0.1:{self.port}"

    def _read(self, timeout):
        """Reads what arrives within timeout; returns the complete JSON
        messages (netstrings "len:json,")."""
        import json
        self.sock.settimeout(max(0.001, timeout))
        try:
            chunk = self.sock.recv(65536)
            if chunk:
                self.buf += chunk
        except socket.timeout:
            pass
        out = []
        while True:
            colon = self.buf.find(b":")
            if colon < 0:
                break
            n = int(self.buf[:colon])
            if len(self.buf) < colon + 1 + n + 1:
                break
            out.append(json.loads(self.buf[colon + 1:colon + 1 + n]))
            self.buf = self.buf[colon + 1 + n + 1:]
        return out

    def command(self, cmd, params="", timeout=5):
        """Runs a command, returns its response's data (asserting ok);
        events arriving meanwhile are kept."""
        import json
        self.token += 1
        tok = str(self.token)
        body = json.dumps({"command": cmd, "params": params, "token": tok}).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")
        deadline = time.monotonic() + timeout
        found = None
        while found is None and time.monotonic() < deadline:
            for m in self._read(deadline - time.monotonic()):
                if m.get("response") and m.get("token") == tok:
                    found = m
                elif m.get("event"):
                    self.events.append(m)
        assert found is not None, f"baresip: no response to {cmd}"
        assert found.get("ok"), f"baresip {cmd} {params}: {found}"
        return found.get("data", "")

    def wait_event(self, kind, timeout, since=0):
        """The first event of type kind among events[since:] (waiting up to
        timeout seconds for it), or None."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events[since:]:
                if e.get("type") == kind:
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.events += [m for m in self._read(min(left, 0.2)) if m.get("event")]

    def registered(self):
        """True when reginfo shows the account's registration OK."""
        return "OK" in self.command("reginfo")

    def calls(self):
        """listcalls' text: the active calls (baresip 1.0 prints the count)."""
        return self.command("listcalls")

    def wavs(self, kind):
        """Paths of the sndfile dumps of kind ("dec": received, "enc": sent)."""
        return sorted(os.path.join(self.confdir, n) for n in os.listdir(self.confdir)
                      if n.startswith("dump-") and n.endswith(f"-{kind}.wav"))

    def stop(self, grace=5):
        if self.sock:
            self.sock.close()
        rc = stop(self.proc, grace)
        if not self.log.closed:
            self.log.close()
        return rc


def wav_tone(path):
    """(seconds, RMS, dominant frequency in Hz estimated from zero crossings)
    of a 16-bit WAV's first channel; the first and last 0.2 s are left out
    (jitter buffer start, hang-up)."""
    import math
    import struct
    import wave
    with wave.open(path) as w:
        n, ch, rate = w.getnframes(), w.getnchannels(), w.getframerate()
        assert w.getsampwidth() == 2, path
        data = w.readframes(n)
    s = struct.unpack(f"<{n * ch}h", data)[::ch]
    cut = int(rate * 0.2)
    s = s[cut:len(s) - cut]
    if not s:
        return n / rate, 0.0, 0.0
    rms = math.sqrt(sum(x * x for x in s) / len(s))
    crossings = sum(1 for a, b in zip(s, s[1:]) if (a < 0) != (b < 0))
    return n / rate, rms, crossings / 2 / (len(s) / rate)
