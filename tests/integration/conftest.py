"""Fixtures for sipd's integration tests.

Every test starts its own sipd on a free loopback port (UDP and TCP on the
same number), waits for its start-up banner, and stops it by PID at the end.
Nothing is sent anywhere but 127.0.0.1.
"""
import os
import random
import re
import signal
import socket
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIPD = os.environ.get("SIPD_BIN", os.path.join(ROOT, "build", "release", "sipd"))
SIPCTL = os.environ.get("SIPCTL_BIN", os.path.join(os.path.dirname(SIPD), "sipctl"))
RFC4475 = os.path.join(ROOT, "tests", "data", "rfc4475")
SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")


# Ports for the servers and agents the tests start come from a span the
# kernel never hands out by itself (it picks ephemeral ports from 32768-60999
# for bind(0) and connect()): a port found free there could be taken by any
# process's outgoing socket before our server binds it, and a CI run failed
# that way. 5062-9999 is test_tls.py's (sipsak wants four digits) and
# 20000-32700 sipua.py's RTP ranges.
PORT_LO, PORT_HI = 10000, 19999
_port_cursor = [PORT_LO + random.randrange(PORT_HI - PORT_LO + 1)]


def free_port(n=1):
    """A port P with P..P+n-1 free for both UDP and TCP on 127.0.0.1
    (checked, not guessed), taken in turn from a cursor that walks
    PORT_LO-PORT_HI, so a port given to one test is not given again while
    the run lasts (the span holds more ports than a run uses)."""
    for _ in range(PORT_HI - PORT_LO + 1):
        port = _port_cursor[0]
        if port + n - 1 > PORT_HI:
            port = PORT_LO
        _port_cursor[0] = port + n if port + n <= PORT_HI else PORT_LO
        if all(_free(p) for p in range(port, port + n)):
            return port
    raise RuntimeError(f"no {n} free ports in {PORT_LO}-{PORT_HI}")


def _free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
        try:
            u.bind(("127.0.0.1", port))
            t.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Sipd:
    """A running sipd: its address, its log, and a way to stop it."""

    def __init__(self, args, log_path):
        self.port = free_port()
        self.host = "127.0.0.1"
        self.log_path = log_path
        cmd = [SIPD, "--listen", f"udp:127.0.0.1:{self.port}",
               "--listen", f"tcp:127.0.0.1:{self.port}", "--domain", "example.com",
               "--log-level", "debug", "--location", "memory:",
               # Never the machine's resolver: a dead loopback port unless a
               # test starts its own DNS server and passes --dns itself.
               "--dns", "127.0.0.1:9",
               # Every test sends from 127.0.0.1: one source to the limiter.
               # test_limits.py turns it on with its own figures.
               "--rate-limit", "0"] + list(args)
        self.log = open(log_path, "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_banner()

    def _wait_banner(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sipd exited with {self.proc.returncode}: {self.text()}")
            if len(re.findall(r"listening on (?:UDP|TCP) ", self.text())) >= 2:
                return
            time.sleep(0.02)
        raise RuntimeError(f"sipd did not start: {self.text()}")

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def sipd_factory(tmp_path):
    started = []

    def start(*args):
        s = Sipd(args, str(tmp_path / f"sipd{len(started)}.log"))
        started.append(s)
        return s

    yield start
    for s in started:
        rc = s.stop()
        assert rc == 0, f"sipd exit status {rc}: {s.text()[-2000:]}"
        assert "ERROR: AddressSanitizer" not in s.text()
        assert "runtime error:" not in s.text()


@pytest.fixture
def sipd(sipd_factory):
    return sipd_factory()
