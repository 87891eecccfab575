"""TCP framing on the wire (RFC 3261 §18.3): a message split across
writes, several pipelined in one write, a body arriving late, keep-alive
pings (RFC 5626 §3.5.1), and a peer closing mid-message without harm to
others."""
import time

import sip


def options(sipd, c, cseq=1, body=b""):
    extra = ["Content-Type: text/plain"] if body else []
    return sip.request("OPTIONS", f"sip:{sipd.host}:{sipd.port}", c.local, transport="TCP",
                       cseq=cseq, body=body, extra=extra)


def test_split_across_writes(sipd):
    c = sip.Tcp((sipd.host, sipd.port))
    msg = options(sipd, c)
    for i in range(0, len(msg), 7):
        c.send(msg[i:i + 7])
        time.sleep(0.005)
    r = c.recv()
    assert r is not None and r.status == 200


def test_pipelined_in_one_write(sipd):
    c = sip.Tcp((sipd.host, sipd.port))
    c.send(b"".join(options(sipd, c, cseq=n) for n in range(1, 6)))
    seen = sorted(int(c.recv().first("cseq").split()[0]) for _ in range(5))
    assert seen == [1, 2, 3, 4, 5]


def test_body_arrives_late(sipd):
    c = sip.Tcp((sipd.host, sipd.port))
    msg = options(sipd, c, body=b"hello, world")
    c.send(msg[:-5])
    assert c.recv(0.3) is None  # not complete: nothing answered yet
    c.send(msg[-5:])
    r = c.recv()
    assert r is not None and r.status == 200


def test_keepalive_ping_pong(sipd):
    c = sip.Tcp((sipd.host, sipd.port))
    c.send(b"\r\n\r\n")
    c.sock.settimeout(2)
    assert c.sock.recv(16) == b"\r\n"
    c.send(options(sipd, c))
    assert c.recv().status == 200


def test_keepalive_ping_split_across_reads_is_answered(sipd):
    # RFC 5626 §4.4.1: every ping gets its pong, however TCP cuts it.
    import time
    c = sip.Tcp((sipd.host, sipd.port))
    c.sock.settimeout(0.5)
    c.send(b"\r\n")
    time.sleep(0.3)  # sipd reads the first CRLF alone
    c.send(b"\r\n")
    assert c.sock.recv(16) == b"\r\n"
    # A lone CRLF before a message is whitespace: the message is answered.
    c.send(b"\r\n")
    time.sleep(0.3)
    c.send(options(sipd, c))
    c.sock.settimeout(2)
    assert c.recv().status == 200


def test_peer_closing_mid_message_harms_no_one(sipd):
    a = sip.Tcp((sipd.host, sipd.port))
    b = sip.Tcp((sipd.host, sipd.port))
    half = options(sipd, a)
    a.send(half[: len(half) // 2])
    a.close()
    b.send(options(sipd, b))
    assert b.recv().status == 200
    u = sip.Udp()
    u.send(sip.request("OPTIONS", f"sip:{sipd.host}:{sipd.port}", u.local),
           (sipd.host, sipd.port))
    assert u.recv().status == 200


def test_missing_content_length_closes(sipd):
    c = sip.Tcp((sipd.host, sipd.port))
    msg = options(sipd, c).replace(b"Content-Length: 0\r\n", b"")
    c.send(msg)
    c.sock.settimeout(3)
    # Framing is lost without Content-Length: sipd closes the connection.
    data = b""
    try:
        while True:
            chunk = c.sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    assert b"SIP/2.0 200" not in data
