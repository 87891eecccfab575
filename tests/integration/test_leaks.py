"""Faults that must leave nothing behind (issue 9, "Faults"): TCP callers
that reset their connection in the middle of a transaction, and RFC 3263
lookups whose DNS server fails, is not there, or never answers. After the
timers (--t1 20: timers B, F, H and J are 1.28 s; timer D stays 32 s on
UDP, §17.1.1.2) sipd's live transactions
and open descriptors (connections among them), read from its admin API's
/metrics, are back to what they were before.

The callee is a python UDP socket registered as bob@example.com that
answers 180 at once and its final answer (200 or 486) only after the
caller has gone; the DNS servers are a dnsmasq that knows nothing, a
loopback port where nobody listens, and a socket that reads nothing."""
import os
import random
import socket
import struct
import subprocess
import threading
import time

import pytest

from admin import metric, start
from conftest import SIPCTL
from sip import Tcp, Udp, digest_authorization, parse_challenge, request
from test_proxy_dns import Dnsmasq

PASSWORD = "leak-pw-1"
T1 = ("--t1", "20", "--t2", "160", "--t4", "200")
CALLERS = 10


def fd_targets(srv):
    """What sipd's open descriptors point at."""
    d = f"/proc/{srv.proc.pid}/fd"
    out = []
    for n in os.listdir(d):
        try:
            out.append(os.readlink(os.path.join(d, n)))
        except OSError:
            pass
    return sorted(out)


def counts(admin, srv):
    """(live transactions, open sockets, other descriptors but the store's
    files). The SQLite store keeps a pool of read connections, one per
    reader that ever ran at once (sqlite_users.c): bounded by the workers,
    not a leak, so its files are left out; every connection is a socket."""
    m = admin.metrics()
    fds = fd_targets(srv)
    sockets = sum(1 for t in fds if t.startswith("socket:"))
    other = sum(1 for t in fds if not t.startswith("socket:") and ".db" not in t)
    assert metric(m, "process_open_fds") >= sockets + other
    return int(metric(m, "sipd_transactions_active")), sockets, other


def drained(admin, srv, base, timeout=15):
    """Seconds until counts() are back to base (each at most its value
    then); fails with what is left otherwise."""
    t0 = time.monotonic()
    while True:
        now = counts(admin, srv)
        if all(a <= b for a, b in zip(now, base)):
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"after {timeout} s: (transactions, sockets, other fds) {now}, "
                        f"before {base}\nopen: {fd_targets(srv)}")
        time.sleep(0.1)


ANY = (0, 1 << 30, 1 << 30)  # transactions ended, whatever else


def baseline(admin, srv):
    """The counts once the warm-up's transactions have ended: the least of
    a few readings (a connection the warm-up's caller just closed may not
    be closed by sipd yet)."""
    drained(admin, srv, ANY)
    reads = []
    for _ in range(4):
        reads.append(counts(admin, srv))
        time.sleep(0.2)
    return tuple(min(r[i] for r in reads) for i in range(3))


class Callee:
    """bob: 180 at once, the final answer `delay` seconds later (200 when
    the Call-ID says ok, else 486); ACKs and repeats are swallowed."""

    def __init__(self, delay):
        self.ua = Udp()
        self.delay = delay
        self.invites = 0
        self.stopping = False
        self.timers = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _reply(self, head, status, src):
        keep = [h for h in head[1:] if h.split(":")[0].strip().lower() in
                ("via", "from", "call-id", "cseq", "record-route", "v", "f", "i")]
        to = [h for h in head[1:] if h.split(":")[0].strip().lower() in ("to", "t")][0]
        reason = {180: "Ringing", 200: "OK", 486: "Busy Here"}[status]
        contact = f"Contact: <sip:bob@{self.ua.local[0]}:{self.ua.local[1]}>"
        lines = [f"SIP/2.0 {status} {reason}", *keep, to + ";tag=bob1", contact,
                 "Content-Length: 0", "", ""]
        if not self.stopping:
            self.ua.send("\r\n".join(lines).encode(), src)

    def _run(self):
        seen = set()
        self.ua.sock.settimeout(0.2)
        while not self.stopping:
            try:
                data, src = self.ua.sock.recvfrom(65536)
            except (socket.timeout, OSError):
                continue
            head = data.split(b"\r\n\r\n")[0].decode(errors="replace").split("\r\n")
            if not head[0].startswith("INVITE "):
                continue
            cid = [h.split(":", 1)[1].strip() for h in head if h.lower().startswith("call-id")][0]
            if cid in seen:
                continue
            seen.add(cid)
            self.invites += 1
            self._reply(head, 180, src)
            t = threading.Timer(self.delay, self._reply,
                                (head, 200 if "ok" in cid else 486, src))
            t.start()
            self.timers.append(t)

    def stop(self):
        self.stopping = True
        for t in self.timers:
            t.cancel()
        self.thread.join(timeout=2)
        self.ua.close()


def register_bob(srv, bob):
    ua = Udp()
    msg = request("REGISTER", "sip:example.com", ua.local,
                  extra=[f"Contact: <sip:bob@127.0.0.1:{bob.ua.local[1]}>", "Expires: 600"]
                  ).replace(b"To: <sip:example.com>", b"To: <sip:bob@example.com>")
    ua.send(msg, (srv.host, srv.port))
    r = ua.recv(3)
    ua.close()
    assert r is not None and r.status == 200, r


def reset(sock):
    """Close with SO_LINGER 0: the kernel sends RST, not FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def outside_invite(tcp, call_id):
    return request("INVITE", "sip:bob@example.com", tcp.local, transport="TCP",
                   call_id=call_id).replace(b"From: <sip:tester@example.com>",
                                            b"From: <sip:caller@outside.example.org>")


def whole_call(srv, call_id):
    """An INVITE over TCP answered 200 by bob (then the connection closes)."""
    tcp = Tcp((srv.host, srv.port))
    tcp.send(outside_invite(tcp, call_id))
    r = tcp.recv(3)
    while r is not None and r.status < 200:
        r = tcp.recv(3)
    tcp.close()
    assert r is not None and r.status == 200, r


@pytest.mark.parametrize("kind", ["mid-message", "right-after-send-ok", "after-100-ok",
                                  "after-180-busy"])
def test_tcp_callers_resetting_mid_transaction_leave_nothing(sipd_factory, kind):
    srv, admin = start(sipd_factory, "--auth", "off", "--log-level", "info", *T1)
    bob = Callee(delay=0.4)
    try:
        register_bob(srv, bob)
        # One whole call first: whatever sipd opens once (its TCP worker's
        # state, a connection's first buffers) is in the baseline.
        whole_call(srv, "warm-ok@leak")
        base = baseline(admin, srv)

        for i in range(CALLERS):
            tcp = Tcp((srv.host, srv.port))
            cid = f"{kind}-{i}@leak"
            msg = outside_invite(tcp, cid)
            if kind == "mid-message":
                tcp.send(msg[:len(msg) // 2])
                time.sleep(0.01)
            else:
                tcp.send(msg)
                if kind == "after-100-ok":
                    r = tcp.recv(2)
                    assert r is not None and r.status == 100, r
                elif kind == "after-180-busy":
                    r = tcp.recv(2)
                    while r is not None and r.status < 180:
                        r = tcp.recv(2)
                    assert r is not None and r.status == 180, r
            reset(tcp.sock)
        time.sleep(0.6)  # bob's final answers go out to the callers gone
        if kind != "mid-message":
            assert bob.invites == CALLERS + 1, bob.invites
        if kind == "after-180-busy":
            # bob's 486s were ACKed: those client transactions wait out
            # timer D (32 s on UDP) — and nothing else is left.
            time.sleep(2)
            now = counts(admin, srv)
            assert now[0] == base[0] + CALLERS, (now, base)
        took = drained(admin, srv, base, timeout=40)
        print(f"\nTCP resets ({kind}): {CALLERS} callers gone; (transactions, sockets, fds) "
              f"back to {base} {took:.1f} s after the last final answer")
        # sipd still serves a call over TCP afterwards.
        whole_call(srv, "after-ok@leak")
    finally:
        bob.stop()


@pytest.fixture
def store(tmp_path):
    dsn = f"sqlite:{tmp_path}/leak.db"
    r = subprocess.run([SIPCTL, "--location", dsn, "user", "add", "tester@example.com"],
                       input=PASSWORD + "\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return dsn


def foreign_calls(srv, domains):
    """One authenticated INVITE per domain, all at once from one socket;
    returns {call-id: final status}, every final answer ACKed (same branch
    as its INVITE, §17.1.1.3)."""
    from sip import branch
    ua = Udp()
    ruris, branches = {}, {}
    for i, dom in enumerate(domains):
        cid = f"dns{i}-{random.getrandbits(32):08x}@leak"
        ruris[cid] = f"sip:bob@{dom}"
        branches[cid, "1"] = branch()
        ua.send(request("INVITE", ruris[cid], ua.local, call_id=cid, br=branches[cid, "1"]),
                (srv.host, srv.port))
    finals, deadline = {}, time.monotonic() + 15
    while len(finals) < len(ruris) and time.monotonic() < deadline:
        r = ua.recv(max(0.01, deadline - time.monotonic()))
        if r is None or r.status < 200:
            continue
        cid, (num, _) = r.first("call-id"), r.first("cseq").split()
        ruri = ruris[cid]
        ack = request("ACK", ruri, ua.local, call_id=cid, cseq=int(num),
                      br=branches[cid, num]).replace(
            f"To: <{ruri}>".encode(), f"To: {r.first('to')}".encode())
        ua.send(ack, (srv.host, srv.port))
        if r.status == 407 and num == "1" and (cid, "2") not in branches:
            ch = parse_challenge(r.first("proxy-authenticate"))
            auth = digest_authorization(ch, "INVITE", ruri, "tester", PASSWORD,
                                        header="Proxy-Authorization")
            branches[cid, "2"] = branch()
            ua.send(request("INVITE", ruri, ua.local, call_id=cid, cseq=2, extra=[auth],
                            br=branches[cid, "2"]), (srv.host, srv.port))
        elif num == "2":
            finals[cid] = r.status
    ua.close()
    return finals


@pytest.mark.parametrize("dns", ["nxdomain", "refused", "silent"])
def test_failing_dns_leaves_nothing(sipd_factory, store, dns):
    server = silent = None
    if dns == "nxdomain":
        server = Dnsmasq([])
        port = server.port
    elif dns == "silent":
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed again: nobody listens there
    try:
        srv, admin = start(sipd_factory, "--location", store, "--dns", f"127.0.0.1:{port}",
                           "--auth-algorithms", "MD5", "--log-level", "info", *T1)
        # The same failing batch first: what sipd opens once per worker
        # (a worker's own SQLite connection for the credentials, the
        # resolver's sockets) is then in the baseline, taken once that
        # batch's transactions have ended.
        foreign_calls(srv, [f"w{i}.example.net" for i in range(20)])
        base = baseline(admin, srv)
        t0 = time.monotonic()
        finals = foreign_calls(srv, [f"d{i}.example.net" for i in range(20)])
        answered = time.monotonic() - t0
        want = {"nxdomain": {404}, "refused": {503}, "silent": {503}}[dns]
        assert len(finals) == 20 and set(finals.values()) <= want, finals
        took = drained(admin, srv, base)
        print(f"\nDNS {dns}: 20 calls answered {sorted(set(finals.values()))} within "
              f"{answered:.1f} s; (transactions, sockets, fds) back to {base} {took:.1f} s later")
    finally:
        if server:
            server.stop()
        if silent:
            silent.close()
