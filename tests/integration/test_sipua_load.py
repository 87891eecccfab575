"""Load: one sipua places 200 concurrent calls (--calls 200) to one sipua
answering them all (--auto), each call with its own RTP media both ways for
about 2 s. Every call must be answered, ended by the caller's BYE, and have
received RTP at both ends (mostly all of it), and the callee records each
call to a file of its own (three sampled: the tone, by frequency); the whole
test is bounded to about 30 s.
Directly between the two processes (no server), so the figure is sipua's."""
import time

from audio import Analysis, write_tone
from sipua import reports, rtp, sipuas  # noqa: F401  (fixture)

CALLS = 200
TALK = 2


def test_200_concurrent_calls_with_media(sipuas, tmp_path):
    t0 = time.monotonic()
    tone = write_tone(tmp_path / "tone.wav", TALK + 3)
    # Each call takes an RTP and an RTCP port at each end: ranges of 3x that.
    bob = sipuas("bob", "answer", rtp_ports=3 * 2 * CALLS, log_level=None, options=[
        "--user", "sip:bob@127.0.0.1", "--auto", "--max-calls", CALLS,
        "--play", tone, "--record", tmp_path / "rec.wav"]).wait_listening()
    alice = sipuas("alice", "call", bob.uri(), rtp_ports=3 * 2 * CALLS, log_level=None,
                   options=["--user", "sip:alice@127.0.0.1", "--calls", CALLS,
                            "--duration", TALK, "--play", tone])
    a_end = alice.wait_events("ended", CALLS, 25)
    b_end = bob.wait_events("ended", CALLS, 5)
    why = lambda: reports(alice, bob)  # noqa: E731
    answered = alice.find("answered")
    assert len({e.get("call") for e in answered}) == CALLS, \
        (f"{len(answered)} answered events for {CALLS} calls", why())
    assert len({e.get("call") for e in a_end}) == CALLS, "ended twice?"
    assert len(bob.find("incoming")) == CALLS, why()
    bad = [e for e in a_end if e.get("cause") != "local-bye" or e.get("status") != 200]
    assert not bad, (f"{len(bad)} calls did not end with alice's BYE: {bad[:5]}", why())
    bad = [e for e in b_end if e.get("cause") != "remote-bye"]
    assert not bad, (f"{len(bad)} of bob's calls did not end by alice's BYE: {bad[:5]}", why())
    for side, ends in (("alice", a_end), ("bob", b_end)):
        silent = [e for e in ends if rtp(e)["received"] <= 0]
        assert not silent, (f"{len(silent)} of {side}'s calls received no RTP: {silent[:5]}",
                            why())
        # ~2 s of 20 ms packets each: most of them arrive, even at load.
        short = [e for e in ends if rtp(e)["received"] < 0.8 * 50 * TALK]
        assert len(short) <= CALLS // 20, \
            (f"{len(short)} of {side}'s calls received < 80% of {50 * TALK} packets: "
             f"{short[:5]}", why())
    assert alice.wait_exit(5) == 0, why()
    assert bob.wait_exit(5) == 0, why()
    # Each call recorded its own media (call cN to rec-cN.wav, c1 to rec.wav:
    # notes/sipua_cli.md, Deviations): a few of them carry alice's tone.
    for n in (1, CALLS // 2, CALLS):
        path = tmp_path / ("rec.wav" if n == 1 else f"rec-c{n}.wav")
        assert path.exists(), (f"no recording {path.name}", why())
        a = Analysis(path)
        assert abs(a.dominant - 1000) < 20 and a.tone >= 0.9 * 50 * TALK, \
            (f"call c{n}'s recording: {a}", why())
    assert time.monotonic() - t0 < 35, f"took {time.monotonic() - t0:.1f} s"
