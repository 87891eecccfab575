"""sipua's audio sources and sinks: files that need converting, files that
cannot be played, a looped file, the echo mode, and silence.

A 44.1 kHz stereo WAV must arrive as the same 1 kHz tone (converted to 8 kHz
mono, not played at the wrong speed: unconverted it would sound at ~181 or
~363 Hz); a missing or non-audio --play file is bad usage (exit status 2)
with a message naming the file; --loop repeats a short file for the whole
call; --echo returns what arrives; without --play, silence is sent (packets
flow, no tone). Recordings are 8 kHz mono 16-bit WAVs. Direct calls between
two sipua processes."""
import os

from audio import Analysis, write_tone
from sipua import check_heard, reports, rtp, sipuas  # noqa: F401  (fixture)

TALK = 3


def call(sipuas, tmp_path, caller_opts, callee_opts):
    """alice calls bob for TALK s (alice hangs up); both ended events."""
    bob = sipuas("bob", "answer", options=[
        "--user", "sip:bob@127.0.0.1", "--auto", "--max-calls", 1,
        *callee_opts]).wait_listening()
    alice = sipuas("alice", "call", bob.uri(), options=[
        "--user", "sip:alice@127.0.0.1", "--duration", TALK, *caller_opts])
    a_end = alice.wait_event("ended", TALK + 6)
    b_end = bob.wait_event("ended", 5)
    assert a_end.get("cause") == "local-bye", (a_end, reports(alice, bob))
    assert alice.wait_exit(5) == 0, reports(alice, bob)
    assert bob.wait_exit(5) == 0, reports(alice, bob)
    return alice, bob, a_end, b_end


def test_44k_stereo_file_is_converted(sipuas, tmp_path):
    tone = write_tone(tmp_path / "tone-44k-stereo.wav", TALK + 3, rate=44100, channels=2)
    rec = str(tmp_path / "bob.wav")
    alice, bob, a_end, _ = call(sipuas, tmp_path, ["--play", tone], ["--record", rec])
    check_heard(rec, a_end, alice, bob, who="bob heard alice's 44.1 kHz stereo file")


def test_loop_repeats_a_short_file(sipuas, tmp_path):
    # 0.5 s of 1 kHz (a whole number of periods: the loop has no click).
    tone = write_tone(tmp_path / "short.wav", 0.5)
    rec = str(tmp_path / "bob.wav")
    alice, bob, a_end, _ = call(sipuas, tmp_path, ["--play", tone, "--loop"],
                                ["--record", rec])
    check_heard(rec, a_end, alice, bob, who="bob heard alice's looped 0.5 s file")


def test_once_then_silence(sipuas, tmp_path):
    # Without --loop a 1 s file plays once, then silence: packets go on.
    tone = write_tone(tmp_path / "one-second.wav", 1)
    rec = str(tmp_path / "bob.wav")
    alice, bob, a_end, b_end = call(sipuas, tmp_path, ["--play", tone], ["--record", rec])
    a = Analysis(rec)
    assert 40 <= a.tone <= 55, (f"a 1 s file should give ~50 tone frames: {a}",
                                reports(alice, bob))
    assert rtp(b_end)["received"] >= 0.9 * 50 * a_end["duration"], (b_end, reports(alice, bob))


def test_echo_returns_what_arrives(sipuas, tmp_path):
    tone = write_tone(tmp_path / "tone.wav", TALK + 3)
    rec = str(tmp_path / "alice.wav")
    alice, bob, a_end, b_end = call(sipuas, tmp_path, ["--play", tone, "--record", rec],
                                    ["--echo"])
    # alice hears her own tone back from bob (a few frames of delay).
    check_heard(rec, a_end, alice, bob, who="alice heard her tone echoed by bob")


def test_nothing_to_play_sends_silence(sipuas, tmp_path):
    rec = str(tmp_path / "alice.wav")
    alice, bob, a_end, b_end = call(sipuas, tmp_path, ["--record", rec], [])
    a = Analysis(rec)
    assert a.rate == 8000 and a.channels == 1, a
    assert a.tone == 0 and a.rms < 100, (f"silence expected: {a}", reports(alice, bob))
    # ... but RTP flowed: bob sends silence rather than nothing.
    assert rtp(a_end)["received"] >= 0.9 * 50 * a_end["duration"], (a_end, reports(alice, bob))
    assert a.seconds >= 0.8 * a_end["duration"], (a, a_end)


def bad_file(sipuas, tmp_path, path):
    bob = sipuas("bob", "answer", options=["--user", "sip:bob@127.0.0.1", "--auto",
                                           "--max-calls", 1]).wait_listening()
    alice = sipuas("alice", "call", bob.uri(), options=[
        "--user", "sip:alice@127.0.0.1", "--duration", 1, "--play", path])
    rc = alice.wait_exit(10)
    assert rc == 2, (f"exit status {rc} for --play {path}", reports(alice, bob))
    err = alice.stderr() + "".join(str(e) for e in alice.events)
    assert os.path.basename(path) in err, \
        (f"the message does not name {path}", reports(alice, bob))
    return err


def test_missing_play_file_is_exit_2(sipuas, tmp_path):
    err = bad_file(sipuas, tmp_path, str(tmp_path / "no-such-file.wav"))
    assert any(w in err.lower() for w in ("no such file", "not found", "cannot open",
                                          "can't open", "does not exist")), err[-1500:]


def test_a_file_that_is_not_audio_is_exit_2(sipuas, tmp_path):
    path = tmp_path / "not-audio.wav"
    path.write_text("this is not a WAV file\n" * 50)
    bad_file(sipuas, tmp_path, str(path))
