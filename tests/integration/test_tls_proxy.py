"""sips and TLS through the proxy (RFC 3261 §26.2.2, RFC 5630 §3.1.3):
a sips request leaves only over TLS, or not at all (480); a user agent
registered over TLS is reached over the connection it registered on
(RFC 5626 / RFC 5923 reuse), with sipd's Via and Record-Route on TLS;
outgoing TLS connections check the server's certificate against
--tls-ca."""
import re
import time

import pytest

import sip
from conftest import free_port
from tlsutil import Pki, Tls, TlsServer


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


def tls_sipd(sipd_factory, pki, *extra):
    port = free_port()
    s = sipd_factory(*pki.sipd_args(port), "--auth", "off", *extra)
    s.tls_port = port
    deadline = time.monotonic() + 5
    while "listening on TLS" not in s.text():
        assert time.monotonic() < deadline, s.text()
        time.sleep(0.02)
    return s


def register(send, recv, local, user, contact, transport):
    msg = sip.request("REGISTER", "sip:example.com", local, transport=transport,
                      extra=[f"Contact: {contact}", "Expires: 600"],
                      call_id=f"reg-{user}-{local[1]}")
    send(msg.replace(b"To: <sip:example.com>", f"To: <sip:{user}@example.com>".encode()))
    r = recv()
    assert r is not None and r.status == 200, r
    return r


def reply_to(raw, status, reason):
    """A response to the request raw (its Vias, From, To, Call-ID, CSeq)."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    keep = [line for line in head.split("\r\n")[1:]
            if line.split(":", 1)[0].strip().lower() in ("via", "from", "call-id", "cseq")]
    to = [line for line in head.split("\r\n") if line.lower().startswith("to:")][0]
    lines = [f"SIP/2.0 {status} {reason}"] + keep + [to + ";tag=callee1", "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def headers(raw, name):
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    return [line.split(":", 1)[1].strip() for line in head.split("\r\n")[1:]
            if line.split(":", 1)[0].strip().lower() == name]


def final(conn, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = conn.recv(end - time.monotonic())
        if r is None:
            return None
        if r.status >= 200:
            return r
    return None


def test_sips_request_never_goes_over_udp(sipd_factory, pki):
    """Bob's only binding is a UDP contact: a sips request for him gets
    480 and nothing reaches his UDP socket; a sip one does."""
    s = tls_sipd(sipd_factory, pki)
    bob = sip.Udp()
    register(lambda m: bob.send(m, (s.host, s.port)), lambda: bob.recv(3), bob.local, "bob",
             f"<sip:bob@127.0.0.1:{bob.local[1]}>", "UDP")
    alice = Tls(("127.0.0.1", s.tls_port), pki.client_context())
    alice.send(sip.request("MESSAGE", "sips:bob@example.com", alice.local, transport="TLS"))
    r = final(alice)
    assert r is not None and r.status == 480, (r, s.text()[-3000:])
    assert bob.recv(0.5) is None
    alice.send(sip.request("MESSAGE", "sip:bob@example.com", alice.local, transport="TLS"))
    bob.sock.settimeout(3)
    got, _ = bob.sock.recvfrom(65536)
    assert got.startswith(b"MESSAGE sip:bob@")
    bob.close()


def test_sips_without_tls_listener_is_480(sipd_factory):
    s = sipd_factory("--auth", "off")
    bob = sip.Udp()
    register(lambda m: bob.send(m, (s.host, s.port)), lambda: bob.recv(3), bob.local, "bob",
             f"<sip:bob@127.0.0.1:{bob.local[1]}>", "UDP")
    alice = sip.Tcp((s.host, s.port))
    alice.send(sip.request("MESSAGE", "sips:bob@example.com", alice.local, transport="TCP"))
    r = final(alice)
    assert r is not None and r.status == 480, r
    assert bob.recv(0.5) is None
    # a sips Route toward a UDP hop is refused the same way
    alice.send(sip.request("MESSAGE", "sips:carol@192.0.2.1", alice.local, transport="TCP",
                           extra=[f"Route: <sip:127.0.0.1:{bob.local[1]};lr>"]))
    r = final(alice)
    assert r is not None and r.status in (403, 480), r
    assert bob.recv(0.5) is None
    bob.close()


@pytest.mark.parametrize("contact", ["<sip:bob@{h}:{p};transport=tls>", "<sips:bob@{h}:{p}>"])
@pytest.mark.parametrize("ruri", ["sip:bob@example.com", "sips:bob@example.com"])
def test_registered_over_tls_reached_on_its_connection(sipd_factory, pki, contact, ruri):
    """Bob registers over TLS and listens for nothing: an INVITE for him
    comes down the connection he registered on, with sipd's Via on TLS
    and, for a sips request, a sips Record-Route; his answer goes back to
    Alice over hers."""
    s = tls_sipd(sipd_factory, pki)
    bob = Tls(("127.0.0.1", s.tls_port), pki.client_context())
    c = contact.format(h=bob.local[0], p=bob.local[1])
    register(bob.send, bob.recv, bob.local, "bob", c, "TLS")
    alice = Tls(("127.0.0.1", s.tls_port), pki.client_context())
    alice.send(sip.request("INVITE", ruri, alice.local, transport="TLS",
                           extra=[f"Contact: <sip:alice@{alice.local[0]}:{alice.local[1]}>"]))
    raw = bob.recv_raw(5)
    assert raw is not None, s.text()[-3000:]
    assert raw.startswith(b"INVITE sip"), raw
    assert headers(raw, "via")[0].startswith("SIP/2.0/TLS 127.0.0.1:%d;" % s.tls_port), raw
    # An entry per side, each naming that side's flow (a token as user).
    rr = [v for h in headers(raw, "record-route") for v in h.split(",")]
    want = (rf"<sips:ft[0-9a-f]+@127\.0\.0\.1:{s.tls_port};lr>" if ruri.startswith("sips")
            else rf"<sip:ft[0-9a-f]+@127\.0\.0\.1:{s.tls_port};transport=tls;lr>")
    assert len(rr) == 2 and all(re.fullmatch(want, v.strip()) for v in rr), raw
    assert rr[0] != rr[1]
    bob.send(reply_to(raw, 486, "Busy Here"))
    r = final(alice)
    assert r is not None and r.status == 486, r


def test_outgoing_tls_verifies_the_server(sipd_factory, pki):
    """Carol's binding asks for TLS to her own listener: sipd connects,
    checking her certificate against --tls-ca and her address; a server
    with a certificate of an untrusted CA gets nothing, and the caller an
    answer at once: the failed handshake fails the branch (503, which a
    proxy forwards as 500, RFC 3261 §16.7 step 6), not timer F."""
    s = tls_sipd(sipd_factory, pki)
    good = TlsServer(pki.server_context("server"))
    good.reply = lambda raw: reply_to(raw, 200, "OK")
    bad = TlsServer(pki.server_context("rogue-server"))
    ua = sip.Udp()
    for user, srv in (("carol", good), ("mallory", bad)):
        register(lambda m: ua.send(m, (s.host, s.port)), lambda: ua.recv(3), ua.local, user,
                 f"<sip:{user}@127.0.0.1:{srv.port};transport=tls>", "UDP")
    ua.send(sip.request("MESSAGE", "sip:carol@example.com", ua.local), (s.host, s.port))
    assert good.wait(1), s.text()[-3000:]
    assert good.messages[0].startswith(b"MESSAGE sip:carol@")
    r = ua.recv(5)
    assert r is not None and r.status == 200, (r, s.text()[-3000:])
    ua.send(sip.request("MESSAGE", "sip:mallory@example.com", ua.local), (s.host, s.port))
    r = None
    end = time.monotonic() + 3
    while time.monotonic() < end and (r is None or r.status < 200):
        r = ua.recv(1)
    assert r is not None and r.status == 500, r
    assert not bad.messages
    assert "certificate refused" in s.text()
    good.close()
    bad.close()
    ua.close()


def tls_invite(s, pki, ruri, password):
    """An authenticated local caller's INVITE for ruri over TLS (answering
    the 407); the connection, to read the final response from."""
    from sip import digest_authorization, parse_challenge
    ua = Tls(("127.0.0.1", s.tls_port), pki.client_context())
    ua.send(sip.request("INVITE", ruri, ua.local, transport="TLS", call_id="dns-tls@test"))
    r = final(ua)
    assert r is not None and r.status == 407, r
    auth = digest_authorization(parse_challenge(r.first("proxy-authenticate")), "INVITE", ruri,
                                "tester", password, header="Proxy-Authorization")
    ua.send(sip.request("INVITE", ruri, ua.local, transport="TLS", call_id="dns-tls@test",
                        cseq=2, extra=[auth]))
    return ua


@pytest.mark.parametrize("cert,ok", [("far", True), ("server", False)])
def test_sips_domain_found_by_dns_must_prove_its_name(sipd_factory, pki, tmp_path, cert, ok):
    """sips:bob@far.example.net: RFC 3263 finds SRV _sips._tcp, and the
    server there must show a certificate for far.example.net (RFC 5922
    §4.1: the domain asked for, not the SRV target); one for localhost
    only is refused."""
    from test_proxy_dns import PASSWORD, Dnsmasq
    from conftest import SIPCTL
    import subprocess
    if cert == "far":
        pki.leaf("far", "/CN=far.example.net", "subjectAltName=DNS:far.example.net")
    dsn = f"sqlite:{tmp_path}/dns.db"
    subprocess.run([SIPCTL, "--location", dsn, "user", "add", "tester@example.com"],
                   input=PASSWORD + "\n", capture_output=True, text=True, timeout=30,
                   check=True)
    far = TlsServer(pki.server_context(cert))
    far.reply = lambda raw: reply_to(raw, 486, "Busy Here")
    dns = Dnsmasq([f"--srv-host=_sips._tcp.far.example.net,sip1.far.example.net,{far.port},10,60",
                   "--host-record=sip1.far.example.net,127.0.0.1"])
    try:
        port = free_port()
        s = sipd_factory(*pki.sipd_args(port), "--location", dsn, "--dns",
                         f"127.0.0.1:{dns.port}", "--auth-algorithms", "MD5", "--t1", "100")
        s.tls_port = port
        ua = tls_invite(s, pki, "sips:bob@far.example.net", PASSWORD)
        if ok:
            assert far.wait(1), s.text()[-3000:]
            assert far.messages[0].startswith(b"INVITE sips:bob@far.example.net SIP/2.0")
            assert headers(far.messages[0], "via")[0].startswith("SIP/2.0/TLS ")
            r = final(ua)
            assert r is not None and r.status == 486, r
        else:
            assert not far.wait(1, timeout=2)
            assert "certificate refused" in s.text(), s.text()[-3000:]
            r = final(ua, 10)
            assert r is not None and r.status >= 400, r
    finally:
        dns.stop()
        far.close()


def test_late_2xx_goes_back_on_the_callers_connection(sipd_factory, pki):
    """A 2xx that comes after its client transaction ended (timer M: 64*T1,
    640 ms with --t1 10) is forwarded statelessly by the next Via: to the
    caller over the connection its INVITE came on (the rport sipd filled
    in), not to its sent-by port, where it listens for nothing."""
    s = tls_sipd(sipd_factory, pki, "--t1", "10")
    bob = Tls(("127.0.0.1", s.tls_port), pki.client_context())
    register(bob.send, bob.recv, bob.local, "bob",
             f"<sip:bob@127.0.0.1:{bob.local[1]};transport=tls>", "TLS")
    alice = Tls(("127.0.0.1", s.tls_port), pki.client_context())
    # sent-by names a port nobody listens on; rport asks for the source
    alice.send(sip.request("INVITE", "sip:bob@example.com", ("127.0.0.1", 9), transport="TLS",
                           extra=["Contact: <sip:alice@127.0.0.1:9;transport=tls>"]))
    raw = bob.recv_raw(5)
    assert raw is not None and raw.startswith(b"INVITE "), s.text()[-3000:]
    ok = reply_to(raw, 200, "OK")
    bob.send(ok)
    r = final(alice)
    assert r is not None and r.status == 200, r
    time.sleep(1.5)  # the client transaction is gone
    bob.send(ok)
    r = alice.recv(3)
    assert r is not None and r.status == 200, s.text()[-3000:]
