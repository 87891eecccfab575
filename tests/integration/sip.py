"""Small SIP client helpers for the integration tests: build a request,
send it over UDP or TCP from loopback, read and parse the responses.
Parsing here is deliberately simple (these tests check sipd, not Python)."""
import random
import socket
import time


def branch():
    return "z9hG4bK" + "%016x" % random.getrandbits(64)


def request(method, ruri, local, transport="UDP", extra=(), body=b"", cseq=1,
            call_id=None, via_params=";rport", max_forwards=70, br=None, from_tag=None):
    """A well-formed request from local=(host, port)."""
    call_id = call_id or "%016x@test" % random.getrandbits(64)
    from_tag = from_tag or "%08x" % random.getrandbits(32)
    lines = [
        f"{method} {ruri} SIP/2.0",
        f"Via: SIP/2.0/{transport} {local[0]}:{local[1]};branch={br or branch()}{via_params}",
        f"Max-Forwards: {max_forwards}",
        f"From: <sip:tester@example.com>;tag={from_tag}",
        "To: <%s>" % ruri,
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
    ]
    lines += list(extra)
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Response:
    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.start = lines[0]
        parts = self.start.split(" ", 2)
        assert parts[0] == "SIP/2.0", self.start
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))

    def get(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def first(self, name):
        v = self.get(name)
        return v[0] if v else None

    def __repr__(self):
        return f"<{self.start}>"


class Udp:
    """A UDP socket on loopback, by default on a free port of 127.0.0.1."""

    def __init__(self, host="127.0.0.1", port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.local = self.sock.getsockname()

    def send(self, data, dest):
        self.sock.sendto(data, dest)

    def recv(self, timeout=2.0):
        """The next response, or None after timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(70000)
        except socket.timeout:
            return None
        return Response(data)

    def recv_all(self, window):
        """Every response arriving within window seconds, with arrival times."""
        out, end = [], time.monotonic() + window
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return out
            r = self.recv(left)
            if r is None:
                return out
            out.append((time.monotonic(), r))

    def close(self):
        self.sock.close()


def split_frame(buf):
    """(message, rest) when buf starts with a whole message framed by its
    Content-Length (RFC 3261 §18.3), else (None, buf); CRLF keep-alives
    before it are skipped."""
    while buf.startswith(b"\r\n"):
        buf = buf[2:]
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None, buf
    clen = 0
    for line in buf[:end].decode("utf-8", "replace").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() in ("content-length", "l"):
            clen = int(value.strip())
    total = end + 4 + clen
    if len(buf) < total:
        return None, buf
    return buf[:total], buf[total:]


class Tcp:
    """A TCP connection to sipd; responses are framed by Content-Length."""

    def __init__(self, dest):
        self.sock = socket.create_connection(dest, timeout=5)
        self.local = self.sock.getsockname()
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def recv(self, timeout=2.0):
        raw = self.recv_raw(timeout)
        return Response(raw) if raw is not None else None

    def recv_raw(self, timeout=2.0):
        """The next whole message's bytes (a request or a response), or
        None after timeout or when the peer closed."""
        end = time.monotonic() + timeout
        while True:
            raw, self.buf = split_frame(self.buf)
            if raw is not None:
                return raw
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def close(self):
        self.sock.close()


def parse_challenge(value):
    """'Digest realm="x", nonce="y", qop="auth", algorithm=SHA-256' -> dict."""
    import re
    scheme, _, rest = value.partition(" ")
    params = {"scheme": scheme}
    for m in re.finditer(r'([\w-]+)\s*=\s*("([^"\\]|\\.)*"|[^,\s]+)', rest):
        v = m.group(2)
        params[m.group(1).lower()] = v[1:-1] if v.startswith('"') else v
    return params


def digest_authorization(challenge, method, uri, user, password, nc=1, cnonce="0a4f113b",
                         header="Authorization"):
    """The credentials header line answering a parsed challenge (RFC 7616,
    qop=auth). Computed here independently of sipd's own code."""
    import hashlib
    alg = challenge.get("algorithm", "MD5").upper()
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[alg]

    def H(s):
        return h(s.encode()).hexdigest()

    realm, nonce = challenge["realm"], challenge["nonce"]
    ha1 = H(f"{user}:{realm}:{password}")
    ha2 = H(f"{method}:{uri}")
    ncs = "%08x" % nc
    resp = H(f"{ha1}:{nonce}:{ncs}:{cnonce}:auth:{ha2}")
    return (f'{header}: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{resp}", algorithm={alg}, cnonce="{cnonce}", '
            f'qop=auth, nc={ncs}')
