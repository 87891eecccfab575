"""sipua against baresip 1.0 (the Debian package), a real phone: sipua calls
baresip and baresip calls sipua, directly (no server; baresip without
registration) and through sipd with registration and digest auth (sqlite
users from sipctl; MD5 challenges only, as baresip gives up on SHA-256).

Both ends play a 1 kHz tone from an 8 kHz mono WAV (baresip: the aufile
source; it hangs up when the file ends, so the file outlasts the call) and
record what arrives (sipua: --record; baresip: its sndfile filter's
dump-...-dec.wav, decoded from RTP). Each recording must be the tone
(dominant frequency) with at least 95% of the sender's frames: sipua's own
count (ended.rtp.sent), baresip's the frames its encoder took while the
call was up (its -enc.wav dump, at most the call's length). baresip
answers by itself (;answermode=auto); it is driven through ctrl_tcp.
DTMF (RFC 4733) goes both ways between them as well.
"""
import time

import pytest

from audio import Analysis, check_tone, write_tone
from peers import BaresipPhone, add_users, wait_until
from sipua import check_heard, reports, rtp, sipuas  # noqa: F401  (fixture)

PASSWORD = "Ua-pw-6-baresip"
TALK = 4  # s: baresip keeps ~100 ms in its jitter buffer at hang-up (~5 frames)


@pytest.fixture
def tone(tmp_path):
    return write_tone(tmp_path / "tone.wav", TALK + 9)


@pytest.fixture
def phones(tmp_path):
    """start(name, srv) -> a BaresipPhone playing the tone; all stopped (by
    PID) at the end, each exiting 0."""
    started = []

    def start(name, srv, play):
        aor = f"sip:{name}@example.com" if srv else f"sip:{name}@127.0.0.1"
        p = BaresipPhone(tmp_path / name, srv, aor, PASSWORD if srv else None, play=play)
        started.append(p)
        if srv:
            assert wait_until(p.registered, 10, step=0.2), f"{name} did not register\n" \
                f"{p.text()[-2500:]}\n--- sipd ---\n{srv.text()[-2000:]}"
        return p

    yield start
    for p in started:
        rc = p.stop()
        assert rc == 0, f"baresip {p.aor} exit status {rc}: {p.text()[-2000:]}"


@pytest.fixture
def srv(sipd_factory, tmp_path):
    dsn = f"sqlite:{tmp_path}/location.db"
    add_users(dsn, ["alice@example.com", "bob@example.com"], PASSWORD)
    return sipd_factory("--auth", "on", "--location", dsn, "--auth-algorithms", "MD5")


def phone_log(p, srv=None):
    out = f"\n--- baresip {p.aor} ---\n{p.text()[-2500:]}\n" \
          f"events: {[(e.get('type'), e.get('param')) for e in p.events]}"
    if srv is not None:
        out += "\n--- sipd ---\n" + srv.text()[-2000:]
    return out


def new_wav(phone, kind, before):
    new = sorted(set(phone.wavs(kind)) - before)
    assert len(new) == 1, f"baresip {phone.aor}: new {kind} dumps {new}{phone_log(phone)}"
    return new[0]


def check_both_ways(ua, ua_end, phone, before, rec, why):
    """phone's received dump carries what ua sent; ua's recording rec what
    phone sent while the call was up."""
    heard = new_wav(phone, "dec", before["dec"])
    check_heard(heard, ua_end, ua, who=f"baresip {phone.aor} heard sipua")
    sent = Analysis(new_wav(phone, "enc", before["enc"]))
    expected = min(sent.tone, int(50 * ua_end["duration"]))
    try:
        check_tone(rec, expected, who=f"sipua {ua.name} heard baresip")
    except AssertionError as e:
        raise AssertionError(f"{e}\nbaresip sent: {sent}\n{why()}") from None


def dumps(phone):
    return {"dec": set(phone.wavs("dec")), "enc": set(phone.wavs("enc"))}


def sipua_calls_baresip(sipuas, phones, tmp_path, tone, srv):
    bob = phones("bob", srv, tone)
    before = dumps(bob)
    rec = str(tmp_path / "alice.wav")
    opts = ["--user", "sip:alice@example.com", "--password", PASSWORD, "--proxy",
            f"sip:{srv.host}:{srv.port}"] if srv else ["--user", "sip:alice@127.0.0.1"]
    target = "sip:bob@example.com" if srv else bob.uri()
    alice = sipuas("alice", "call", target, options=[
        *opts, "--play", tone, "--record", rec, "--duration", TALK])

    def why():
        return reports(alice, srv=srv) + phone_log(bob)
    alice.wait_event("answered", 10)
    assert bob.wait_event("CALL_ESTABLISHED", 5), why()
    end = alice.wait_event("ended", TALK + 6)
    assert end.get("cause") == "local-bye" and end.get("status") == 200, (end, why())
    closed = bob.wait_event("CALL_CLOSED", 5)
    assert closed and "by peer" in closed.get("param", ""), (closed, why())
    assert alice.wait_exit(5) == 0, why()
    assert rtp(end)["received"] > 0, (end, why())
    check_both_ways(alice, end, bob, before, rec, why)


def baresip_calls_sipua(sipuas, phones, tmp_path, tone, srv):
    alice = phones("alice", srv, tone)
    rec = str(tmp_path / "bob.wav")
    opts = ["--user", "sip:bob@example.com", "--password", PASSWORD, "--proxy",
            f"sip:{srv.host}:{srv.port}"] if srv else ["--user", "sip:bob@127.0.0.1"]
    # bob (sipua) answers and hangs up after TALK seconds: BYE from sipua.
    bob = sipuas("bob", "answer", options=[
        *opts, "--auto", "--max-calls", 1, "--play", tone, "--record", rec,
        "--duration", TALK]).wait_listening()

    def why():
        return reports(bob, srv=srv) + phone_log(alice)
    if srv:
        bob.wait_event("registered", 5)
    before = dumps(alice)
    alice.command("dial", "sip:bob@example.com" if srv else bob.uri())
    inc = bob.wait_event("incoming", 10)
    assert "alice" in inc.get("from", ""), (inc, why())
    assert alice.wait_event("CALL_ESTABLISHED", 5), why()
    end = bob.wait_event("ended", TALK + 6)
    assert end.get("cause") == "local-bye" and end.get("status") == 200, (end, why())
    closed = alice.wait_event("CALL_CLOSED", 5)
    assert closed and "by peer" in closed.get("param", ""), (closed, why())
    assert bob.wait_exit(5) == 0, why()
    check_both_ways(bob, end, alice, before, rec, why)


def test_sipua_calls_baresip_directly(sipuas, phones, tmp_path, tone):
    sipua_calls_baresip(sipuas, phones, tmp_path, tone, None)


def test_baresip_calls_sipua_directly(sipuas, phones, tmp_path, tone):
    baresip_calls_sipua(sipuas, phones, tmp_path, tone, None)


def test_sipua_calls_baresip_through_sipd(srv, sipuas, phones, tmp_path, tone):
    sipua_calls_baresip(sipuas, phones, tmp_path, tone, srv)


def test_baresip_calls_sipua_through_sipd(srv, sipuas, phones, tmp_path, tone):
    baresip_calls_sipua(sipuas, phones, tmp_path, tone, srv)


def test_dtmf_with_baresip_both_ways(sipuas, phones, tmp_path, tone):
    # RFC 4733 telephone-events: sipua's --dtmf reach baresip (its
    # CALL_DTMF_START events), baresip's `sndcode` reach sipua (dtmf events).
    bob = phones("bob", None, tone)
    alice = sipuas("alice", "call", bob.uri(), options=[
        "--user", "sip:alice@127.0.0.1", "--play", tone, "--dtmf", "123#", "--duration", 3.5])

    def why():
        return reports(alice) + phone_log(bob)
    alice.wait_event("answered", 10)
    assert bob.wait_event("CALL_ESTABLISHED", 5), why()
    time.sleep(2.0)  # sipua's digits go at 1 s; baresip's after them
    for digit in "57":
        bob.command("sndcode", digit)
        time.sleep(0.4)
    end = alice.wait_event("ended", 5)
    assert end.get("cause") == "local-bye", (end, why())
    got = [e.get("digit") for e in alice.find("dtmf")]
    assert got == ["5", "7"], ("sipua's dtmf events from baresip", got, why())
    assert bob.wait_event("CALL_CLOSED", 5), why()
    keys = [e.get("param") for e in bob.events if e.get("type") == "CALL_DTMF_START"]
    assert keys == ["1", "2", "3", "#"], ("baresip's CALL_DTMF_START events", keys, why())
    assert alice.wait_exit(5) == 0, why()
