"""Two sipd nodes sharing one redis-server (started here on a free loopback
port): a binding made at one is seen at the other, an expiry set at one is
honoured at both (Redis's own TTL, no node deletes), and a Redis outage is
answered 500 with Retry-After until Redis is back, with nothing lost."""
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import free_port
from sip import Udp, request

REDIS = shutil.which("redis-server")


class Redis:
    def __init__(self, tmp_path, port=None):
        assert REDIS, "redis-server missing: scripts/bootstrap installs it"
        self.port = port or free_port()
        self.dir = tmp_path
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)


@pytest.fixture
def redis(tmp_path):
    r = Redis(tmp_path)
    yield r
    r.stop()


def register(node, ua, aor, contacts=(), expires=None, call_id="c1@test", cseq=1):
    hdrs = [f"Contact: {c}" for c in contacts]
    if expires is not None:
        hdrs.append(f"Expires: {expires}")
    msg = request("REGISTER", "sip:example.com", ua.local, extra=hdrs, call_id=call_id,
                  cseq=cseq).replace(b"To: <sip:example.com>", f"To: <{aor}>".encode())
    ua.send(msg, (node.host, node.port))
    r = ua.recv(3)
    assert r is not None, "no answer"
    return r


def uris(resp):
    return sorted(v.split(">")[0].lstrip("<") for v in resp.get("contact"))


def test_two_nodes_share_bindings_and_expiry(sipd_factory, redis):
    dsn = f"redis://127.0.0.1:{redis.port}/2"
    a = sipd_factory("--location", dsn, "--auth", "off", "--min-expires", "1")
    b = sipd_factory("--location", dsn, "--auth", "off", "--min-expires", "1")
    ua = Udp()
    r = register(a, ua, "sip:alice@example.com", ["<sip:alice@192.0.2.1>"], expires=600)
    assert r.status == 200
    # Seen at the other node.
    r = register(b, ua, "sip:alice@example.com", cseq=2)
    assert r.status == 200 and uris(r) == ["sip:alice@192.0.2.1"]
    # A binding added at b joins a's.
    r = register(b, ua, "sip:alice@example.com", ["<sip:alice@192.0.2.2>"], expires=600,
                 call_id="c2@test")
    assert uris(r) == ["sip:alice@192.0.2.1", "sip:alice@192.0.2.2"]
    assert uris(register(a, ua, "sip:alice@example.com", cseq=3)) == uris(r)
    # An expiry set at a is honoured at both.
    r = register(a, ua, "sip:bob@example.com", ["<sip:bob@192.0.2.3>"], expires=2)
    assert r.status == 200
    assert uris(register(b, ua, "sip:bob@example.com", cseq=2)) == ["sip:bob@192.0.2.3"]
    time.sleep(3)
    assert register(a, ua, "sip:bob@example.com", cseq=3).get("contact") == []
    assert register(b, ua, "sip:bob@example.com", cseq=4).get("contact") == []
    # A removal at b is seen at a.
    register(b, ua, "sip:alice@example.com", ["*"], expires=0, call_id="c3@test")
    assert register(a, ua, "sip:alice@example.com", cseq=5).get("contact") == []
    ua.close()


def test_redis_outage_is_500_with_retry_after_and_recovers(sipd_factory, tmp_path):
    redis = Redis(tmp_path)
    dsn = f"redis://127.0.0.1:{redis.port}"
    node = sipd_factory("--location", dsn, "--auth", "off")
    ua = Udp()
    try:
        assert register(node, ua, "sip:carol@example.com", ["<sip:carol@192.0.2.5>"],
                        expires=600).status == 200
        redis.stop()
        r = register(node, ua, "sip:carol@example.com", ["<sip:carol@192.0.2.6>"],
                     expires=600, cseq=2)
        assert r.status == 500
        assert r.first("retry-after")
        # Back on the same port (and its append-only file): sipd reconnects
        # by itself and the binding made before the outage is intact.
        redis = Redis(tmp_path, port=redis.port)
        deadline = time.monotonic() + 10
        while True:
            r = register(node, ua, "sip:carol@example.com", cseq=3 + int(time.monotonic()))
            if r.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert r.status == 200
        assert uris(r) == ["sip:carol@192.0.2.5"]
    finally:
        ua.close()
        redis.stop()


def test_a_nonce_from_one_node_is_good_at_the_other(sipd_factory, redis):
    # No shared nonce state: the nonce is signed with the secret both
    # nodes read from the store, so a client moving between nodes (DNS
    # SRV, a load balancer) authenticates without a new challenge.
    import subprocess
    from conftest import SIPCTL
    from sip import digest_authorization, parse_challenge
    dsn = f"redis://127.0.0.1:{redis.port}"
    r = subprocess.run([SIPCTL, "--location", dsn, "user", "add", "dave@example.com"],
                       input="pw-dave\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    a = sipd_factory("--location", dsn)
    b = sipd_factory("--location", dsn)
    ua = Udp()
    r = register(a, ua, "sip:dave@example.com", ["<sip:dave@192.0.2.7>"], expires=600)
    assert r.status == 401
    ch = parse_challenge(r.get("www-authenticate")[0])
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "dave", "pw-dave")
    msg = request("REGISTER", "sip:example.com", ua.local, call_id="c1@test", cseq=2,
                  extra=["Contact: <sip:dave@192.0.2.7>", "Expires: 600", auth]).replace(
        b"To: <sip:example.com>", b"To: <sip:dave@example.com>")
    ua.send(msg, (b.host, b.port))
    r = ua.recv(3)
    assert r is not None and r.status == 200, r
    ua.close()
