"""500 calls through sipd over a link that loses 10% of its packets, all
completed thanks to retransmissions (issue 9, "Faults").

The test makes its own two network namespaces, joined by a veth pair (names
carry the test's pid; both namespaces are deleted at the end whatever
happens, which takes the veth pair and every rule with them): sipd runs in
one (--location memory:, T1 500 ms), a SIPp callee and a SIPp caller in the
other. 10% of the packets arriving at each end of the link are dropped:
with tc netem when the kernel has it, else with an nftables rule on the
device's ingress hook (numgen random) — the kernels of our machines are
built without sch_netem and without modules. Neither available is a failure
naming the reason, never a skip. The drop counters are read at the end:
the loss must really have happened.

INVITE/100/180/200/ACK/BYE/200, record-routed, 50 calls/s; SIPp
retransmits the INVITE, the 200 (until ACK or BYE) and the BYE, sipd its
own client and server transactions. The figures (calls, retransmissions,
packets dropped, time) are printed (pytest -s shows them). To look into a
failure: LOSS_LOG=debug (sipd's log level) and LOSS_SIPP="-trace_msg" (more
SIPp options) keep everything in the test's tmp directory."""
import os
import re
import subprocess
import sys
import time

import pytest

from admin import parse_metrics, metric
from conftest import SCENARIOS, SIPD
from netns import Netns
from peers import SIPP, stop

CALLS = 500
RATE = 50
LOSS = 10  # percent, at each end of the link
NET = "10.213.7."  # private to the namespaces: no route from anywhere else
SIPD_IP, PEER_IP = NET + "1", NET + "2"
HERE = os.path.dirname(os.path.abspath(__file__))


def sh(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


class Link:
    """Two namespaces (server side S, peer side P) and a veth pair between
    them, with LOSS% dropped on arrival at each end."""

    def __init__(self):
        pid = os.getpid()
        self.made = []
        self.how = None
        try:
            for side in "sp":
                self.made.append(Netns(f"loss-{side}"))
            self.ns = tuple(n.name for n in self.made)
            self.dev = (f"sl{pid}s", f"sl{pid}p")
            sh("ip", "link", "add", self.dev[0], "netns", self.ns[0], "type", "veth",
               "peer", "name", self.dev[1], "netns", self.ns[1])
            for ns, dev, ip in zip(self.ns, self.dev, (SIPD_IP, PEER_IP)):
                sh("ip", "-n", ns, "addr", "add", ip + "/24", "dev", dev)
                sh("ip", "-n", ns, "link", "set", dev, "up")
            self._loss()
        except BaseException:
            self.delete()
            raise

    def _loss(self):
        """netem on both ends; failing that, nftables ingress drops."""
        why = []
        r = sh("ip", "netns", "exec", self.ns[0], "tc", "qdisc", "add", "dev", self.dev[0],
               "root", "netem", "loss", f"{LOSS}%", check=False)
        if r.returncode == 0:
            sh("ip", "netns", "exec", self.ns[1], "tc", "qdisc", "add", "dev", self.dev[1],
               "root", "netem", "loss", f"{LOSS}%")
            self.how = "netem"
            return
        why.append(f"tc netem: {r.stderr.strip()} (kernel without sch_netem?)")
        for ns, dev in zip(self.ns, self.dev):
            rules = (f"table netdev sipdloss {{\n chain in {{\n"
                     f"  type filter hook ingress device {dev} priority 0; policy accept;\n"
                     f"  numgen random mod 100 < {LOSS} counter drop\n }}\n}}\n")
            try:
                r = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules,
                                   capture_output=True, text=True, timeout=30)
            except FileNotFoundError as e:
                r = subprocess.CompletedProcess([], 127, "", str(e))
            if r.returncode != 0:
                why.append(f"nft: {r.stderr.strip()} (scripts/bootstrap installs nftables)")
                pytest.fail("no way to lose packets here: " + "; ".join(why))
        self.how = "nftables ingress drop (" + why[0] + ")"

    def dropped(self):
        """Packets the loss rules dropped, both ends together."""
        total = 0
        for ns, dev in zip(self.ns, self.dev):
            if self.how == "netem":
                out = sh("ip", "netns", "exec", ns, "tc", "-s", "qdisc", "show", "dev",
                         dev).stdout
                total += sum(int(n) for n in re.findall(r"dropped (\d+)", out))
            else:
                out = sh("ip", "netns", "exec", ns, "nft", "list", "table", "netdev",
                         "sipdloss").stdout
                total += sum(int(n) for n in re.findall(r"counter packets (\d+)", out))
        return total

    def popen(self, side, cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.ns[side], *cmd], **kw)

    def run(self, side, cmd, timeout=30):
        return subprocess.run(["ip", "netns", "exec", self.ns[side], *cmd],
                              capture_output=True, text=True, timeout=timeout)

    def delete(self):
        for ns in self.made:
            ns.delete()
        self.made = []


@pytest.fixture
def link():
    lk = Link()
    yield lk
    lk.delete()
    left = sh("ip", "netns", "list").stdout
    assert not any(ns in left for ns in lk.ns), left


# A REGISTER sent from the server's own namespace over its loopback (no
# loss there): bob's binding points at the callee across the link.
REGISTER = """
import sys
sys.path.insert(0, sys.argv[1])
from sip import Udp, request
ua = Udp()
msg = request("REGISTER", "sip:example.com", ua.local,
              extra=[f"Contact: <sip:bob@{sys.argv[3]}>", "Expires: 600"]).replace(
    b"To: <sip:example.com>", b"To: <sip:bob@example.com>")
ua.send(msg, ("127.0.0.1", int(sys.argv[2])))
r = ua.recv(3)
print(r.status if r else "none")
"""

METRICS = """
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
"""


def sipp_stats(workdir):
    """The last line of SIPp's -trace_stat file as a dict (cumulative counters)."""
    for name in os.listdir(workdir):
        if name.endswith(".csv"):
            with open(os.path.join(workdir, name)) as f:
                lines = [ln for ln in f.read().splitlines() if ln.strip()]
            head = lines[0].split(";")
            return dict(zip(head, lines[-1].split(";")))
    return {}


def test_500_calls_complete_over_a_lossy_link(link, tmp_path):
    assert SIPP, "sipp missing: scripts/bootstrap installs sip-tester"
    sip_port, http_port, uas_port, uac_port = 5060, 8080, 5070, 5080
    log_path = tmp_path / "sipd.log"
    log = open(log_path, "w")
    procs = []
    t0 = time.monotonic()
    try:
        sipd = link.popen(0, [SIPD, "--listen", f"udp:{SIPD_IP}:{sip_port}",
                              "--listen", f"udp:127.0.0.1:{sip_port}",
                              "--domain", "example.com", "--location", "memory:",
                              "--auth", "off", "--t1", "500", "--log-level", os.environ.get("LOSS_LOG", "info"),
                              "--dns", "127.0.0.1:9", "--http", f"127.0.0.1:{http_port}"],
                          stdout=log, stderr=subprocess.STDOUT)
        procs.append(sipd)
        deadline = time.monotonic() + 10
        while len(re.findall(r"listening on UDP", log_path.read_text())) < 2:
            assert sipd.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "sipd did not start: " + log_path.read_text()
            time.sleep(0.02)

        common = ["-i", PEER_IP, "-m", str(CALLS), "-nostdin", "-trace_err", "-trace_stat",
                  "-fd", "1", "-max_invite_retrans", "12", "-max_non_invite_retrans", "12",
                  "-timeout", "80", *os.environ.get("LOSS_SIPP", "").split()]
        (tmp_path / "uas").mkdir()
        (tmp_path / "uac").mkdir()
        uas = link.popen(1, [SIPP, "-sf", os.path.join(SCENARIOS, "loss_uas.xml"),
                             "-p", str(uas_port), *common], cwd=tmp_path / "uas",
                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
        procs.append(uas)
        r = link.run(0, [sys.executable, "-c", REGISTER, HERE, str(sip_port),
                         f"{PEER_IP}:{uas_port}"])
        assert r.stdout.strip() == "200", r.stdout + r.stderr

        t_calls = time.monotonic()
        uac = link.popen(1, [SIPP, f"{SIPD_IP}:{sip_port}", "-sf",
                             os.path.join(SCENARIOS, "loss_uac.xml"), "-s", "bob",
                             "-p", str(uac_port), "-r", str(RATE), *common],
                         cwd=tmp_path / "uac", stdout=subprocess.DEVNULL,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        procs.append(uac)
        try:
            rc = uac.wait(timeout=85)
        except subprocess.TimeoutExpired:
            rc = None
        elapsed = time.monotonic() - t_calls
        # Every call the caller finished had its BYE answered: the callee
        # is only lingering (timewait) now.
        stop(uas, grace=2)
        stop(uac, grace=2)

        st_uac, st_uas = sipp_stats(tmp_path / "uac"), sipp_stats(tmp_path / "uas")
        dropped = link.dropped()
        m = parse_metrics(link.run(0, [sys.executable, "-c", METRICS,
                                       f"http://127.0.0.1:{http_port}/metrics"]).stdout)
        figures = {
            "loss": link.how,
            "calls attempted": st_uac.get("OutgoingCall(C)"),
            "calls completed": st_uac.get("SuccessfulCall(C)"),
            "calls failed": st_uac.get("FailedCall(C)"),
            "caller retransmissions": st_uac.get("Retransmissions(C)"),
            "callee retransmissions": st_uas.get("Retransmissions(C)"),
            "sipd retransmissions": metric(m, "sipd_retransmissions_total"),
            "packets dropped": dropped,
            "calls time s": round(elapsed, 1),
        }
        print("\nloss test figures:", figures)
        errs = "".join(open(os.path.join(tmp_path / "uac", n), errors="replace").read()
                       for n in os.listdir(tmp_path / "uac") if n.endswith("_errors.log"))
        assert rc == 0, f"caller exit {rc}: {figures}\n{errs[-3000:]}"
        assert int(st_uac["SuccessfulCall(C)"]) == CALLS, figures
        assert int(st_uac["FailedCall(C)"]) == 0, figures
        # The loss was real, and repaired by retransmissions on every side.
        assert dropped > CALLS, figures
        assert int(st_uac["Retransmissions(C)"]) > 0 and int(st_uas["Retransmissions(C)"]) > 0
        assert metric(m, "sipd_retransmissions_total") > 0, figures
        assert elapsed < 90, figures
    finally:
        for p in reversed(procs):
            stop(p, grace=10)
        log.close()
        text = log_path.read_text(errors="replace")
        assert "ERROR: AddressSanitizer" not in text, text[-3000:]
        assert "runtime error:" not in text, text[-3000:]
    assert sipd.returncode == 0, f"sipd exit {sipd.returncode}: {text[-2000:]}"
    print(f"total {time.monotonic() - t0:.1f} s")
