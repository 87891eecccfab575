"""sipua's interactive mode (no command: commands on stdin), both ends of a
direct call driven line by line: call URI; the callee rings until `answer`;
dtmf DIGITS; hold and resume (re-INVITE; held/resumed on both sides);
status; hangup from the callee; quit. Audio flows both ways (1 kHz tones,
recordings checked against what the other side sent)."""
import time

from audio import write_tone
from sipua import check_heard, reports, sipuas  # noqa: F401  (fixture)


def test_interactive_call_answer_dtmf_hold_resume_status_hangup_quit(sipuas, tmp_path):
    tone = write_tone(tmp_path / "tone.wav", 15)
    a_rec, b_rec = str(tmp_path / "alice.wav"), str(tmp_path / "bob.wav")
    bob = sipuas("bob", None, options=["--user", "sip:bob@127.0.0.1", "--play", tone,
                                       "--record", b_rec]).wait_listening()
    alice = sipuas("alice", None, options=["--user", "sip:alice@127.0.0.1", "--play", tone,
                                           "--record", a_rec]).wait_listening()

    def why():
        return reports(alice, bob)
    alice.send(f"call {bob.uri()}")
    inc = bob.wait_event("incoming", 5)
    assert "alice" in inc.get("from", ""), (inc, why())
    alice.wait_event("ringing", 5)
    # Without --auto nothing answers until the command does.
    time.sleep(0.5)
    assert not alice.find("answered"), why()
    bob.send("answer")
    a_call = alice.wait_event("answered", 5).get("call")
    time.sleep(0.8)
    alice.send("dtmf 42")
    got = [e.get("digit") for e in bob.wait_events("dtmf", 2, 5)]
    assert got == ["4", "2"], (got, why())
    alice.send("hold")
    h = alice.wait_event("held", 5)
    assert h.get("by") == "local" and h.get("direction") == "sendonly", (h, why())
    bh = bob.wait_event("held", 5)
    assert bh.get("by") == "remote" and bh.get("direction") == "sendonly", (bh, why())
    time.sleep(1.0)
    alice.send("resume")
    r = alice.wait_event("resumed", 5)
    assert r.get("by") == "local" and r.get("direction") == "sendrecv", (r, why())
    assert bob.wait_event("resumed", 5).get("by") == "remote", why()
    time.sleep(1.0)
    # status: not in the contract's event list; it must at least name the call.
    alice.send("status")
    st = alice.wait_event("status", 3)
    assert st.get("call") == a_call, (st, why())
    bob.send("hangup")
    a_end = alice.wait_event("ended", 5)
    b_end = bob.wait_event("ended", 5)
    assert a_end.get("cause") == "remote-bye" and b_end.get("cause") == "local-bye", \
        (a_end, b_end, why())
    for ua in (alice, bob):
        ua.send("quit")
    assert alice.wait_exit(5) == 0, why()
    assert bob.wait_exit(5) == 0, why()
    # bob, held, stopped sending for a while: alice's recording vs his count.
    check_heard(a_rec, b_end, alice, bob, who="alice heard bob", full_call=False)
    # alice's digits took the place of her tone while they lasted.
    digits = sum(round(e.get("duration_ms", 0) / 20) for e in bob.find("dtmf"))
    check_heard(b_rec, a_end, alice, bob, who="bob heard alice", full_call=False,
                not_audio=digits)
