"""sipd against a real peer: SIPp (Debian sip-tester) sends OPTIONS over
UDP and TCP, bounded in count and time, and every one must be answered."""
import os
import shutil
import subprocess

import pytest

from conftest import SCENARIOS

SIPP = shutil.which("sipp")


def run_sipp(sipd, transport, tmp_path, count=200):
    assert SIPP, "sipp missing: scripts/bootstrap installs sip-tester"
    cmd = [SIPP, f"{sipd.host}:{sipd.port}", "-sf", os.path.join(SCENARIOS, "options.xml"),
           "-t", transport, "-i", "127.0.0.1", "-p", "0", "-m", str(count), "-r", "100",
           "-timeout", "30", "-timeout_error", "-nostdin", "-trace_stat", "-stf",
           str(tmp_path / f"stat-{transport}.csv")]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()  # our own child, by its handle
        out, _ = proc.communicate()
        pytest.fail("sipp did not finish in 60 s")
    return proc.returncode, out.decode(errors="replace")


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_sipp_options(sipd, transport, tmp_path):
    rc, out = run_sipp(sipd, transport, tmp_path)
    # SIPp exits 0 only when every call succeeded.
    assert rc == 0, out[-3000:] + sipd.text()[-2000:]
