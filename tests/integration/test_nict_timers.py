"""A non-INVITE client transaction on the wire (RFC 3261 §17.1.2, Figure 6):
sipua sends OPTIONS to a socket that never answers and must retransmit on
timer E (T1, doubling up to T2) and give up on timer F (64*T1); a
provisional response moves it to Proceeding, where it retransmits every T2;
a final response ends the retransmissions."""
import os
import subprocess
import time

from conftest import SIPD
from sip import Udp

SIPUA = os.environ.get("SIPUA_BIN", os.path.join(os.path.dirname(SIPD), "sipua"))
T1, T2 = 100, 400  # ms: short, so the test takes 64*T1 = 6.4 s


def start_sipua(dest, *extra):
    return subprocess.Popen([SIPUA, "--t1", str(T1), "--t2", str(T2), *extra, "options",
                             f"sip:{dest[0]}:{dest[1]}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def arrivals(sock, window):
    """(time, raw datagram) for each request arriving within window s."""
    out, end = [], time.monotonic() + window
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return out
        sock.sock.settimeout(left)
        try:
            data, src = sock.sock.recvfrom(65536)
        except OSError:
            return out
        out.append((time.monotonic(), data, src))


def test_timer_e_doubles_to_t2_and_timer_f_gives_408():
    silent = Udp()
    t0 = time.monotonic()
    ua = start_sipua(silent.local)
    try:
        got = arrivals(silent, 64 * T1 / 1000 + 1.0)
        out, err = ua.communicate(timeout=10)
    finally:
        if ua.poll() is None:
            ua.kill()
        silent.close()
    elapsed = time.monotonic() - t0
    assert ua.returncode == 1
    assert "408" in err and "timer F" in err
    # Timer F: 64*T1 after the first send (plus start-up), not much later.
    assert 64 * T1 / 1000 - 0.2 <= elapsed <= 64 * T1 / 1000 + 1.5, elapsed
    # Every copy is the same request (same branch: a retransmission).
    assert len({d for _, d, _ in got}) == 1
    gaps = [round((b[0] - a[0]) * 1000) for a, b in zip(got, got[1:])]
    # E doubles from T1 (100, 200, 400) and then stays at T2 (400).
    want = [100, 200] + [400] * (len(gaps) - 2)
    assert len(gaps) >= 14, gaps
    for g, w in zip(gaps, want):
        assert abs(g - w) <= 60, (gaps, want)


def test_provisional_then_final_stops_retransmissions():
    peer = Udp()
    ua = start_sipua(peer.local)
    try:
        peer.sock.settimeout(5)
        req, src = peer.sock.recvfrom(65536)
        head = req.split(b"\r\n\r\n")[0].decode().split("\r\n")
        copy = [ln for ln in head[1:] if ln.split(":")[0].lower() in
                ("via", "from", "to", "call-id", "cseq")]

        def answer(status):
            lines = [f"SIP/2.0 {status}"] + copy + ["Content-Length: 0", "", ""]
            peer.send("\r\n".join(lines).encode(), src)

        answer("100 Trying")
        # Proceeding: retransmissions continue, now every T2.
        later = arrivals(peer, 3 * T2 / 1000 + 0.1)
        gaps = [round((b[0] - a[0]) * 1000) for a, b in zip(later, later[1:])]
        assert later and all(abs(g - T2) <= 60 for g in gaps), gaps
        answer("200 OK")
        out, err = ua.communicate(timeout=5)
        assert ua.returncode == 0, err
        assert out.startswith("SIP/2.0 200 OK")
        # Completed: nothing more is sent.
        assert arrivals(peer, 2 * T2 / 1000) == []
    finally:
        if ua.poll() is None:
            ua.kill()
        peer.close()


def test_options_to_sipd_gets_its_capabilities(sipd):
    ua = start_sipua((sipd.host, sipd.port))
    out, err = ua.communicate(timeout=10)
    assert ua.returncode == 0, err
    assert out.startswith("SIP/2.0 200 OK")
    assert "Allow: " in out and "REGISTER" in out


def test_options_over_tcp(sipd):
    ua = subprocess.run([SIPUA, "options", f"sip:{sipd.host}:{sipd.port};transport=tcp"],
                        capture_output=True, text=True, timeout=10)
    assert ua.returncode == 0, ua.stderr
    assert ua.stdout.startswith("SIP/2.0 200 OK")
