"""Two baresip 1.0 phones calling each other through sipd's proxy.

Both register with passwords (sqlite store, users made with sipctl; MD5
challenges, as baresip gives up on SHA-256), so each INVITE from them is a
local caller's and is challenged 407 first. The callee answers by itself
(;answermode=auto). Each phone's microphone is a sine tone of its own
frequency (ausine) and its sndfile filter writes what it decoded from RTP to
a WAV: the observable for media is that each side's received WAV carries
the *other* side's tone, for the length of the call. (Media flows directly
between the phones, not through sipd, so counting packets at sipd tells
nothing; the tone's frequency proves direction, which a mere non-silent
check would not — a phone's own tone never enters its decoder.)

A call ends with a BYE from the callee (first call) and from the caller
(second call), both following the Record-Route through sipd; both phones
then report the call closed and list no call. Controlled through ctrl_tcp
(JSON netstrings); baresip 1.0 has no `apistate`, so registration is read
with `reginfo` and call progress from the events ctrl_tcp pushes."""
import time

import pytest

from peers import BaresipPhone, add_users, wait_until, wav_tone

PASSWORD = "Phone-pw-31"
MD5_ONLY = ("--auth-algorithms", "MD5")
TALK = 2.0  # seconds of audio per call


@pytest.fixture
def dsn(tmp_path):
    return f"sqlite:{tmp_path}/location.db"


def logs(*phones, srv=None):
    out = ""
    for p in phones:
        out += f"\n--- {p.aor} ---\n{p.text()[-2500:]}\nevents: {[e.get('type') for e in p.events]}"
    if srv:
        out += "\n--- sipd ---\n" + srv.text()[-2000:]
    return out


def call(caller, callee, ender, srv):
    """caller dials callee, they talk TALK seconds, ender hangs up."""
    ka, kb = len(caller.events), len(callee.events)
    before = {id(p): set(p.wavs("dec")) for p in (caller, callee)}
    caller.command("dial", callee.aor)
    for p, k in ((caller, ka), (callee, kb)):
        assert p.wait_event("CALL_ESTABLISHED", 10, k), logs(caller, callee, srv=srv)
    for p, k in ((caller, ka), (callee, kb)):
        # RTP arrived (baresip's "incoming rtp ... established").
        assert p.wait_event("CALL_RTPESTAB", 5, k), logs(caller, callee, srv=srv)
    time.sleep(TALK)
    ender.command("hangup")
    closed = {}
    for p, k in ((caller, ka), (callee, kb)):
        e = p.wait_event("CALL_CLOSED", 10, k)
        assert e, logs(caller, callee, srv=srv)
        closed[id(p)] = e.get("param", "")
    other = callee if ender is caller else caller
    # The other side ended because the BYE reached it (not a timeout or
    # an error): baresip says so as "Connection reset by peer".
    assert "by peer" in closed[id(other)], (closed, logs(caller, callee, srv=srv))
    for p in (caller, callee):
        # Idle again: listcalls prints "--- Active calls (0) ---".
        assert wait_until(lambda: "Active calls (0)" in p.calls(), 3, step=0.2), p.calls()
    # Media both ways: each side decoded the other's tone.
    for p, q in ((caller, callee), (callee, caller)):
        new = sorted(set(p.wavs("dec")) - before[id(p)])
        assert len(new) == 1, (p.aor, new)
        secs, rms, freq = wav_tone(new[0])
        assert secs >= TALK - 0.5, (p.aor, secs)
        assert rms > 1000, (p.aor, rms)          # a full-scale tone is ~10000
        assert abs(freq - q.freq) < 0.1 * q.freq, (p.aor, freq, q.freq)


def calls_both_ways(alice, bob, srv):
    """Once both registered, alice calls bob and bob (the callee) hangs up,
    then bob calls alice and hangs up (the caller); both phones stop
    cleanly (stopped whatever happens)."""
    try:
        assert wait_until(lambda: alice.registered() and bob.registered(), 10, step=0.2), \
            logs(alice, bob, srv=srv)
        call(alice, bob, bob, srv)
        call(bob, alice, bob, srv)
    finally:
        rcs = [alice.stop(), bob.stop()]
    assert rcs == [0, 0], logs(alice, bob)


def test_two_baresip_phones_call_each_other_through_sipd(sipd_factory, dsn, tmp_path):
    add_users(dsn, ["alice@example.com", "bob@example.com"], PASSWORD)
    srv = sipd_factory("--location", dsn, *MD5_ONLY)
    alice = BaresipPhone(tmp_path / "alice", srv, "sip:alice@example.com", PASSWORD, 440)
    alice.freq = 440
    try:
        bob = BaresipPhone(tmp_path / "bob", srv, "sip:bob@example.com", PASSWORD, 1000)
        bob.freq = 1000
    except Exception:
        alice.stop()
        raise
    calls_both_ways(alice, bob, srv)
