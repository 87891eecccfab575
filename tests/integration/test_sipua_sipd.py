"""sipua through sipd: registration with digest auth, and calls routed by the
proxy from the location service.

sipd runs with --auth on and a sqlite store whose users sipctl made (alice,
bob and carol; nobody registers carol). Every sipua goes through sipd as its
outbound proxy (--proxy) with its password: REGISTER is challenged 401 and
every INVITE from alice 407 (she is a local caller), so each call proves
sipua's client-side digest too. Media flows directly between the two sipua
processes; the recordings prove it (dominant frequency, frames arrived).

Flows: register/un-register (checked with sipctl reg list) and a wrong
password; a call with audio both ways; DTMF both ways (RFC 4733, reported
in order); hold and resume by re-INVITE (held/resumed events on both sides,
the held side stops sending and starts again); CANCEL before answer (487);
486 busy; a user without bindings (480) and an unknown user (404).
"""
import pytest

from audio import Analysis, write_tone
from peers import add_users, reg_list
from sipua import check_heard, reports, rtp, sipuas  # noqa: F401  (fixture)

PASSWORD = "Ua-pw-6-sipd"


@pytest.fixture
def dsn(tmp_path):
    d = f"sqlite:{tmp_path}/location.db"
    add_users(d, ["alice@example.com", "bob@example.com", "carol@example.com"], PASSWORD)
    return d


@pytest.fixture
def srv(sipd_factory, dsn):
    s = sipd_factory("--auth", "on", "--location", dsn)
    s.dsn = dsn
    return s


def ident(srv, user, password=PASSWORD):
    return ["--user", f"sip:{user}@example.com", "--password", password,
            "--proxy", f"sip:{srv.host}:{srv.port}"]


def answerer(sipuas, srv, name, *opts):
    """A registered `sipua answer --auto` for name@example.com (one call)."""
    ua = sipuas(name, "answer", options=[*ident(srv, name), "--auto", "--max-calls", "1",
                                         *[str(o) for o in opts]])
    ev = ua.wait_event("registered", 5)
    assert ev.get("aor") == f"sip:{name}@example.com", (ev, reports(ua, srv=srv))
    assert ev.get("expires", 0) > 0, ev
    return ua


def caller(sipuas, srv, target, *opts, name="alice"):
    return sipuas(name, "call", f"sip:{target}@example.com",
                  options=[*ident(srv, name), *[str(o) for o in opts]])


# ---- registration -------------------------------------------------------------------

def test_register_then_unregister_on_exit(srv, sipuas):
    ua = sipuas("alice", "register", options=[*ident(srv, "alice"), "--expires", 600,
                                              "--duration", 2])
    ev = ua.wait_event("registered", 5)
    assert ev.get("aor") == "sip:alice@example.com", ev
    assert 0 < ev.get("expires", 0) <= 600, ev
    b = reg_list(srv.dsn, "sip:alice@example.com")
    assert len(b) == 1 and 500 <= b[0]["expires"] <= 600, (b, reports(ua, srv=srv))
    assert f"127.0.0.1:{ua.port}" in b[0]["contact"], (b, ev)
    # After --duration: un-REGISTER (expires 0), then exit 0.
    ua.wait_event("unregistered", 5)
    assert ua.wait_exit(5) == 0, reports(ua, srv=srv)
    assert reg_list(srv.dsn, "sip:alice@example.com") == [], reports(ua, srv=srv)


def test_register_with_a_wrong_password_fails(srv, sipuas):
    ua = sipuas("alice", "register", options=ident(srv, "alice", "not-" + PASSWORD))
    ev = ua.wait_event("register_failed", 5)
    assert ev.get("status") == 403, (ev, reports(ua, srv=srv))
    assert ua.wait_exit(5) == 1, reports(ua, srv=srv)
    assert reg_list(srv.dsn, "sip:alice@example.com") == []


@pytest.mark.parametrize("alg", ["SHA-256", "MD5"])
def test_register_with_each_digest_algorithm(sipd_factory, dsn, sipuas, alg):
    # sipd challenges with alg alone: registered means sipua answered with it.
    srv = sipd_factory("--auth", "on", "--location", dsn, "--auth-algorithms", alg)
    ua = sipuas("alice", "register", options=[*ident(srv, "alice"), "--duration", 0.5])
    ev = ua.wait_event("registered", 5)
    assert ev.get("aor") == "sip:alice@example.com", (ev, reports(ua, srv=srv))
    ua.wait_event("unregistered", 5)
    assert ua.wait_exit(5) == 0, reports(ua, srv=srv)


def test_register_follows_423_and_refreshes_before_expiry(sipd_factory, dsn, sipuas):
    # sipd wants at least 3 s: sipua's 2 s gets a 423, it asks again for 3 s
    # (Min-Expires) and refreshes at about half of that; 5 s later (past the
    # first expiry) the binding is still there.
    import time
    srv = sipd_factory("--auth", "on", "--location", dsn, "--min-expires", "3")
    ua = sipuas("alice", "register", options=[*ident(srv, "alice"), "--expires", 2,
                                              "--duration", 6])
    ev = ua.wait_event("registered", 5)
    assert ev.get("expires") == 3, (ev, reports(ua, srv=srv))
    time.sleep(5)
    b = reg_list(dsn, "sip:alice@example.com")
    assert len(b) == 1 and 0 < b[0]["expires"] <= 3, \
        (f"binding at {ev['_t'] + 5:.1f} s: {b}", reports(ua, srv=srv))
    ua.wait_event("unregistered", 5)
    assert ua.wait_exit(5) == 0, reports(ua, srv=srv)
    assert reg_list(dsn, "sip:alice@example.com") == []


# ---- calls --------------------------------------------------------------------------

def test_call_through_sipd_with_audio_both_ways(srv, sipuas, tmp_path):
    tone = write_tone(tmp_path / "tone.wav", 10)
    bob = answerer(sipuas, srv, "bob", "--play", tone, "--record", tmp_path / "bob.wav")
    alice = caller(sipuas, srv, "bob", "--play", tone, "--record", tmp_path / "alice.wav",
                   "--duration", 3)
    inc = bob.wait_event("incoming", 5)
    assert "alice@example.com" in inc.get("from", ""), inc
    assert "bob@example.com" in inc.get("to", ""), inc
    alice.wait_event("answered", 5)
    a_end = alice.wait_event("ended", 10)
    b_end = bob.wait_event("ended", 5)
    assert a_end.get("cause") == "local-bye" and a_end.get("status") == 200, \
        (a_end, reports(alice, bob, srv=srv))
    assert b_end.get("cause") == "remote-bye" and b_end.get("status") == 200, \
        (b_end, reports(alice, bob, srv=srv))
    assert alice.wait_exit(5) == 0, reports(alice, bob, srv=srv)
    # bob's --max-calls 1: it un-registers and exits.
    bob.wait_event("unregistered", 5)
    assert bob.wait_exit(5) == 0, reports(alice, bob, srv=srv)
    assert reg_list(srv.dsn, "sip:bob@example.com") == []
    check_heard(str(tmp_path / "bob.wav"), a_end, alice, bob, who="bob heard alice")
    check_heard(str(tmp_path / "alice.wav"), b_end, alice, bob, who="alice heard bob")


def test_dtmf_both_ways(srv, sipuas, tmp_path):
    tone = write_tone(tmp_path / "tone.wav", 10)
    bob = answerer(sipuas, srv, "bob", "--play", tone, "--dtmf", "9*")
    alice = caller(sipuas, srv, "bob", "--play", tone, "--dtmf", "123#", "--duration", 3.5)
    alice.wait_event("ended", 10)
    bob.wait_event("ended", 5)
    got_b = [e.get("digit") for e in bob.find("dtmf")]
    got_a = [e.get("digit") for e in alice.find("dtmf")]
    assert got_b == ["1", "2", "3", "#"], ("bob's dtmf events", got_b,
                                           reports(alice, bob, srv=srv))
    assert got_a == ["9", "*"], ("alice's dtmf events", got_a, reports(alice, bob, srv=srv))
    for e in bob.find("dtmf") + alice.find("dtmf"):
        assert e.get("call") and 20 <= e.get("duration_ms", 0) <= 1000, e
    # Sent about 1 s after the answer, not before.
    ans = alice.wait_event("answered", 0)
    first = alice.find("dtmf")[0]
    assert first["_t"] - ans["_t"] >= 0.8, (ans, first)
    assert alice.wait_exit(5) == 0, reports(alice, bob, srv=srv)


HOLD_AFTER, RESUME_AFTER, TALK = 1.0, 1.5, 4.5


def test_hold_and_resume_by_reinvite(srv, sipuas, tmp_path):
    # alice holds at 1 s (a=sendonly), resumes at 2.5 s (a=sendrecv), hangs up
    # at 4.5 s. bob, held, must not send while held (RFC 3264 §8.4: his answer
    # is recvonly): his packet count and alice's recording show the gap.
    tone = write_tone(tmp_path / "tone.wav", 12)
    bob = answerer(sipuas, srv, "bob", "--play", tone, "--record", tmp_path / "bob.wav")
    alice = caller(sipuas, srv, "bob", "--play", tone, "--record", tmp_path / "alice.wav",
                   "--hold-after", HOLD_AFTER, "--resume-after", RESUME_AFTER,
                   "--duration", TALK)
    ans = alice.wait_event("answered", 5)
    a_held = alice.wait_event("held", 5)
    b_held = bob.wait_event("held", 5)
    a_res = alice.wait_event("resumed", 5)
    b_res = bob.wait_event("resumed", 5)
    why = reports(alice, bob, srv=srv)
    assert a_held.get("by") == "local" and a_held.get("direction") == "sendonly", (a_held, why)
    assert a_res.get("by") == "local" and a_res.get("direction") == "sendrecv", (a_res, why)
    assert b_held.get("by") == "remote", (b_held, why)
    # A remote hold's direction is the peer's offer's (notes/sipua_cli.md,
    # Deviations), so both sides say sendonly.
    assert b_held.get("direction") == "sendonly", (b_held, why)
    assert b_res.get("by") == "remote" and b_res.get("direction") == "sendrecv", (b_res, why)
    assert abs(a_held["_t"] - ans["_t"] - HOLD_AFTER) < 0.5, (ans, a_held)
    assert abs(a_res["_t"] - a_held["_t"] - RESUME_AFTER) < 0.5, (a_held, a_res)
    a_end = alice.wait_event("ended", 10)
    b_end = bob.wait_event("ended", 5)
    assert a_end.get("cause") == "local-bye", (a_end, why)
    assert alice.wait_exit(5) == 0, reports(alice, bob, srv=srv)
    # Media stopped while held: bob sent for about TALK - hold seconds.
    held = b_res["_t"] - b_held["_t"]
    sent = rtp(b_end)["sent"]
    want = 50 * (a_end["duration"] - held)
    assert 0.85 * want <= sent <= want + 25, \
        (f"bob (held {held:.2f} s of a {a_end['duration']} s call) sent {sent} packets, "
         f"expected about {want:.0f}", reports(alice, bob, srv=srv))
    received = rtp(a_end)["received"]
    assert received <= want + 25, (f"alice received {received} packets", a_end, b_end)
    # ... what he sent arrived, and the media restarted after the resume: the
    # end of alice's recording (the last 1.5 s before hanging up) is the tone.
    a = check_heard(str(tmp_path / "alice.wav"), b_end, alice, bob, who="alice heard bob",
                    full_call=False)
    assert a.tone_in(a.seconds - 1.7, a.seconds - 0.2) >= 0.9, \
        (f"no tone after the resume in alice's recording: {a}", reports(alice, bob, srv=srv))
    assert a.tone <= want + 25, (f"alice's recording has tone during the hold: {a}")
    # bob heard alice all along, held or not (she holds with a=sendonly) or at
    # least outside the hold: his recording is the tone.
    b = Analysis(tmp_path / "bob.wav")
    assert abs(b.dominant - 1000) < 20 and b.tone >= 0.9 * want, (b, why)


def test_cancel_before_answer(srv, sipuas):
    bob = answerer(sipuas, srv, "bob", "--ring-ms", 10000)
    alice = caller(sipuas, srv, "bob", "--cancel-after", 1000)
    ring = alice.wait_event("ringing", 5)
    assert ring.get("status") == 180, ring
    bob.wait_event("incoming", 1)
    e = alice.wait_event("ended", 6)
    assert e.get("cause") == "cancelled" and e.get("status") == 487, \
        (e, reports(alice, bob, srv=srv))
    assert alice.find("answered") == [], alice.events
    assert alice.wait_exit(5) == 1, reports(alice, bob, srv=srv)
    # bob learned it too: his call ended cancelled (his INVITE answered 487).
    be = bob.wait_event("ended", 5)
    assert be.get("cause") == "cancelled" and be.get("status") == 487, \
        (be, reports(alice, bob, srv=srv))
    # ... and, its one call (--max-calls 1) over, un-registers and exits.
    bob.wait_event("unregistered", 5)
    bob.wait_exit(5)


def test_busy_486(srv, sipuas):
    bob = answerer(sipuas, srv, "bob", "--answer-status", 486)
    alice = caller(sipuas, srv, "bob", "--duration", 1)
    e = alice.wait_event("ended", 6)
    assert e.get("cause") == "rejected" and e.get("status") == 486, \
        (e, reports(alice, bob, srv=srv))
    assert alice.find("answered") == [], alice.events
    assert alice.wait_exit(5) == 1, reports(alice, bob, srv=srv)
    bob.wait_event("incoming", 1)
    be = bob.wait_event("ended", 5)
    assert be.get("status") == 486, (be, reports(alice, bob, srv=srv))


@pytest.mark.parametrize("target,status", [("carol", 480), ("dave", 404)],
                         ids=["registered-user-without-bindings-480", "unknown-user-404"])
def test_call_to_unavailable_user(srv, sipuas, target, status):
    alice = caller(sipuas, srv, target, "--duration", 1)
    e = alice.wait_event("ended", 6)
    assert e.get("cause") == "rejected" and e.get("status") == status, \
        (e, reports(alice, srv=srv))
    assert alice.wait_exit(5) == 1, reports(alice, srv=srv)
