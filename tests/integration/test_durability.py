"""A sipd killed with SIGKILL under registration load loses no binding it
acknowledged (sqlite store: a 200 is sent only after the commit). SIPp
registers 2000 distinct AORs; sipd is killed mid-run; every AOR whose 200
SIPp logged must be in the store afterwards, and a restarted sipd serves
them."""
import os
import re
import shutil
import signal
import subprocess
import time

from conftest import SCENARIOS, SIPCTL, Sipd
from sip import Udp, request

SIPP = shutil.which("sipp")
TOTAL = 2000


def registered(dsn):
    out = subprocess.run([SIPCTL, "--location", dsn, "reg", "list"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return {line.split("\t")[0] for line in out.stdout.splitlines() if line}


def test_sigkill_under_load_loses_no_acknowledged_binding(tmp_path):
    assert SIPP, "sipp missing: scripts/bootstrap installs sip-tester"
    dsn = f"sqlite:{tmp_path}/dur.db"
    node = Sipd(["--location", dsn, "--auth", "off", "--log-level", "info"],
                str(tmp_path / "sipd.log"))
    cmd = [SIPP, f"127.0.0.1:{node.port}", "-sf", os.path.join(SCENARIOS, "register_log.xml"),
           "-i", "127.0.0.1", "-p", "0", "-m", str(TOTAL), "-r", "1000", "-l", "400",
           "-timeout", "20", "-nostdin", "-trace_logs", "-log_file",
           str(tmp_path / "acked.log")]
    sipp = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        # Kill once a good part (not all) is acknowledged.
        deadline = time.monotonic() + 15
        log = tmp_path / "acked.log"
        while time.monotonic() < deadline:
            if log.exists() and log.read_text().count("ACKED") >= 600:
                break
            time.sleep(0.01)
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(timeout=10)
        sipp.wait(timeout=40)
    finally:
        if sipp.poll() is None:
            sipp.kill()  # our own child, by its handle
            sipp.wait()
        node.log.close()
    acked = set(re.findall(r"ACKED (sip:dur\d+@example.com)", log.read_text()))
    assert 600 <= len(acked) < TOTAL, f"{len(acked)} acknowledged: kill came too late/early"

    # Every acknowledged AOR is on disk...
    missing = acked - registered(dsn)
    assert not missing, f"{len(missing)} acknowledged bindings lost, e.g. {sorted(missing)[:5]}"

    # ...and a restarted sipd serves them (query one with a REGISTER
    # without Contact).
    again = Sipd(["--location", dsn, "--auth", "off"], str(tmp_path / "sipd2.log"))
    try:
        ua = Udp()
        aor = sorted(acked)[0]
        msg = request("REGISTER", "sip:example.com", ua.local).replace(
            b"To: <sip:example.com>", f"To: <{aor}>".encode())
        ua.send(msg, (again.host, again.port))
        r = ua.recv(3)
        ua.close()
        assert r is not None and r.status == 200
        user = aor[4:].split("@")[0]
        assert any(c.startswith(f"<sip:{user}@") for c in r.get("contact")), r.raw
    finally:
        assert again.stop() == 0
