"""A sipd killed with SIGKILL under registration load loses no binding it
acknowledged (sqlite store: a 200 is sent only after the commit). SIPp
registers 2000 distinct AORs; sipd is killed mid-run; every AOR whose 200
SIPp logged must be in the store afterwards, and sipd started again
answers OPTIONS within a second and serves every one of them."""
import os
import re
import shutil
import signal
import subprocess
import time

from admin import Admin
from conftest import SCENARIOS, SIPCTL, Sipd, free_port
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

    # ...and sipd started again answers OPTIONS within a second of its
    # start, serving every one of them (its admin API lists its bindings;
    # fewer than 2000, so the list is not truncated).
    http = free_port()
    t0 = time.monotonic()
    again = Sipd(["--location", dsn, "--auth", "off", "--http", f"127.0.0.1:{http}"],
                 str(tmp_path / "sipd2.log"))
    try:
        ua = Udp()
        r = None
        while r is None and time.monotonic() - t0 < 5:
            ua.send(request("OPTIONS", "sip:example.com", ua.local), (again.host, again.port))
            r = ua.recv(0.05)
        answered = time.monotonic() - t0
        assert r is not None and r.status == 200, r
        assert answered < 1.0, f"OPTIONS answered {answered:.2f} s after the restart"
        print(f"\nrestart: {len(acked)} acknowledged bindings, OPTIONS answered after "
              f"{answered * 1000:.0f} ms")
        regs = Admin(http, token=None).json("/api/registrations")
        served = {b["aor"]: b["contact"] for b in regs}
        missing = acked - set(served)
        assert not missing, f"{len(missing)} bindings not served, e.g. {sorted(missing)[:5]}"
        for aor in acked:
            user = aor[4:].split("@")[0]
            assert served[aor].strip("<>").startswith(f"sip:{user}@127.0.0.1:"), served[aor]

        aor = sorted(acked)[0]
        msg = request("REGISTER", "sip:example.com", ua.local).replace(
            b"To: <sip:example.com>", f"To: <{aor}>".encode())
        ua.send(msg, (again.host, again.port))
        r = ua.recv(3)
        while r is not None and r.first("cseq").endswith("OPTIONS"):
            r = ua.recv(3)  # a late answer to one of the OPTIONS above
        ua.close()
        assert r is not None and r.status == 200
        user = aor[4:].split("@")[0]
        assert any(c.startswith(f"<sip:{user}@") for c in r.get("contact")), r.raw
    finally:
        assert again.stop() == 0
        text = again.text()
        assert "ERROR: AddressSanitizer" not in text and "runtime error:" not in text, text
