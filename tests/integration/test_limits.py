"""Abuse resistance: a source over its --rate-limit is dropped unread (a few
503s a second with Retry-After, or none with --rate-limit-action drop)
while another source's calls keep completing; --max-transactions refuses
new requests with 503 and takes them again once transactions end; memory
stays where it was after a flood.

The flooding source is 127.0.0.2 (its own address to the limiter); the
calls come from 127.0.0.1. Everything is bounded in count and time."""
import os
import random
import socket
import threading
import time

from admin import metric, start
from sip import Udp, request
from test_http_api import sipp_calls

FLOOD = 100_000


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def garbage(rng, n):
    kinds = [lambda: rng.randbytes(rng.randint(1, 1400)),
             lambda: b"INVITE sip:x SIP/2.0\r\nVia: " + rng.randbytes(200),
             lambda: b"\r\n\r\n",
             lambda: b"SIP/2.0 200 OK\r\n" + rng.randbytes(64)]
    return [kinds[i % len(kinds)]() for i in range(n)]


def register_msg(port, i):
    return request("REGISTER", "sip:example.com", ("127.0.0.2", port),
                   extra=[f"Contact: <sip:flood{i}@127.0.0.2:{port}>", "Expires: 60"],
                   call_id=f"flood-{i}@test").replace(
                       b"To: <sip:example.com>", f"To: <sip:flood{i}@example.com>".encode())


class Flooder(threading.Thread):
    """From 127.0.0.2: FLOOD datagrams, garbage and valid REGISTERs mixed,
    as fast as the socket takes them, within a time bound; counts what
    comes back."""

    def __init__(self, target, seconds=20):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.2", 0))
        self.sock.setblocking(False)
        self.target, self.seconds = target, seconds
        self.sent = self.replies = self.r503 = self.retry_after = 0

    def drain(self):
        while True:
            try:
                data = self.sock.recv(65535)
            except BlockingIOError:
                return
            self.replies += 1
            if data.startswith(b"SIP/2.0 503"):
                self.r503 += 1
                self.retry_after += b"\r\nRetry-After: " in data

    def run(self):
        rng = random.Random(4242)
        port = self.sock.getsockname()[1]
        junk = garbage(rng, 997)
        deadline = time.monotonic() + self.seconds
        while self.sent < FLOOD and time.monotonic() < deadline:
            i = self.sent
            msg = register_msg(port, i) if i % 10 == 0 else junk[i % len(junk)]
            try:
                self.sock.sendto(msg, self.target)
                self.sent += 1
            except BlockingIOError:
                time.sleep(0.0005)
            if i % 256 == 0:
                self.drain()
        time.sleep(0.5)
        self.drain()


def test_a_flooding_source_does_not_stop_another_ones_calls(sipd_factory, tmp_path):
    srv, admin = start(sipd_factory, "--auth", "off", "--rate-limit", "300",
                       "--rate-burst", "300")
    rss0 = rss_kb(srv.proc.pid)
    flood = Flooder((srv.host, srv.port))
    t0 = time.monotonic()
    flood.start()
    caller, bob = sipp_calls(srv, tmp_path, 30, rate=5)  # asserts every call completed
    flood.join(timeout=40)
    took = time.monotonic() - t0
    assert not flood.is_alive()
    assert flood.sent >= FLOOD * 0.9, f"the flood sent only {flood.sent}"

    m = admin.metrics()
    limited = metric(m, "sipd_rate_limited_total")
    # Its budget: 300 a second plus the burst; the rest is dropped unread
    # (what the kernel dropped from a full socket buffer never counts, so
    # this is a floor, not an equality).
    assert limited >= 0.5 * flood.sent, (limited, flood.sent, took)
    # Few answers, no amplification: 503s at most 5 a second, each with
    # Retry-After; the replies in all stay within what the budget let in.
    assert flood.r503 <= 5 * (took + 2), (flood.r503, took)
    assert flood.r503 == flood.retry_after and flood.r503 > 0
    assert flood.replies <= 300 * (took + 2) + 5 * (took + 2), flood.replies
    # Alive, answering, and no bigger than before but for a few MB.
    ua = Udp()
    try:
        ua.send(request("OPTIONS", f"sip:127.0.0.1:{srv.port}", ua.local), (srv.host, srv.port))
        assert ua.recv(3).status == 200
    finally:
        ua.close()
    grew = rss_kb(srv.proc.pid) - rss0
    assert grew < 32 * 1024, f"RSS grew by {grew} kB under the flood"


def test_drop_action_sends_nothing_back(sipd_factory):
    srv, admin = start(sipd_factory, "--auth", "off", "--rate-limit", "50",
                       "--rate-burst", "50", "--rate-limit-action", "drop")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.2", 0))
    port = s.getsockname()[1]
    try:
        for i in range(300):
            s.sendto(request("OPTIONS", f"sip:127.0.0.1:{srv.port}", ("127.0.0.2", port)),
                     (srv.host, srv.port))
        s.settimeout(1.0)
        answers = []
        try:
            while True:
                answers.append(s.recv(65535))
        except socket.timeout:
            pass
    finally:
        s.close()
    # The burst's 50 get their 200; the excess not a single byte.
    assert 45 <= len(answers) <= 60, len(answers)
    assert all(a.startswith(b"SIP/2.0 200") for a in answers)
    assert metric(admin.metrics(), "sipd_rate_limited_total") >= 240


def test_transaction_cap_refuses_then_recovers(sipd_factory):
    # T1 50 ms: a REGISTER's transaction lives 64*T1 = 3.2 s after its 200.
    srv, admin = start(sipd_factory, "--auth", "off", "--max-transactions", "20",
                       "--t1", "50", "--t2", "200")
    ua = Udp()
    try:
        statuses = []
        for i in range(30):
            msg = request("REGISTER", "sip:example.com", ua.local,
                          extra=[f"Contact: <sip:cap{i}@127.0.0.1:5999>"], call_id=f"cap-{i}")
            ua.send(msg.replace(b"To: <sip:example.com>",
                                f"To: <sip:cap{i}@example.com>".encode()), (srv.host, srv.port))
            r = ua.recv(3)
            assert r is not None
            statuses.append((r.status, r.first("retry-after")))
        assert [s for s, _ in statuses[:20]] == [200] * 20, statuses
        assert all(s == 503 and ra == "1" for s, ra in statuses[20:]), statuses
        assert metric(admin.metrics(), "sipd_overloaded_total") == 10
        time.sleep(4.0)  # the 20 transactions end (Timer J)
        msg = request("REGISTER", "sip:example.com", ua.local,
                      extra=["Contact: <sip:late@127.0.0.1:5999>"], call_id="cap-late")
        ua.send(msg.replace(b"To: <sip:example.com>", b"To: <sip:late@example.com>"),
                (srv.host, srv.port))
        assert ua.recv(3).status == 200
    finally:
        ua.close()


def tcp_from(src_ip, srv):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src_ip, 0))
    s.settimeout(3)
    s.connect((srv.host, srv.port))
    return s


def options_over(s, srv):
    """OPTIONS over an open TCP connection: its status, or None when the
    connection was closed instead."""
    local = s.getsockname()
    s.sendall(request("OPTIONS", f"sip:127.0.0.1:{srv.port}", local, transport="TCP"))
    try:
        data = s.recv(65535)
    except (ConnectionResetError, socket.timeout):
        return None
    return int(data.split()[1]) if data.startswith(b"SIP/2.0 ") else None


def test_connections_per_source_capped(sipd_factory):
    srv = sipd_factory("--max-conns-per-source", "5")
    conns = [tcp_from("127.0.0.2", srv) for _ in range(8)]
    try:
        # Two workers accept from the backlog side by side: which five get
        # in is theirs to decide, how many is not.
        got = [options_over(s, srv) for s in conns]
        assert sorted(got, key=str) == [200] * 5 + [None] * 3, got
        other = tcp_from("127.0.0.1", srv)  # another source is not affected
        assert options_over(other, srv) == 200
        other.close()
        for s, status in zip(conns, got):
            if status == 200:
                s.close()
        time.sleep(0.3)  # the server sees them go
        again = tcp_from("127.0.0.2", srv)
        assert options_over(again, srv) == 200, "room again once they closed"
        again.close()
    finally:
        for s in conns:
            s.close()
    assert "max_conns_per_source reached" in srv.text()


def test_slow_sender_is_cut_off(sipd_factory):
    srv = sipd_factory("--tcp-msg-timeout", "1500")
    slow, idle = tcp_from("127.0.0.1", srv), tcp_from("127.0.0.1", srv)
    try:
        msg = request("OPTIONS", f"sip:127.0.0.1:{srv.port}", slow.getsockname(),
                      transport="TCP")
        t0, closed = time.monotonic(), None
        # A byte every 200 ms: never idle, never done.
        for b in msg[:40]:
            try:
                slow.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed = time.monotonic() - t0
                break
            slow.settimeout(0.2)
            try:
                if slow.recv(1) == b"":
                    closed = time.monotonic() - t0
                    break
            except socket.timeout:
                pass
        assert closed is not None and 1.4 <= closed <= 4.0, closed
        # A connection that only waits between whole messages is not cut.
        assert options_over(idle, srv) == 200
        time.sleep(2.0)
        assert options_over(idle, srv) == 200
    finally:
        slow.close()
        idle.close()
    assert "slow sender" in srv.text()


def test_failed_proxy_authentications_are_slowed_down(sipd_factory, tmp_path):
    """A caller guessing passwords for INVITEs: after the burst (10) its
    further attempts get 503 with Retry-After, as REGISTERs do."""
    from peers import add_users
    from sip import digest_authorization, parse_challenge
    dsn = f"sqlite:{tmp_path}/loc.db"
    add_users(dsn, ["alice@example.com"], "right-pw")
    srv = sipd_factory("--location", dsn, "--auth", "on")
    ua = Udp()
    codes = []
    try:
        for i in range(13):
            inv = request("INVITE", "sip:bob@example.com", ua.local, call_id=f"guess-{i}",
                          cseq=1).replace(b"sip:tester@example.com", b"sip:alice@example.com")
            ua.send(inv, (srv.host, srv.port))
            r = ua.recv(3)
            while r is not None and r.status < 200:
                r = ua.recv(3)
            assert r is not None and r.status == 407, r
            ch = parse_challenge(r.first("proxy-authenticate"))
            auth = digest_authorization(ch, "INVITE", "sip:bob@example.com", "alice",
                                        f"guess{i}", header="Proxy-Authorization")
            ua.send(request("INVITE", "sip:bob@example.com", ua.local, call_id=f"guess-{i}",
                            cseq=2, extra=[auth]).replace(b"sip:tester@example.com",
                                                          b"sip:alice@example.com"),
                    (srv.host, srv.port))
            r = ua.recv(3)
            while r is not None and r.status < 200:
                r = ua.recv(3)
            codes.append((r.status, r.first("retry-after")))
    finally:
        ua.close()
    assert [c for c, _ in codes[:10]] == [403] * 10, codes
    assert all(c == 503 and ra for c, ra in codes[10:]), codes
