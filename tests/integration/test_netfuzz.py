"""Network fuzzing (issue 9, "Fuzzing and sanitizers"): valid messages (the
RFC 4475 torture messages and SIPp-style INVITE, REGISTER and OPTIONS)
mutated — bit flips, truncation, repeated and reordered header lines, huge
values, random bytes, lost or doubled line ends — and sent to a running
sipd: 100,000 datagrams and 1,000 TCP streams (several messages each, cut in
random reads, some closed with a reset). sipd must stay up and answer an
OPTIONS after every 500 mutations and at the end, over UDP and TCP, exit
cleanly on SIGTERM, and leave no ASan/UBSan report in its log (CTest runs
this with the sanitizer build too).

The seed is fixed (NETFUZZ_SEED changes it, NETFUZZ_COUNT the number of
datagrams): a failure names the seed and the batch, and the batch's
mutations are saved in the test's tmp directory to replay.

sipd and the sender run in a network namespace of the test's own with only
a loopback: a mutated REGISTER or Route could otherwise send sipd's
requests to any address; here nothing can leave, and so authentication
is off: mutated REGISTERs bind what they say, and mutated INVITEs to
bob@example.com (registered at a socket that never answers) are proxied."""
import glob
import os
import random
import re
import signal
import socket
import subprocess
import time

import pytest

from admin import Admin, metric
from conftest import RFC4475, SIPD
from netns import Netns
from sip import Tcp, Udp, request

SEED = int(os.environ.get("NETFUZZ_SEED", "4475"))
DATAGRAMS = int(os.environ.get("NETFUZZ_COUNT", "100000"))
STREAMS = 1000
CHECK_EVERY = 500
PORT = 5060
HTTP = 8080
SINK = 5070
ADDR = ("127.0.0.1", PORT)


def sipp_style():
    """INVITE with SDP, REGISTER, OPTIONS, as SIPp's default scenarios send them."""
    local = ("127.0.0.1", 5070)
    sdp = (b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n"
           b"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
           b"a=rtpmap:0 PCMU/8000\r\n")
    return [
        request("INVITE", "sip:bob@example.com", local, body=sdp, extra=[
            "Contact: <sip:sipp@127.0.0.1:5070>", "Content-Type: application/sdp",
            "Subject: Performance Test"]),
        request("REGISTER", "sip:example.com", local, extra=[
            "Contact: <sip:alice@127.0.0.1:5070>;expires=600", "Expires: 600"]),
        request("OPTIONS", "sip:example.com", local, extra=["Accept: application/sdp"]),
        request("BYE", "sip:bob@127.0.0.1:5070", local, extra=[
            "Route: <sip:127.0.0.1:5060;lr>"]),
    ]


def corpus():
    msgs = []
    for path in sorted(glob.glob(os.path.join(RFC4475, "*.dat"))):
        with open(path, "rb") as f:
            msgs.append(f.read())
    return msgs + sipp_style()


def mutate(rng, msg):
    """One to four mutations of msg (one most often: the message then
    often still parses, and reaches further than the parser)."""
    for _ in range(rng.choice((1, 1, 1, 2, 3, 4))):
        msg = rng.choice(MUTATIONS)(rng, bytearray(msg)) or msg
    return bytes(msg[:65000])


def m_bitflip(rng, b):
    for _ in range(rng.randint(1, 8)):
        if b:
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    return b


def m_truncate(rng, b):
    return b[:rng.randrange(len(b) + 1)]


def _lines(b):
    head, sep, body = bytes(b).partition(b"\r\n\r\n")
    return head.split(b"\r\n"), sep, body


def m_dup_header(rng, b):
    lines, sep, body = _lines(b)
    if len(lines) > 1:
        i = rng.randrange(1, len(lines))
        lines[i + 1:i + 1] = [lines[i]] * rng.choice((1, 2, 50))
    return b"\r\n".join(lines) + sep + body


def m_swap_lines(rng, b):
    lines, sep, body = _lines(b)
    if len(lines) > 2:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    return b"\r\n".join(lines) + sep + body


def m_huge_value(rng, b):
    lines, sep, body = _lines(b)
    big = rng.choice([b"9" * rng.choice((10, 20, 40)), b"a" * rng.randint(1000, 60000),
                      b";p=" * rng.randint(100, 5000), b"<" * 3000, b"\"" * 999,
                      b"%" * 2000, b"4294967296", b"-1", b"18446744073709551616"])
    if len(lines) > 1 and rng.random() < 0.7:
        i = rng.randrange(1, len(lines))
        name, _, value = lines[i].partition(b":")
        cut = rng.randrange(len(value) + 1)
        lines[i] = name + b":" + value[:cut] + big + value[cut:]
    else:
        lines.insert(rng.randrange(1, len(lines) + 1),
                     rng.choice([b"Content-Length: ", b"CSeq: ", b"Max-Forwards: ", b"Via: ",
                                 b"Expires: ", b"X-Big: "]) + big)
    return b"\r\n".join(lines) + sep + body


def m_random_bytes(rng, b):
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    i = rng.randrange(len(b) + 1)
    if rng.random() < 0.5:
        return b[:i] + junk + b[i + len(junk):]
    return b[:i] + junk + b[i:]


def m_line_ends(rng, b):
    s = bytes(b)
    choice = rng.randrange(4)
    if choice == 0:
        return s.replace(b"\r\n", b"\n")
    if choice == 1:
        return s.replace(b"\r\n", b"\r\n\r\n", 1)
    if choice == 2:
        return s.replace(b"\r\n\r\n", b"\r\n", 1)
    return s.replace(b": ", b":\r\n ", rng.randint(1, 5))


def m_content_length(rng, b):
    s = re.sub(rb"(?im)^(content-length|l)\s*:\s*\d+",
               b"Content-Length: " + str(rng.choice((0, 1, 99999, 2 ** 31, -5))).encode(),
               bytes(b))
    return s


def m_nul(rng, b):
    i = rng.randrange(len(b) + 1)
    return b[:i] + b"\x00" * rng.randint(1, 3) + b[i:]


MUTATIONS = [m_bitflip, m_truncate, m_dup_header, m_swap_lines, m_huge_value, m_random_bytes,
             m_line_ends, m_content_length, m_nul]


def answers_options(transport="UDP"):
    """One OPTIONS answered 200 (three tries over UDP: a busy socket may drop one)."""
    for _ in range(3):
        if transport == "UDP":
            u = Udp()
            u.send(request("OPTIONS", "sip:example.com", u.local), ADDR)
            r = u.recv(2)
            u.close()
        else:
            t = Tcp(ADDR)
            t.send(request("OPTIONS", "sip:example.com", t.local, transport="TCP"))
            r = t.recv(3)
            t.close()
        if r is not None and r.status == 200:
            return True
    return False


def fuzz(tmp_path, sipd):
    rng = random.Random(SEED)
    base = corpus()
    # bob@example.com is registered at a socket that reads and never
    # answers: mutated INVITEs that still parse are proxied there.
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", SINK))
    sink.setblocking(False)
    u = Udp()
    u.send(request("REGISTER", "sip:example.com", u.local, extra=[
        f"Contact: <sip:bob@127.0.0.1:{SINK}>", "Expires: 600"]).replace(
        b"To: <sip:example.com>", b"To: <sip:bob@example.com>"), ADDR)
    r = u.recv(2)
    u.close()
    assert r is not None and r.status == 200, r
    forwarded = 0
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    sender.setblocking(False)
    sent = dropped = 0
    batch = []
    for i in range(1, DATAGRAMS + 1):
        d = mutate(rng, rng.choice(base))
        batch.append(d)
        try:
            sender.sendto(d, ADDR)
            sent += 1
        except (BlockingIOError, OSError):
            dropped += 1  # our socket's buffer full: sipd is behind
            time.sleep(0.001)
        try:  # whatever sipd answered or forwarded: read and forget
            while sender.recv(70000):
                pass
        except (BlockingIOError, OSError):
            pass
        try:
            while sink.recv(70000):
                forwarded += 1
        except (BlockingIOError, OSError):
            pass
        if i % CHECK_EVERY == 0:
            if sipd.poll() is not None or not answers_options():
                path = tmp_path / f"batch-{i // CHECK_EVERY}.bin"
                path.write_bytes(b"\n=====\n".join(batch))
                state = "exited" if sipd.poll() is not None else "silent"
                raise AssertionError(f"seed {SEED}: sipd {state} after datagram {i} "
                                     f"(this batch in {path})")
            batch = []
    sender.close()

    streams = 0
    for i in range(STREAMS):
        data = b"".join(mutate(rng, rng.choice(base)) if rng.random() < 0.8 else
                        rng.choice(base) for _ in range(rng.randint(1, 5)))
        if rng.random() < 0.2:
            data = b"\r\n\r\n" + data + b"\r\n"
        try:
            s = socket.create_connection(ADDR, timeout=2)
        except OSError as e:
            raise AssertionError(f"seed {SEED}: TCP connect failed at stream {i}: {e}")
        try:
            off = 0
            while off < len(data):
                n = rng.choice((1, 7, 100, 1500, 65536))
                s.sendall(data[off:off + n])
                off += n
            s.settimeout(0.01)
            try:
                s.recv(65536)
            except OSError:
                pass
        except OSError:
            pass  # sipd may close a connection it cannot frame
        finally:
            if rng.random() < 0.3:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            s.close()
        streams += 1
        if (i + 1) % 100 == 0:
            assert sipd.poll() is None and answers_options("TCP"), \
                f"seed {SEED}: sipd down after TCP stream {i}"
    assert answers_options("UDP") and answers_options("TCP"), f"seed {SEED}: no answer at the end"
    sink.close()
    return sent, dropped, streams, forwarded


def test_mutated_messages_do_not_bring_sipd_down(tmp_path):
    ns = Netns("netfuzz")
    log_path = tmp_path / "sipd.log"
    log = open(log_path, "w")
    sipd = None
    try:
        sipd = ns.popen([SIPD, "--listen", f"udp:127.0.0.1:{PORT}",
                         "--listen", f"tcp:127.0.0.1:{PORT}", "--domain", "example.com",
                         "--location", "memory:", "--auth", "off", "--log-level", "warn",
                         "--rate-limit", "0",
                         "--t1", "50", "--dns", "127.0.0.1:9", "--http", f"127.0.0.1:{HTTP}"],
                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not ns.run_inside(answers_options):
            assert sipd.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "sipd did not start: " + log_path.read_text()
        t0 = time.monotonic()
        sent, dropped, streams, forwarded = ns.run_inside(fuzz, tmp_path, sipd)
        took = time.monotonic() - t0
        m = ns.run_inside(lambda: Admin(HTTP).metrics())
        got = sum(v for (name, _), v in m.items() if name == "sipd_requests_received_total")
        print(f"\nnetwork fuzz: seed {SEED}, {sent} datagrams sent ({dropped} not: socket "
              f"full) and {streams} TCP streams of mutated messages in {took:.1f} s; OPTIONS "
              f"answered after every {CHECK_EVERY}; sipd counted {got:.0f} requests, "
              f"{metric(m, 'sipd_parse_errors_total'):.0f} parse errors, "
              f"{metric(m, 'sipd_oversize_messages_total'):.0f} oversize; {forwarded} "
              f"requests proxied to bob")
        assert dropped < DATAGRAMS // 10, dropped
        assert got + metric(m, "sipd_parse_errors_total") > DATAGRAMS // 2
    finally:
        if sipd is not None and sipd.poll() is None:
            sipd.send_signal(signal.SIGTERM)
            try:
                sipd.wait(timeout=20)
            except subprocess.TimeoutExpired:
                sipd.kill()
                sipd.wait()
        log.close()
        ns.delete()
    text = log_path.read_text(errors="replace")
    assert "ERROR: AddressSanitizer" not in text, text[-5000:]
    assert "runtime error:" not in text, text[-5000:]
    assert "LeakSanitizer" not in text, text[-5000:]
    assert sipd.returncode == 0, f"sipd exit {sipd.returncode}: {text[-3000:]}"
