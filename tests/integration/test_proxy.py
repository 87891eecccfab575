"""sipd as a stateful proxy (RFC 3261 §16) between real peers on the wire:
SIPp callers and callees (scenarios/proxy_*.xml) on free loopback ports,
registered by the test with python REGISTERs, and raw python requests where
a single message tells more (404, 480, 482, 483, 403).

Covered: calls to a user found by location lookup (Record-Route, Max-Forwards,
an immediate 100 Trying), CANCEL before the answer, a 486 forwarded and ACKed
hop by hop, parallel forking within a q-value (the loser CANCELled, one 200
upstream), sequential forking across q-values, 407 for local callers only,
the error answers, a real loop, and a call across two sipd nodes sharing
one redis-server.

Every SIPp process runs in a directory of its own (its traces are what the
assertions read) and is stopped by its handle at the end."""
import random
import time

import pytest

from peers import Sipp, add_users, register_binding
from sip import Udp, request

PASSWORD = "Proxy-pw-42"
CALLS = 20
# SIPp 3.6.1 gives up on a SHA-256 challenge (see test_register_peers.py).
MD5_ONLY = ("--auth-algorithms", "MD5")
OUTSIDER = "caller@outside.example.org"
TIMEOUT = 10  # seconds a SIPp run may take (each of these takes 1 or 2)


@pytest.fixture
def dsn(tmp_path):
    return f"sqlite:{tmp_path}/location.db"


class Peers:
    """SIPp callees and callers of one test, all stopped at its end."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.all = []

    def uas(self, name, scenario="proxy_uas.xml", count=1, args=()):
        p = Sipp(scenario, self.tmp / name, count=count, args=args, timeout=TIMEOUT)
        self.all.append(p)
        return p

    def uac(self, srv, name, service, scenario="proxy_uac.xml", count=1, caller=OUTSIDER,
            rate=10, args=()):
        p = Sipp(scenario, self.tmp / name, count=count, remote=f"{srv.host}:{srv.port}",
                 timeout=TIMEOUT,
                 args=["-s", service, "-key", "caller", caller, "-r", str(rate), *args])
        self.all.append(p)
        return p

    def stop(self):
        for p in self.all:
            p.stop()


@pytest.fixture
def peers(tmp_path):
    p = Peers(tmp_path)
    yield p
    p.stop()


def contact(p, user="bob", params=""):
    return f"<sip:{user}@127.0.0.1:{p.port}>{params}"


def register(srv, aor, contacts, **kw):
    r = register_binding(srv, aor, contacts, **kw)
    assert r.status == 200, f"REGISTER {aor}: {r.start}"
    return r


def check(p, srv, rc=0):
    """p ended with rc; else its trace and sipd's log tail."""
    got = p.wait()
    assert got == rc, p.report() + "\n--- sipd ---\n" + srv.text()[-3000:]


def vias(m):
    """A message's Via values, top first (comma-separated ones split)."""
    return [v.strip() for h in m.get("via") for v in h.split(",")]


def branch_of(via):
    return [p.split("=", 1)[1] for p in via.split(";") if p.startswith("branch=")][0]


def by_call(msgs):
    out = {}
    for m in msgs:
        out.setdefault(m.call_id, []).append(m)
    return out


# ---- raw python requests ------------------------------------------------------------

def transact(srv, method, ruri, frm="sip:tester@example.com", max_forwards=70, timeout=5,
             extra=()):
    """One request from a fresh UDP socket; returns (final response,
    provisionals). A final response to an INVITE is ACKed (§17.1.1.3)."""
    ua = Udp()
    br = "z9hG4bK" + "%016x" % random.getrandbits(64)
    call_id = "%016x@proxy-test" % random.getrandbits(64)
    tag = "%08x" % random.getrandbits(32)
    frm_hdr = f"From: <{frm}>;tag={tag}".encode()
    msg = request(method, ruri, ua.local, br=br, call_id=call_id, from_tag=tag,
                  max_forwards=max_forwards, extra=extra).replace(
        f"From: <sip:tester@example.com>;tag={tag}".encode(), frm_hdr)
    try:
        ua.send(msg, (srv.host, srv.port))
        prov = []
        deadline = time.monotonic() + timeout
        while True:
            r = ua.recv(max(0.01, deadline - time.monotonic()))
            assert r is not None, f"no final answer to {method} {ruri}; got {prov}\n" + \
                srv.text()[-3000:]
            if r.status >= 200:
                break
            prov.append(r)
        if method == "INVITE":
            ack = request("ACK", ruri, ua.local, br=br, call_id=call_id, from_tag=tag,
                          max_forwards=max_forwards)
            ack = ack.replace(f"From: <sip:tester@example.com>;tag={tag}".encode(), frm_hdr)
            ack = ack.replace(f"To: <{ruri}>".encode(), f"To: {r.first('to')}".encode())
            ua.send(ack, (srv.host, srv.port))
        return r, prov
    finally:
        ua.close()


# ---- 1. calls to a registered user ------------------------------------------------

def test_calls_through_proxy_record_route_and_max_forwards(sipd_factory, peers):
    srv = sipd_factory("--auth", "off")
    bob = peers.uas("bob", count=CALLS)
    register(srv, "sip:bob@example.com", [contact(bob)])
    caller = peers.uac(srv, "caller", "bob", count=CALLS, rate=20)
    check(caller, srv)
    check(bob, srv)

    ours = f"SIP/2.0/UDP 127.0.0.1:{srv.port};branch=z9hG4bK"
    rr = f"<sip:127.0.0.1:{srv.port};transport=udp;lr>"
    invites = bob.received("INVITE")
    assert len(invites) == CALLS
    for inv in invites:
        # Request-URI: the binding's contact (location lookup).
        assert inv.start == f"INVITE sip:bob@127.0.0.1:{bob.port} SIP/2.0", inv.raw
        assert inv.get("record-route") == [rr], inv.raw
        assert inv.first("max-forwards") == "69", inv.raw
        v = vias(inv)
        assert len(v) == 2 and v[0].startswith(ours), inv.raw
        assert f"127.0.0.1:{caller.port}" in v[1] and "received=127.0.0.1" in v[1] and \
            f"rport={caller.port}" in v[1], inv.raw
    # ACK and BYE follow the Record-Route: through sipd, its Route consumed.
    for m in bob.received("ACK") + bob.received("BYE"):
        assert vias(m)[0].startswith(ours), m.raw
        assert m.get("route") == [], m.raw
        assert m.first("max-forwards") == "69", m.raw
    assert len(bob.received("ACK")) == CALLS and len(bob.received("BYE")) == CALLS

    # §16.2: the 100 Trying goes at once, before the callee answers anything.
    slow = []
    calls = by_call(caller.messages())
    assert len(calls) == CALLS
    for cid, msgs in calls.items():
        sent = [m for m in msgs if m.direction == "sent" and m.method == "INVITE"][0]
        trying = [m for m in msgs if m.direction == "received" and m.status == 100]
        assert trying, f"no 100 Trying for {cid}"
        if trying[0].t - sent.t >= 0.2:
            slow.append((cid, trying[0].t - sent.t))
    assert not slow, slow


def test_100_trying_is_immediate_raw(sipd_factory):
    # One INVITE from a raw socket to a callee that never answers: the 100
    # cannot come from downstream. Then the callee refuses (480) and the
    # caller gets that 480, the callee sipd's ACK.
    srv = sipd_factory("--auth", "off")
    callee = Udp()
    register(srv, "sip:dora@example.com", [f"<sip:dora@127.0.0.1:{callee.local[1]}>"])
    ua = Udp()
    br = "z9hG4bK" + "%016x" % random.getrandbits(64)
    msg = request("INVITE", "sip:dora@example.com", ua.local, br=br, call_id="t100@test")
    try:
        t0 = time.monotonic()
        ua.send(msg, (srv.host, srv.port))
        r = ua.recv(2)
        t1 = time.monotonic()
        assert r is not None and r.status == 100, r
        assert t1 - t0 < 0.2, t1 - t0
        assert r.first("call-id") == "t100@test"
        # The callee's side: the forwarded INVITE, answered 480 by hand.
        callee.sock.settimeout(2)
        data, src = callee.sock.recvfrom(70000)
        inv = data.decode()
        head = inv.split("\r\n\r\n")[0].split("\r\n")
        hdr = lambda n: [l for l in head if l.lower().startswith(n.lower() + ":")]  # noqa: E731
        resp = "\r\n".join(["SIP/2.0 480 Temporarily Unavailable"] + hdr("Via") + hdr("From") +
                           [hdr("To")[0] + ";tag=callee1"] + hdr("Call-ID") + hdr("CSeq") +
                           ["Content-Length: 0", "", ""])
        callee.send(resp.encode(), src)
        fin = ua.recv(3)
        while fin is not None and fin.status < 200:
            fin = ua.recv(3)
        assert fin is not None and fin.status == 480, fin
        callee.sock.settimeout(2)
        ack, _ = callee.sock.recvfrom(70000)
        assert ack.startswith(b"ACK "), ack
    finally:
        ua.close()
        callee.close()


# ---- 2. CANCEL ----------------------------------------------------------------------

def test_cancel_before_answer(sipd_factory, peers):
    n = 3
    srv = sipd_factory("--auth", "off")
    bob = peers.uas("bob", "proxy_uas_ring.xml", count=n)
    register(srv, "sip:bob@example.com", [contact(bob)])
    caller = peers.uac(srv, "caller", "bob", "proxy_uac_cancel.xml", count=n)
    # The caller: 180, then 200 for its CANCEL and 487 for its INVITE.
    check(caller, srv)
    # The callee: the CANCEL came, it answered 487, and got the ACK.
    check(bob, srv)
    assert len(caller.received(status=200, cseq="CANCEL")) == n
    assert len(caller.received(status=487, cseq="INVITE")) == n
    assert caller.received(status=200, cseq="INVITE") == []
    invites = {m.call_id: m for m in bob.received("INVITE")}
    cancels = bob.received("CANCEL")
    assert len(cancels) == n
    for c in cancels:
        inv = invites[c.call_id]
        # §9.1: the CANCEL matches the INVITE it cancels: same Request-URI,
        # top Via branch, Call-ID, CSeq number; one Via only (§16.10).
        assert c.start.split()[1] == inv.start.split()[1], (c.raw, inv.raw)
        assert len(vias(c)) == 1, c.raw
        assert branch_of(vias(c)[0]) == branch_of(vias(inv)[0]), (c.raw, inv.raw)
        assert c.first("cseq").split()[0] == inv.first("cseq").split()[0]
    # The ACK for the callee's 487 is sipd's, hop by hop (same branch).
    for a in bob.received("ACK"):
        assert branch_of(vias(a)[0]) == branch_of(vias(invites[a.call_id])[0]), a.raw


def test_cancel_before_any_provisional_waits_for_it(sipd_factory, peers):
    # The caller CANCELs 200 ms after its INVITE, while the callee is still
    # silent (it rings only after 500 ms): sipd answers the CANCEL at once,
    # and may CANCEL its branch only once a provisional response came on it
    # (§9.1, §16.10): the callee must see 180 go out before the CANCEL
    # arrives, then answers 487.
    n = 2
    srv = sipd_factory("--auth", "off")
    bob = peers.uas("bob", "proxy_uas_ring.xml", count=n, args=["-d", "500"])
    register(srv, "sip:bob@example.com", [contact(bob)])
    caller = peers.uac(srv, "caller", "bob", "proxy_uac_cancel_early.xml", count=n)
    check(caller, srv)
    check(bob, srv)
    assert len(caller.received(status=200, cseq="CANCEL")) == n
    assert len(caller.received(status=487, cseq="INVITE")) == n
    rang = {m.call_id: m.t for m in bob.sent(status=180)}
    for c in bob.received("CANCEL"):
        assert c.t >= rang[c.call_id], c.raw
    assert len(bob.received("CANCEL")) == n


# ---- 3. a refusal ---------------------------------------------------------------------

def test_486_is_forwarded_and_acked_hop_by_hop(sipd_factory, peers):
    srv = sipd_factory("--auth", "off")
    bob = peers.uas("bob", "proxy_uas_486.xml", count=2)
    register(srv, "sip:bob@example.com", [contact(bob)])
    caller = peers.uac(srv, "caller", "bob", "proxy_uac_486.xml", count=2)
    check(caller, srv)
    check(bob, srv)
    got = caller.received(status=486)
    assert len(got) == 2
    # The callee's own 486 (its To tag), not one sipd made up.
    assert all("SIPpTag01" in m.first("to") for m in got), [m.raw for m in got]
    invites = {m.call_id: m for m in bob.received("INVITE")}
    acks = bob.received("ACK")
    assert len(acks) == 2
    for a in acks:
        # §17.1.1.3: sipd's client transaction ACKs the 486 itself, with
        # the branch of the INVITE it sent; the caller's ACK stays at sipd.
        assert len(vias(a)) == 1, a.raw
        assert branch_of(vias(a)[0]) == branch_of(vias(invites[a.call_id])[0]), a.raw
        assert a.first("cseq").split() == [invites[a.call_id].first("cseq").split()[0], "ACK"]


# ---- 4, 5. forking --------------------------------------------------------------------

def test_parallel_forking_one_answers_other_cancelled(sipd_factory, peers):
    n = 2
    srv = sipd_factory("--auth", "off")
    # bob1 rings and answers after 500 ms; bob2 rings until cancelled.
    bob1 = peers.uas("bob1", "proxy_uas.xml", count=n, args=["-d", "500"])
    bob2 = peers.uas("bob2", "proxy_uas_ring.xml", count=n)
    register(srv, "sip:bob@example.com",
             [contact(bob1, "bob", ";q=0.7"), contact(bob2, "bob", ";q=0.7")])
    caller = peers.uac(srv, "caller", "bob", count=n)
    check(caller, srv)
    check(bob1, srv)
    check(bob2, srv)   # it got the CANCEL, answered 487, got the ACK

    ok = caller.received(status=200, cseq="INVITE")
    assert len(ok) == n, [m.raw for m in ok]      # exactly one 200 per call
    assert len({m.call_id for m in ok}) == n
    assert caller.received(status=487) == []
    # Both branches at once: bob2's INVITE before bob1 answered.
    inv1 = {m.call_id: m for m in bob1.received("INVITE")}
    inv2 = {m.call_id: m for m in bob2.received("INVITE")}
    assert sorted(inv1) == sorted(inv2) and len(inv1) == n
    answered = {m.call_id: m.t for m in bob1.sent(status=200, cseq="INVITE")}
    for cid in inv1:
        assert inv2[cid].t < answered[cid], cid
    assert len(bob2.received("CANCEL")) == n


def test_sequential_forking_by_q(sipd_factory, peers):
    n = 2
    srv = sipd_factory("--auth", "off")
    # a (q=1.0) refuses with 480 after 300 ms; b (q=0.5) answers.
    a = peers.uas("a", "proxy_uas_480.xml", count=n, args=["-d", "300"])
    b = peers.uas("b", "proxy_uas.xml", count=n)
    register(srv, "sip:bob@example.com", [contact(b, "bob", ";q=0.5"),
                                          contact(a, "bob", ";q=1.0")])
    caller = peers.uac(srv, "caller", "bob", count=n)
    check(caller, srv)
    check(a, srv)    # it got sipd's ACK for its 480
    check(b, srv)
    assert len(caller.received(status=200, cseq="INVITE")) == n
    assert caller.received(status=480) == []
    refused = {m.call_id: m.t for m in a.sent(status=480)}
    inv_b = {m.call_id: m.t for m in b.received("INVITE")}
    assert sorted(refused) == sorted(inv_b) and len(refused) == n
    for cid in refused:
        # b only after a failed.
        assert inv_b[cid] >= refused[cid], (cid, inv_b[cid] - refused[cid])


# ---- 6. who is challenged ---------------------------------------------------------------

def auth_setup(sipd_factory, dsn, peers):
    add_users(dsn, ["alice@example.com", "bob@example.com"], PASSWORD)
    srv = sipd_factory("--location", dsn, *MD5_ONLY)
    bob = peers.uas("bob", count=1)
    register(srv, "sip:bob@example.com", [contact(bob)], password=PASSWORD)
    return srv, bob


def test_local_caller_is_challenged_407_then_call_completes(sipd_factory, dsn, peers):
    srv, bob = auth_setup(sipd_factory, dsn, peers)
    caller = peers.uac(srv, "alice", "bob", "proxy_uac_auth.xml", caller="alice@example.com",
                       args=["-au", "alice", "-ap", PASSWORD,
                             # the digest uri: the Request-URI (SIPp's default
                             # is the remote address, which sipd rejects: 400)
                             "-auth_uri", "bob@example.com"])
    check(caller, srv)
    check(bob, srv)
    ch = caller.received(status=407)
    assert len(ch) == 1
    pa = ch[0].get("proxy-authenticate")
    assert pa and all('realm="example.com"' in v for v in pa), ch[0].raw
    assert any("MD5" in v for v in pa) and not any("SHA-256" in v for v in pa), pa
    inv = bob.received("INVITE")
    assert len(inv) == 1
    # sipd keeps its own credentials (§22.3): the callee never sees them.
    assert inv[0].get("proxy-authorization") == [], inv[0].raw
    assert "CSeq: 2 INVITE" in inv[0].raw


def test_outsider_calling_local_user_is_not_challenged(sipd_factory, dsn, peers):
    srv, bob = auth_setup(sipd_factory, dsn, peers)
    caller = peers.uac(srv, "outsider", "bob", caller=OUTSIDER)
    check(caller, srv)
    check(bob, srv)
    assert caller.received(status=407) == [] and caller.received(status=401) == []


def test_outsider_to_foreign_target_is_403(sipd_factory, dsn):
    add_users(dsn, ["alice@example.com"], PASSWORD)
    srv = sipd_factory("--location", dsn, *MD5_ONLY)
    # Not an open relay.
    r, _ = transact(srv, "INVITE", "sip:carol@other.example.net", frm=f"sip:{OUTSIDER}")
    assert r.status == 403, r
    # A local caller to the same foreign target is asked who it is first.
    r, _ = transact(srv, "INVITE", "sip:carol@other.example.net", frm="sip:alice@example.com")
    assert r.status == 407, r
    assert 'realm="example.com"' in r.first("proxy-authenticate")


def test_local_caller_must_call_as_itself(sipd_factory, dsn):
    # Raw INVITEs from alice@example.com (an outsider target is not needed:
    # bob has no binding, so a request that gets through is answered 480).
    from sip import digest_authorization, parse_challenge
    add_users(dsn, ["alice@example.com", "bob@example.com"], PASSWORD)
    srv = sipd_factory("--location", dsn, *MD5_ONLY)
    r, _ = transact(srv, "INVITE", "sip:bob@example.com", frm="sip:alice@example.com")
    assert r.status == 407, r
    ch = parse_challenge(r.first("proxy-authenticate"))
    assert ch["realm"] == "example.com" and ch.get("algorithm", "MD5") == "MD5", ch

    def again(user, password, nc):
        # nc grows: the same nonce count twice would be a replay.
        auth = digest_authorization(ch, "INVITE", "sip:bob@example.com", user, password,
                                    nc=nc, header="Proxy-Authorization")
        return transact(srv, "INVITE", "sip:bob@example.com", frm="sip:alice@example.com",
                        extra=[auth])[0]
    # Good credentials: through to the location service (bob: no binding).
    assert again("alice", PASSWORD, 1).status == 480
    # bob's good credentials in alice's name, and a wrong password: 403.
    assert again("bob", PASSWORD, 2).status == 403
    assert again("alice", "not-" + PASSWORD, 3).status == 403


# ---- 7. error answers and a loop ------------------------------------------------------

def test_unknown_user_is_404(sipd_factory):
    srv = sipd_factory("--auth", "off")
    for method in ("INVITE", "OPTIONS"):
        r, _ = transact(srv, method, "sip:nobody@example.com")
        assert r.status == 404, (method, r)


def test_known_user_without_bindings_is_480(sipd_factory, dsn):
    add_users(dsn, ["carol@example.com"], PASSWORD)
    srv = sipd_factory("--auth", "off", "--location", dsn)
    for method in ("INVITE", "OPTIONS"):
        r, _ = transact(srv, method, "sip:carol@example.com")
        assert r.status == 480, (method, r)
    # And one who does not exist at all is still 404.
    r, _ = transact(srv, "INVITE", "sip:nobody@example.com")
    assert r.status == 404, r


def test_max_forwards_0_is_483(sipd_factory):
    srv = sipd_factory("--auth", "off")
    callee = Udp()
    try:
        register(srv, "sip:bob@example.com", [f"<sip:bob@127.0.0.1:{callee.local[1]}>"])
        for method in ("INVITE", "OPTIONS"):
            r, _ = transact(srv, method, "sip:bob@example.com", max_forwards=0)
            assert r.status == 483, (method, r)
        callee.sock.settimeout(0.3)
        with pytest.raises(OSError):
            callee.sock.recvfrom(70000)   # nothing was forwarded
    finally:
        callee.close()


def test_loop_is_482(sipd_factory):
    # A real loop: bob's binding points at sipd itself. sip:bob@example.com
    # becomes sip:bob@127.0.0.1:PORT (a spiral: the Request-URI changed, so
    # it is legitimately processed again, RFC 5393 §4.2), whose AOR
    # sip:bob@127.0.0.1 is bound to that same URI: the third pass is the
    # request of the second unchanged, carrying sipd's Via with its own
    # loop hash, and must be answered 482 (§16.3 step 4) — long before
    # Max-Forwards (70) runs out, which would give 483 instead: a 483 here
    # would mean loop detection never triggered.
    srv = sipd_factory("--auth", "off")
    me = f"<sip:bob@127.0.0.1:{srv.port}>"
    register(srv, "sip:bob@example.com", [me])
    register(srv, f"sip:bob@127.0.0.1:{srv.port}", [me])
    for method in ("INVITE", "OPTIONS"):
        r, _ = transact(srv, method, "sip:bob@example.com")
        assert r.status == 482, (method, r, srv.text()[-3000:])
        r, _ = transact(srv, method, f"sip:bob@127.0.0.1:{srv.port}")
        assert r.status == 482, (method, r, srv.text()[-3000:])


# ---- 9. two nodes, one redis-server ---------------------------------------------------

@pytest.fixture
def redis(tmp_path):
    from test_cluster import Redis
    r = Redis(tmp_path)
    yield r
    r.stop()


def test_call_across_two_nodes_sharing_redis(sipd_factory, redis, peers):
    dsn = f"redis://127.0.0.1:{redis.port}/3"
    a = sipd_factory("--location", dsn, "--auth", "off")
    b = sipd_factory("--location", dsn, "--auth", "off")
    alice = peers.uas("alice", count=1)
    bob = peers.uas("bob", count=1)
    register(a, "sip:alice@example.com", [contact(alice, "alice")])
    register(b, "sip:bob@example.com", [contact(bob, "bob")])
    # To node A for bob (registered at B), and to B for alice.
    to_bob = peers.uac(a, "to_bob", "bob", caller="alice@example.com")
    to_alice = peers.uac(b, "to_alice", "alice", caller="bob@example.com")
    check(to_bob, a)
    check(to_alice, b)
    check(bob, a)
    check(alice, b)
    assert bob.received("INVITE")[0].get("record-route") == \
        [f"<sip:127.0.0.1:{a.port};transport=udp;lr>"]
    assert alice.received("INVITE")[0].get("record-route") == \
        [f"<sip:127.0.0.1:{b.port};transport=udp;lr>"]


# ---- a transport change ---------------------------------------------------------------

def test_call_from_tcp_caller_to_udp_callee_double_record_route(sipd_factory, peers):
    # The caller reaches sipd over TCP, the callee is reached over UDP:
    # sipd records two routes, one per side (RFC 5658), and the caller's
    # ACK and BYE, carrying both as Route, still reach the callee (sipd
    # pops both of its entries, or spirals through itself once — which must
    # not be taken for a loop: see the next test).
    srv = sipd_factory("--auth", "off")
    bob = peers.uas("bob", count=2)
    register(srv, "sip:bob@example.com", [contact(bob)])
    caller = peers.uac(srv, "caller", "bob", count=2, args=["-t", "t1"])
    caller.wait()
    bob.wait()
    invites = bob.received("INVITE")
    assert len(invites) == 2, bob.report()
    for inv in invites:
        # The callee reads the Record-Route set top first: the first hop
        # back must be the route it can reach, the UDP one (§12.1.1; the
        # caller reverses the set and gets the TCP one first).
        assert inv.get("record-route") == [
            f"<sip:127.0.0.1:{srv.port};transport=udp;lr>",
            f"<sip:127.0.0.1:{srv.port};transport=tcp;lr>"], inv.raw
        assert vias(inv)[1].startswith("SIP/2.0/TCP "), inv.raw
    check(caller, srv)
    check(bob, srv)
    for m in bob.received("ACK") + bob.received("BYE"):
        assert m.get("route") == [], m.raw
        assert vias(m)[0].startswith(f"SIP/2.0/UDP 127.0.0.1:{srv.port};"), m.raw
    assert len(bob.received("BYE")) == 2


def test_spiral_through_own_routes_is_not_a_loop(sipd_factory):
    # A request whose Route set names sipd twice (as a UA's route set does
    # after sipd double-record-routed a call, RFC 5658) passes sipd twice:
    # the second time its Route set is shorter, so it is a spiral, not a
    # loop (RFC 5393 §4.2: the loop hash covers the Route values as
    # received), and must reach bob.
    srv = sipd_factory("--auth", "off")
    bob = Udp()
    ua = Udp()
    try:
        register(srv, "sip:bob@example.com", [f"<sip:bob@127.0.0.1:{bob.local[1]}>"])
        msg = request("OPTIONS", "sip:bob@example.com", ua.local, extra=[
            f"Route: <sip:127.0.0.1:{srv.port};lr>, "
            f"<sip:127.0.0.1:{srv.port};transport=tcp;lr>"])
        ua.send(msg, (srv.host, srv.port))
        bob.sock.settimeout(3)
        try:
            data, src = bob.sock.recvfrom(70000)
        except OSError:
            r = ua.recv(0.5)
            raise AssertionError(f"the OPTIONS never reached bob; the caller got {r}")
        head = data.decode().split("\r\n\r\n")[0].split("\r\n")
        assert head[0] == f"OPTIONS sip:bob@127.0.0.1:{bob.local[1]} SIP/2.0", head
        assert not [h for h in head if h.lower().startswith("route:")], head
        hdr = lambda n: [l for l in head if l.lower().split(":")[0] == n]  # noqa: E731
        resp = "\r\n".join(["SIP/2.0 200 OK"] + hdr("via") + hdr("from") +
                           [hdr("to")[0] + ";tag=bob1"] + hdr("call-id") + hdr("cseq") +
                           ["Content-Length: 0", "", ""])
        bob.send(resp.encode(), src)
        r = ua.recv(3)
        assert r is not None and r.status == 200, r
    finally:
        bob.close()
        ua.close()
