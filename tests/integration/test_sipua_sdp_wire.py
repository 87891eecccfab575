"""Hold and resume on the wire: the SDP sipua puts in its re-INVITEs and
answers (RFC 3264 §8.4, RFC 4566), and whether RTP really stops, seen from
a small SIP peer written here in Python on a loopback socket.

- sipua holds (--hold-after/--resume-after): its re-INVITE offers
  a=sendonly, then a=sendrecv, each with a higher o= session version.
- sipua is held: a re-INVITE offering a=sendonly is answered a=recvonly
  (a new o= version) and sipua's RTP stops arriving; offered a=sendrecv
  again, it answers a=sendrecv and the packets come back.
"""
import random
import re
import socket
import time

from audio import write_tone
from sip import branch
from sipua import reports, sipuas  # noqa: F401  (fixture)


class Msg:
    """A received SIP message: start line, headers (lower-case names, in
    order), body; compact header forms expanded for the few we read."""
    COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
               "c": "content-type", "l": "content-length"}

    def __init__(self, raw):
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.start = lines[0]
        self.headers = []
        for ln in lines[1:]:
            n, _, v = ln.partition(":")
            n = n.strip().lower()
            self.headers.append((self.COMPACT.get(n, n), v.strip()))
        self.body = self.body.decode()
        parts = self.start.split(" ", 2)
        self.status = int(parts[1]) if parts[0] == "SIP/2.0" else None
        self.method = None if self.status else parts[0]

    def get(self, n):
        return [v for k, v in self.headers if k == n]

    def first(self, n):
        v = self.get(n)
        return v[0] if v else None

    @property
    def cseq(self):
        num, meth = self.first("cseq").split()
        return int(num), meth


def sdp(port, version, direction):
    return ("v=0\r\n"
            f"o=py 4242 {version} IN IP4 127.0.0.1\r\n"
            "s=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0 101\r\n"
            "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
            f"a=fmtp:101 0-15\r\na=ptime:20\r\na={direction}\r\n")


def sdp_dir(body):
    """The audio stream's direction (media-level attribute, else session,
    else sendrecv)."""
    session, _, media = body.partition("m=audio")
    for part in (media, session):
        m = re.search(r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", part, re.M)
        if m:
            return m.group(1)
    return "sendrecv"


def sdp_version(body):
    m = re.search(r"^o=\S+ \S+ (\d+) ", body, re.M)
    assert m, f"no o= line in {body!r}"
    return int(m.group(1))


def sdp_port(body):
    return int(re.search(r"^m=audio (\d+) ", body, re.M).group(1))


class Peer:
    """A SIP endpoint on a UDP socket with an RTP socket beside it."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.addr = self.sock.getsockname()
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.rtp_port = self.rtp.getsockname()[1]
        self.tag = "%08x" % random.getrandbits(32)
        self.log = []

    def recv(self, timeout, want=lambda m: True):
        """The next message for which want() is true within timeout (others
        are logged and skipped), or None."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, src = self.sock.recvfrom(65536)
            except socket.timeout:
                return None
            m = Msg(data)
            m.src = src
            self.log.append(m.start)
            if want(m):
                return m

    def reply(self, req, status, body=""):
        hdrs = [f"SIP/2.0 {status}"]
        hdrs += [f"Via: {v}" for v in req.get("via")]
        to = req.first("to")
        if ";tag=" not in to:
            to += f";tag={self.tag}"
        hdrs += [f"From: {req.first('from')}", f"To: {to}",
                 f"Call-ID: {req.first('call-id')}", f"CSeq: {req.first('cseq')}",
                 f"Contact: <sip:py@{self.addr[0]}:{self.addr[1]}>"]
        if body:
            hdrs.append("Content-Type: application/sdp")
        hdrs.append(f"Content-Length: {len(body.encode())}")
        self.sock.sendto(("\r\n".join(hdrs) + "\r\n\r\n" + body).encode(), req.src)

    def count_rtp(self, window):
        """RTP datagrams arriving within window seconds."""
        n, end = 0, time.monotonic() + window
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return n
            self.rtp.settimeout(left)
            try:
                self.rtp.recvfrom(2048)
                n += 1
            except socket.timeout:
                return n

    def drain_rtp(self):
        self.rtp.settimeout(0)
        try:
            while True:
                self.rtp.recvfrom(2048)
        except (BlockingIOError, socket.timeout):
            pass

    def close(self):
        self.sock.close()
        self.rtp.close()


def test_sipua_holds_with_sendonly_then_resumes_with_sendrecv(sipuas, tmp_path):
    peer = Peer()
    try:
        alice = sipuas("alice", "call", f"sip:py@127.0.0.1:{peer.addr[1]}", options=[
            "--user", "sip:alice@127.0.0.1", "--play", write_tone(tmp_path / "t.wav", 6),
            "--hold-after", 0.5, "--resume-after", 0.7, "--duration", 2.5])

        def why():
            return f"peer saw: {peer.log}\n{reports(alice)}"
        offers = []   # (direction, o= version) of each INVITE's offer
        version = 1
        answered = set()
        while True:
            req = peer.recv(6, lambda m: m.method is not None)
            assert req is not None, f"nothing more from sipua\n{why()}"
            num, meth = req.cseq
            if meth == "INVITE":
                if num not in answered:
                    answered.add(num)
                    offers.append((sdp_dir(req.body), sdp_version(req.body)))
                    # Answer: recvonly to a sendonly offer (§6.1), else sendrecv.
                    d = {"sendonly": "recvonly", "inactive": "inactive"}.get(offers[-1][0],
                                                                             "sendrecv")
                    version += 1
                    peer.last_answer = sdp(peer.rtp_port, version, d)
                peer.reply(req, "200 OK", peer.last_answer)
            elif meth == "BYE":
                peer.reply(req, "200 OK")
                break
            # ACKs need nothing.
        assert [d for d, _ in offers] == ["sendrecv", "sendonly", "sendrecv"], \
            (f"directions offered: {offers}", why())
        vs = [v for _, v in offers]
        assert vs[0] < vs[1] < vs[2], (f"o= versions must grow with each change: {vs}", why())
        assert alice.wait_exit(5) == 0, why()
        assert [e.get("event") for e in alice.events if e.get("event") in
                ("held", "resumed")] == ["held", "resumed"], why()
    finally:
        peer.close()


def test_held_sipua_answers_recvonly_and_stops_sending(sipuas, tmp_path):
    bob = sipuas("bob", "answer", options=[
        "--user", "sip:bob@127.0.0.1", "--auto", "--max-calls", 1,
        "--play", write_tone(tmp_path / "t.wav", 8)]).wait_listening()
    peer = Peer()
    call_id = "%016x@py" % random.getrandbits(64)
    ruri = bob.uri()
    to = f"<{ruri}>"
    cseq = [0]
    target = [ruri]

    def why():
        return f"peer saw: {peer.log}\n{reports(bob)}"

    def send(method, body="", num=None):
        if num is None:
            cseq[0] += 1
            num = cseq[0]
        lines = [f"{method} {target[0]} SIP/2.0",
                 f"Via: SIP/2.0/UDP {peer.addr[0]}:{peer.addr[1]};branch={branch()};rport",
                 "Max-Forwards: 70", f"From: <sip:py@127.0.0.1>;tag={peer.tag}", f"To: {to}",
                 f"Call-ID: {call_id}", f"CSeq: {num} {method}",
                 f"Contact: <sip:py@{peer.addr[0]}:{peer.addr[1]}>"]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        peer.sock.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(),
                         ("127.0.0.1", bob.port))
        return num

    def invite(direction, version):
        """INVITE (or re-INVITE) offering direction; ACKs its 200; returns the
        answer's SDP body."""
        nonlocal to
        num = send("INVITE", sdp(peer.rtp_port, version, direction))
        ok = peer.recv(5, lambda m: m.status is not None and m.status >= 200 and
                       m.cseq == (num, "INVITE"))
        assert ok is not None and ok.status == 200, (f"INVITE ({direction}): {ok and ok.start}",
                                                     why())
        to = ok.first("to")
        c = ok.first("contact")
        m = re.search(r"<([^>]+)>", c)
        target[0] = m.group(1) if m else c.split(";")[0]
        send("ACK", num=num)
        return ok.body

    try:
        ans = invite("sendrecv", 1)
        assert sdp_dir(ans) == "sendrecv", (ans, why())
        v0 = sdp_version(ans)
        assert sdp_port(ans) > 0, ans
        time.sleep(0.3)
        flowing = peer.count_rtp(0.6)
        assert flowing >= 20, (f"{flowing} RTP packets in 0.6 s before the hold", why())

        ans = invite("sendonly", 2)
        assert sdp_dir(ans) == "recvonly", (f"answer to a=sendonly: {ans}", why())
        v1 = sdp_version(ans)
        assert v1 > v0, (f"o= version did not grow ({v0} -> {v1})", why())
        held = bob.wait_event("held", 3)
        assert held.get("by") == "remote", held
        time.sleep(0.2)
        peer.drain_rtp()
        during = peer.count_rtp(0.8)
        assert during == 0, (f"{during} RTP packets in 0.8 s while held (recvonly)", why())

        ans = invite("sendrecv", 3)
        assert sdp_dir(ans) == "sendrecv", (f"answer to the resume: {ans}", why())
        assert sdp_version(ans) > v1, (ans, why())
        resumed = bob.wait_event("resumed", 3)
        assert resumed.get("by") == "remote", resumed
        time.sleep(0.2)
        again = peer.count_rtp(0.6)
        assert again >= 20, (f"{again} RTP packets in 0.6 s after the resume", why())

        num = send("BYE")
        ok = peer.recv(5, lambda m: m.status is not None and m.cseq == (num, "BYE"))
        assert ok is not None and ok.status == 200, (ok and ok.start, why())
        end = bob.wait_event("ended", 5)
        assert end.get("cause") == "remote-bye", (end, why())
        assert bob.wait_exit(5) == 0, why()
    finally:
        peer.close()
