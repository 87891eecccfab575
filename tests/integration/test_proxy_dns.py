"""The proxy reaches another domain through RFC 3263 (SRV, then A) for an
authenticated local caller, asking only a dnsmasq this test starts on a
loopback port (never the machine's resolver); an unknown domain is 404 and
a DNS server that never answers is 503, both without leaving anything
behind."""
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import SIPCTL, free_port
from sip import Udp, digest_authorization, parse_challenge, request

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
PASSWORD = "dns-pw-1"


class Dnsmasq:
    def __init__(self, records):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
             "--no-hosts", "--no-poll", "--bind-interfaces", "--pid-file=",
             "--listen-address=127.0.0.1", f"--port={self.port}", "--local=/example.net/",
             "--local-ttl=60", *records],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        assert self.proc.poll() is None, "dnsmasq did not start"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


@pytest.fixture
def store(tmp_path):
    dsn = f"sqlite:{tmp_path}/dns.db"
    r = subprocess.run([SIPCTL, "--location", dsn, "user", "add", "tester@example.com"],
                       input=PASSWORD + "\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return dsn


def call(srv, ua, ruri):
    """INVITE ruri as the local user tester, answering the 407."""
    ua.send(request("INVITE", ruri, ua.local, call_id="dns1@test"), (srv.host, srv.port))
    r = ua.recv(3)
    while r is not None and r.status == 100:
        r = ua.recv(3)
    assert r is not None and r.status == 407, r
    ch = parse_challenge(r.first("proxy-authenticate"))
    auth = digest_authorization(ch, "INVITE", ruri, "tester", PASSWORD,
                                header="Proxy-Authorization")
    ua.send(request("INVITE", ruri, ua.local, call_id="dns1@test", cseq=2, extra=[auth]),
            (srv.host, srv.port))


def finals(ua, window):
    """Final responses to the authenticated INVITE (the 407 to the first
    one is retransmitted: nobody ACKs it here)."""
    return [r for _, r in ua.recv_all(window)
            if r.status >= 200 and r.first("cseq") == "2 INVITE"]


def test_srv_then_a_finds_the_foreign_server(sipd_factory, store):
    far = Udp("127.0.0.1")
    dns = Dnsmasq([f"--srv-host=_sip._udp.far.example.net,sip1.far.example.net,"
                   f"{far.local[1]},10,60",
                   "--host-record=sip1.far.example.net,127.0.0.1"])
    try:
        srv = sipd_factory("--location", store, "--dns", f"127.0.0.1:{dns.port}",
                           "--auth-algorithms", "MD5")
        ua = Udp()
        call(srv, ua, "sip:bob@far.example.net")
        far.sock.settimeout(5)
        data, src = far.sock.recvfrom(65536)
        head = data.decode().split("\r\n")
        assert head[0] == "INVITE sip:bob@far.example.net SIP/2.0"
        # sipd's own credentials do not travel on.
        assert not any(h.lower().startswith("proxy-authorization") for h in head)
        keep = [h for h in head if h.split(":")[0].lower() in
                ("via", "from", "to", "call-id", "cseq")]
        far.send(("\r\n".join(["SIP/2.0 486 Busy Here"] + keep +
                              ["Content-Length: 0", "", ""])).encode(), src)
        got = finals(ua, 2)
        assert got and got[0].status == 486, got
        ua.close()
    finally:
        dns.stop()
        far.close()


def test_unknown_domain_is_404(sipd_factory, store):
    dns = Dnsmasq([])
    try:
        srv = sipd_factory("--location", store, "--dns", f"127.0.0.1:{dns.port}",
                           "--auth-algorithms", "MD5")
        ua = Udp()
        call(srv, ua, "sip:bob@nowhere.example.net")
        got = finals(ua, 3)
        assert got and got[0].status == 404, got
        ua.close()
    finally:
        dns.stop()


def test_silent_dns_is_503(sipd_factory, store):
    # A UDP socket nobody reads: queries vanish.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    srv = sipd_factory("--location", store, "--dns", f"127.0.0.1:{silent.getsockname()[1]}",
                       "--auth-algorithms", "MD5")
    ua = Udp()
    t0 = time.monotonic()
    call(srv, ua, "sip:bob@slow.example.net")
    got = [(t, r) for t, r in ua.recv_all(8)
           if r.status >= 200 and r.first("cseq") == "2 INVITE"]
    assert got and got[0][1].status == 503, got
    # 2 tries of 2 s: the caller hears within about 4 s, not after timer B.
    assert got[0][0] - t0 < 6, got[0][0] - t0
    ua.close()
    silent.close()
