"""sipua calls sipua directly (no server): a call with audio both ways.

Each side plays a 1 kHz tone (8 kHz mono WAV, longer than the call) and
records what arrives. The observable for media is the other side's
recording: its dominant frequency is 1 kHz and at least 95% of the 20 ms
packets the sender sent (its ended event's rtp.sent) are there as tone
frames. A call ends with a BYE from the caller (--duration on call) or
from the callee (--duration on answer); both ended events say who ended it
(local-bye / remote-bye), the INVITE's final status (200) and the RTP
statistics, and both processes exit 0.
"""
from audio import write_tone
from sipua import check_heard, reports, rtp, sipuas  # noqa: F401  (fixture)

TALK = 3  # seconds of audio per call


def start_pair(sipuas, tmp_path, caller_opts=(), callee_opts=()):
    tone = write_tone(tmp_path / "tone.wav", TALK + 7)
    bob = sipuas("bob", "answer", options=[
        "--user", "sip:bob@127.0.0.1", "--auto", "--max-calls", "1", "--play", tone,
        "--record", tmp_path / "bob-heard.wav", *callee_opts]).wait_listening()
    alice = sipuas("alice", "call", bob.uri(), options=[
        "--user", "sip:alice@127.0.0.1", "--play", tone,
        "--record", tmp_path / "alice-heard.wav", *caller_opts])
    return alice, bob


def check_call(alice, bob, tmp_path, ender):
    """Both sides answered, talked TALK s and ended; ender sent the BYE."""
    a_ans = alice.wait_event("answered", 5)
    assert a_ans.get("codec") in ("PCMU", "PCMA"), a_ans
    inc = bob.wait_event("incoming", 5)
    assert "alice" in inc.get("from", ""), inc
    a_end = alice.wait_event("ended", TALK + 6)
    b_end = bob.wait_event("ended", 5)
    causes = {"alice": "local-bye", "bob": "remote-bye"} if ender == "alice" else \
        {"alice": "remote-bye", "bob": "local-bye"}
    for ua, e in ((alice, a_end), (bob, b_end)):
        assert e.get("cause") == causes[ua.name], (ua.name, e, reports(alice, bob))
        assert e.get("status") == 200, (ua.name, e)
        assert abs(e.get("duration", 0) - TALK) < 0.7, (ua.name, e, reports(alice, bob))
        r = rtp(e)
        assert r["received"] > 0 and r["lost"] >= 0 and r["jitter_ms"] >= 0, (ua.name, e)
        # Loopback: nearly nothing is lost.
        assert r["lost"] <= 0.02 * (r["received"] + r["lost"]), (ua.name, e)
    assert alice.wait_exit(5) == 0, reports(alice, bob)
    assert bob.wait_exit(5) == 0, reports(alice, bob)
    # Audio both ways, each recording checked against what the other sent.
    check_heard(str(tmp_path / "bob-heard.wav"), a_end, alice, bob, who="bob heard alice")
    check_heard(str(tmp_path / "alice-heard.wav"), b_end, alice, bob, who="alice heard bob")


def test_call_with_audio_both_ways_bye_from_caller(sipuas, tmp_path):
    alice, bob = start_pair(sipuas, tmp_path, caller_opts=["--duration", TALK])
    check_call(alice, bob, tmp_path, ender="alice")


def test_call_with_audio_both_ways_bye_from_callee(sipuas, tmp_path):
    alice, bob = start_pair(sipuas, tmp_path, callee_opts=["--duration", TALK])
    check_call(alice, bob, tmp_path, ender="bob")


def test_ringing_then_answer_after_ring_ms(sipuas, tmp_path):
    # --ring-ms: 180 first, the 200 that much later; the caller reports both.
    alice, bob = start_pair(sipuas, tmp_path, caller_opts=["--duration", 1],
                            callee_opts=["--ring-ms", 800])
    ring = alice.wait_event("ringing", 5)
    assert ring.get("status") == 180, ring
    ans = alice.wait_event("answered", 5)
    assert 0.6 <= ans["_t"] - ring["_t"] <= 2.0, (ring, ans, reports(alice, bob))
    e = alice.wait_event("ended", 5)
    assert e.get("cause") == "local-bye", (e, reports(alice, bob))
    assert alice.wait_exit(5) == 0, reports(alice, bob)
    assert bob.wait_exit(5) == 0, reports(alice, bob)
