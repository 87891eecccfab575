"""sipd answering on its own: OPTIONS over UDP and TCP, the §18.2.1 Via
parameters, retransmissions, and the policy answers (501, 405, 420, 483,
404, 403) — all over real sockets on loopback."""
import time

import sip


def ruri_self(s):
    return f"sip:{s.host}:{s.port}"


def test_options_udp(sipd):
    c = sip.Udp()
    c.send(sip.request("OPTIONS", ruri_self(sipd), c.local), (sipd.host, sipd.port))
    r = c.recv()
    assert r is not None and r.status == 200, r
    for h in ("allow", "accept", "accept-language", "supported"):
        assert r.first(h) is not None, h
    assert "OPTIONS" in r.first("allow") and "INVITE" in r.first("allow")
    # rport asked for, so it is filled with the source port (RFC 3581).
    assert f";rport={c.local[1]}" in r.first("via")
    assert ";tag=" in r.first("to")


def test_options_tcp(sipd):
    c = sip.Tcp((sipd.host, sipd.port))
    c.send(sip.request("OPTIONS", ruri_self(sipd), c.local, transport="TCP"))
    r = c.recv()
    assert r is not None and r.status == 200, r
    c.close()


def test_options_domain(sipd):
    c = sip.Udp()
    c.send(sip.request("OPTIONS", "sip:example.com", c.local), (sipd.host, sipd.port))
    assert c.recv().status == 200


def test_received_added_when_sent_by_differs(sipd):
    c = sip.Udp()
    req = sip.request("OPTIONS", ruri_self(sipd), ("192.0.2.7", c.local[1]), via_params="")
    # No rport: the response goes to the source address (received) at the
    # sent-by port, which is our port.
    c.send(req, (sipd.host, sipd.port))
    r = c.recv()
    assert r is not None and r.status == 200
    assert ";received=127.0.0.1" in r.first("via")


def test_retransmission_gets_same_response(sipd):
    c = sip.Udp()
    req = sip.request("OPTIONS", ruri_self(sipd), c.local)
    c.send(req, (sipd.host, sipd.port))
    first = c.recv()
    c.send(req, (sipd.host, sipd.port))
    second = c.recv()
    assert first is not None and second is not None
    assert first.raw == second.raw


def test_unknown_method_to_self(sipd):
    c = sip.Udp()
    c.send(sip.request("FOO", ruri_self(sipd), c.local), (sipd.host, sipd.port))
    r = c.recv()
    assert r.status == 501 and "OPTIONS" in r.first("allow")


def test_known_method_not_served(sipd):
    c = sip.Udp()
    c.send(sip.request("SUBSCRIBE", "sip:example.com", c.local, extra=["Event: presence"]),
           (sipd.host, sipd.port))
    r = c.recv()
    assert r.status == 405 and "REGISTER" in r.first("allow")


def test_require_unknown_tag(sipd):
    c = sip.Udp()
    c.send(sip.request("OPTIONS", ruri_self(sipd), c.local, extra=["Require: foo, bar"]),
           (sipd.host, sipd.port))
    r = c.recv()
    assert r.status == 420
    assert "foo, bar" in r.get("unsupported") or set(r.get("unsupported")) == {"foo", "bar"}


def test_proxy_require_unknown_tag(sipd):
    c = sip.Udp()
    c.send(sip.request("OPTIONS", "sip:bob@example.com", c.local,
                       extra=["Proxy-Require: noway"]), (sipd.host, sipd.port))
    r = c.recv()
    assert r.status == 420 and r.get("unsupported") == ["noway"]


def test_max_forwards_zero(sipd):
    c = sip.Udp()
    c.send(sip.request("OPTIONS", "sip:bob@example.com", c.local, max_forwards=0),
           (sipd.host, sipd.port))
    assert c.recv().status == 483


def test_routing_answers(sipd_factory):
    sipd = sipd_factory("--auth", "off")
    c = sip.Udp()
    c.send(sip.request("OPTIONS", "sip:bob@example.com", c.local), (sipd.host, sipd.port))
    assert c.recv().status == 404  # a user of our domain, not registered, not known
    c.send(sip.request("OPTIONS", "sip:bob@elsewhere.example.net", c.local),
           (sipd.host, sipd.port))
    assert c.recv().status == 403  # never an open relay, not even for a local From


def test_malformed_request_gets_parser_status(sipd):
    c = sip.Udp()
    bad = sip.request("OPTIONS", ruri_self(sipd), c.local).replace(b"CSeq: 1 OPTIONS",
                                                                     b"CSeq: x OPTIONS")
    c.send(bad, (sipd.host, sipd.port))
    r = c.recv()
    assert r.status == 400 and "CSeq" in r.reason
    c.send(sip.request("OPTIONS", ruri_self(sipd), c.local).replace(b"SIP/2.0\r\n",
                                                                     b"SIP/3.0\r\n", 1),
           (sipd.host, sipd.port))
    assert c.recv().status == 505


def test_stray_response_and_garbage_dropped(sipd):
    c = sip.Udp()
    c.send(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
           b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
           b"Content-Length: 0\r\n\r\n", (sipd.host, sipd.port))
    c.send(b"\x00\x01garbage\xff" * 10, (sipd.host, sipd.port))
    assert c.recv(0.5) is None
    c.send(sip.request("OPTIONS", ruri_self(sipd), c.local), (sipd.host, sipd.port))
    assert c.recv().status == 200


def test_oversized_datagram_gets_513(sipd_factory):
    s = sipd_factory("--max-msg", "4096")
    c = sip.Udp()
    big = sip.request("OPTIONS", ruri_self(s), c.local, extra=["X-Pad: " + "a" * 5000])
    c.send(big, (s.host, s.port))
    r = c.recv()
    assert r is not None and r.status == 513
    c.send(sip.request("OPTIONS", ruri_self(s), c.local), (s.host, s.port))
    assert c.recv().status == 200
