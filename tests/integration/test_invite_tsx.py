"""The INVITE server transaction seen from the wire (RFC 3261 §17.2.1):
100 Trying within 200 ms, the final response retransmitted on timer G
until the ACK, and no more after timer H. sipd runs with T1 = 50 ms so
timer H (64*T1) ends in 3.2 s."""
import time

import sip


def invite(c, sipd, br):
    c.send(sip.request("INVITE", "sip:bob@example.com", c.local, br=br), (sipd.host, sipd.port))


def test_100_trying_and_final(sipd_factory):
    s = sipd_factory("--t1", "50", "--t2", "400", "--auth", "off")
    c = sip.Udp()
    t0 = time.monotonic()
    invite(c, s, sip.branch())
    first = c.recv()
    assert first is not None and first.status == 100
    assert time.monotonic() - t0 < 0.2
    final = c.recv()
    assert final.status == 404


def test_final_retransmitted_until_timer_h(sipd_factory):
    s = sipd_factory("--t1", "50", "--t2", "400", "--auth", "off")
    c = sip.Udp()
    invite(c, s, sip.branch())
    got = c.recv_all(4.5)
    finals = [t for t, r in got if r.status == 404]
    # Timer G: 50, 100, 200, 400, 400, ... ms until H at 3200 ms: about 10.
    assert 6 <= len(finals) <= 14, [r for _, r in got]
    gaps = [b - a for a, b in zip(finals, finals[1:])]
    assert gaps[0] < gaps[2], gaps  # the interval grows ...
    assert max(gaps) < 0.8, gaps  # ... capped at T2
    assert finals[-1] - finals[0] < 3.5  # and stops at timer H


def test_ack_stops_retransmissions(sipd_factory):
    s = sipd_factory("--t1", "50", "--t2", "400", "--auth", "off")
    c = sip.Udp()
    br = sip.branch()
    req = sip.request("INVITE", "sip:bob@example.com", c.local, br=br, call_id="ack-test@x")
    c.send(req, (s.host, s.port))
    assert c.recv().status == 100
    final = c.recv()
    assert final.status == 404
    to = final.first("to")
    frm = [line for line in req.decode().split("\r\n") if line.startswith("From:")][0]
    ack = (f"ACK sip:bob@example.com SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP {c.local[0]}:{c.local[1]};branch={br};rport\r\n"
           f"Max-Forwards: 70\r\n{frm}\r\nTo: {to}\r\nCall-ID: ack-test@x\r\n"
           f"CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n").encode()
    c.send(ack, (s.host, s.port))
    time.sleep(0.2)  # a retransmission already in flight may still arrive
    c.recv_all(0.1)
    assert c.recv_all(1.0) == []


def test_cancel_after_final(sipd_factory):
    s = sipd_factory("--t1", "50", "--t2", "400", "--auth", "off")
    c = sip.Udp()
    br = sip.branch()
    common = dict(br=br, call_id="cancel@x", from_tag="c1")
    c.send(sip.request("INVITE", "sip:bob@example.com", c.local, **common), (s.host, s.port))
    # Wait for the INVITE's transaction to exist: sent at once, the two
    # datagrams may be read by different workers in either order.
    assert c.recv().status == 100
    c.send(sip.request("CANCEL", "sip:bob@example.com", c.local, **common), (s.host, s.port))
    got = {(r.status, r.first("cseq").split()[1]) for _, r in c.recv_all(1.0)}
    # §9.2: the CANCEL matches the INVITE's transaction, so it gets 200.
    assert (200, "CANCEL") in got, got


def test_cancel_matching_nothing(sipd):
    c = sip.Udp()
    c.send(sip.request("CANCEL", "sip:bob@example.com", c.local), (sipd.host, sipd.port))
    assert c.recv().status == 481
