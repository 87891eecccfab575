"""Runs sipua (the user agent of issue 6) for the integration tests, per the
command-line and JSON-event contract of notes/sipua_cli.md:

    ua = SipUA(workdir, "bob", "answer", "--auto", "--record", path)
    ua.wait_event("incoming", 5)
    ended = ua.wait_event("ended", 10)
    assert ua.wait_exit(5) == 0, ua.report()

Each SipUA listens for SIP on a free loopback port and gets an RTP port range
of its own (checked free, below the kernel's ephemeral ports, never
overlapping another range this process handed out). Its --json events are
read from stdout line by line by a thread, so waits have timeouts; stderr
goes to a file whose tail every failure message shows (report()). It is
stopped by its own PID: SIGTERM, then SIGKILL after a bound.

The `sipuas` fixture starts them and, at the end of the test, stops whatever
still runs and checks that none of them hit a sanitizer error.
"""
import json
import os
import queue
import random
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import SIPD, free_port

SIPUA = os.environ.get("SIPUA_BIN", os.path.join(os.path.dirname(SIPD), "sipua"))

# RTP ports: below Linux's ephemeral range (32768-60999), above most services.
RTP_LO, RTP_HI = 20000, 32700
_live = set()  # (lo, hi) ranges of the SipUA processes of this one still running
_cursor = [random.randrange(RTP_LO, RTP_HI) & ~1]


def rtp_range(n):
    """n consecutive even-aligned UDP ports, all free on 127.0.0.1 now and
    not overlapping the range of a SipUA of ours still running (sipua binds
    them later). Taken in turn from a cursor that walks the span, so ranges
    given one after the other do not collide; a busy port moves it past."""
    n += n % 2
    assert n <= (RTP_HI - RTP_LO) // 2, n
    for _ in range(400):
        lo = _cursor[0]
        if lo + n - 1 > RTP_HI:
            lo = RTP_LO
        hi = lo + n - 1
        _cursor[0] = hi + 1 + (hi + 1) % 2
        if any(lo <= h and l <= hi for l, h in _live):
            continue
        # sipua's media engine skips ports in use, so a range needs room,
        # not every port free: small ranges must be all free, large ones
        # (the load test's) may have a third taken by other processes.
        allowed = 0 if n <= 64 else n // 3
        busy = []
        for p in range(lo, hi + 1):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    busy.append(p)
                    if len(busy) > allowed:
                        break
        if len(busy) > allowed:
            _cursor[0] = (busy[-1] + 2) & ~1
            continue
        _live.add((lo, hi))
        return lo, hi
    raise RuntimeError(f"no {n} free consecutive UDP ports in {RTP_LO}-{RTP_HI}")


class SipUA:
    """One sipua process: `sipua --json --listen 127.0.0.1:PORT --rtp-ports
    LO-HI [options] COMMAND [args]`. events holds every JSON event so far
    (a line that is not JSON is kept as {"event": "_text", "line": ...})."""

    def __init__(self, workdir, name, command, *args, options=(), rtp_ports=16,
                 log_level="info"):
        os.makedirs(str(workdir), exist_ok=True)
        self.name = name
        self.port = free_port()
        self.rtp = rtp_range(rtp_ports)
        self.cmd = [SIPUA, "--json", "--listen", f"127.0.0.1:{self.port}",
                    "--rtp-ports", f"{self.rtp[0]}-{self.rtp[1]}"]
        if log_level:
            self.cmd += ["--log-level", log_level]
        self.cmd += [str(o) for o in options]
        self.cmd += [command] if command else []
        self.cmd += [str(a) for a in args]
        self.err_path = os.path.join(str(workdir), f"{name}.stderr")
        self.out_path = os.path.join(str(workdir), f"{name}.stdout")
        self.err = open(self.err_path, "w")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=self.err,
                                     stdin=subprocess.PIPE if command is None else
                                     subprocess.DEVNULL, text=True, bufsize=1)
        self.events = []
        self._q = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # ---- reading events --------------------------------------------------------

    def _read(self):
        with open(self.out_path, "w") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                line = line.strip()
                if not line:
                    continue
                try:
                    ev = json.loads(line)
                    if not isinstance(ev, dict):
                        raise ValueError
                except ValueError:
                    ev = {"event": "_text", "line": line}
                ev["_t"] = round(time.monotonic() - self.t0, 3)
                self._q.put(ev)
        self._q.put(None)

    def _drain(self, timeout):
        """Moves what arrived (waiting up to timeout for something) into
        events; False once stdout is closed and drained."""
        try:
            ev = self._q.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return True
        while True:
            if ev is None:
                self._closed = True
                return False
            self.events.append(ev)
            try:
                ev = self._q.get_nowait()
            except queue.Empty:
                return True

    _closed = False

    def find(self, kind, **match):
        """Events so far of kind whose fields equal match's."""
        return [e for e in self.events if e.get("event") == kind and
                all(e.get(k) == v for k, v in match.items())]

    def wait_events(self, kind, count, timeout, **match):
        """The first count events of kind (matching match's fields), waiting up
        to timeout seconds; AssertionError with the report if they do not come."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.find(kind, **match)
            if len(got) >= count:
                return got[:count]
            left = deadline - time.monotonic()
            if left <= 0 or (self._closed and self._q.empty()):
                raise AssertionError(
                    f"{self.name}: {len(got)} of {count} {kind!r} events {match or ''} "
                    f"within {timeout} s\n{self.report()}")
            self._drain(min(left, 0.2))

    def wait_event(self, kind, timeout, **match):
        """The first event of kind (matching match's fields), waiting up to
        timeout seconds; AssertionError with the report if none comes."""
        return self.wait_events(kind, 1, timeout, **match)[0]

    def wait_listening(self, timeout=5):
        """Returns once its SIP UDP port is taken (sipua is up and listening);
        AssertionError with the report if it exits or does not within timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", self.port))
                except OSError:
                    return self
            time.sleep(0.02)
        raise AssertionError(f"{self.name} is not listening on 127.0.0.1:{self.port}\n"
                             f"{self.report()}")

    def uri(self, user=None):
        """Where a direct call reaches it."""
        return f"sip:{user or self.name}@127.0.0.1:{self.port}"

    def send(self, line):
        """A command line on stdin (interactive mode)."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    # ---- the process -----------------------------------------------------------

    def wait_exit(self, timeout):
        """Its exit status once it ends by itself within timeout seconds;
        AssertionError (after stopping it) if it does not."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"{self.name} did not exit within {timeout} s "
                                 f"(stopped)\n{self.report()}")
        self._finish()
        return rc

    def _finish(self):
        _live.discard(self.rtp)
        self._reader.join(timeout=5)
        while not self._closed:
            try:
                ev = self._q.get(timeout=0.1)
            except queue.Empty:
                break
            if ev is None:
                self._closed = True
            else:
                self.events.append(ev)
        if not self.err.closed:
            self.err.close()

    def stop(self, grace=5):
        """SIGTERM, SIGKILL after grace seconds; its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        self._finish()
        return self.proc.returncode

    @property
    def returncode(self):
        return self.proc.poll()

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def report(self, tail=2500):
        """What to print when a check failed: command, status, last events,
        the tail of stderr."""
        evs = [{k: v for k, v in e.items()} for e in self.events[-12:]]
        return (f"--- {self.name}: {' '.join(self.cmd)}\n"
                f"exit status: {self.proc.poll()}; {len(self.events)} events, last: "
                f"{json.dumps(evs)[:3000]}\n"
                f"stderr tail:\n{self.stderr()[-tail:]}")


def reports(*uas, srv=None):
    """The reports of several user agents (and sipd's log tail), for
    assertion messages."""
    out = "\n".join(u.report() for u in uas)
    if srv is not None:
        out += "\n--- sipd ---\n" + srv.text()[-2000:]
    return out


@pytest.fixture
def sipuas(tmp_path):
    """start(name, command, *args, options=...) -> a SipUA in tmp_path; all are
    stopped at the end of the test, and none may report a sanitizer error."""
    started = []

    def start(name, command, *args, **kw):
        ua = SipUA(tmp_path, name, command, *args, **kw)
        started.append(ua)
        return ua

    yield start
    for ua in started:
        ua.stop()
    for ua in started:
        text = ua.stderr()
        assert "ERROR: AddressSanitizer" not in text, ua.report(6000)
        assert "ERROR: LeakSanitizer" not in text, ua.report(6000)
        assert "runtime error:" not in text, ua.report(6000)


def rtp(ended):
    """An ended event's rtp statistics, checked present with its counters."""
    r = ended.get("rtp")
    assert isinstance(r, dict), f"ended event without rtp statistics: {ended}"
    for k in ("sent", "received", "lost", "jitter_ms"):
        assert k in r, f"ended event's rtp lacks {k}: {ended}"
    return r


def check_heard(path, ended_sender, *uas, freq=1000.0, who=None, full_call=True,
                not_audio=0):
    """The recording at path (made by the receiving side) carries the tone
    the sender played: dominant frequency ~freq, and at least 95% of the
    20 ms packets the sender sent (its ended event's rtp.sent) arrived as
    tone frames; unless full_call is False (a call on hold), the sender
    sent for the whole call (>= 90% of 50 packets a second of its duration).
    not_audio: how many of the packets sent carried no audio (RFC 4733
    events take the place of the tone's packets while a digit lasts).
    On failure: the reports of uas."""
    from audio import check_tone
    r = rtp(ended_sender)
    who = who or path
    dur = ended_sender.get("duration") or 0
    assert not full_call or r["sent"] >= 0.9 * 50 * dur, \
        (f"{who}: the sender sent {r['sent']} packets in a {dur} s call "
         f"(< 90% of 50/s): {ended_sender}\n{reports(*uas)}")
    assert os.path.exists(path), f"{who}: no recording {path}\n{reports(*uas)}"
    try:
        return check_tone(path, r["sent"] - not_audio, freq=freq, who=who)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{reports(*uas)}") from None
