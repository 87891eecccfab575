"""Two sipd nodes sharing one redis-server (started here on a free loopback
port): a binding made at one is seen at the other, an expiry set at one is
honoured at both (Redis's own TTL, no node deletes), and a Redis outage is
answered 500 with Retry-After until Redis is back, with nothing lost; under
load too (Redis killed while REGISTERs keep coming), after which every
binding, through sipd and in Redis, is the one last acknowledged."""
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


def test_redis_killed_under_load_answers_500_recovers_and_corrupts_nothing(sipd_factory,
                                                                          tmp_path):
    # Two groups of addresses: "still" ones registered before the outage and
    # left alone, "busy" ones refreshed in a loop before, during and after
    # it, each REGISTER with the same two contacts (q 0.9 and 0.1) and a
    # new Expires. redis-server is killed (SIGKILL: its append-only file,
    # fsync always, holds every write it acknowledged) and started again
    # on the same port. While it is gone every REGISTER is answered 500 or
    # 503 with Retry-After; sipd reconnects by itself; then every binding,
    # read back both through sipd and from Redis (sipctl), is exactly the
    # one last acknowledged: same contacts, q-values, and expiry.
    from peers import reg_list
    redis = Redis(tmp_path)
    dsn = f"redis://127.0.0.1:{redis.port}"
    node = sipd_factory("--location", dsn, "--auth", "off", "--log-level", "info")
    ua = Udp()
    still = [f"sip:still{i}@example.com" for i in range(40)]
    busy = [f"sip:busy{i}@example.com" for i in range(40)]
    cseq = {aor: 0 for aor in still + busy}
    acked = {}  # aor -> (expires, time of the 200)

    def contacts(aor):
        user = aor[4:].split("@")[0]
        return [f"<sip:{user}@192.0.2.10:5060>;q=0.9", f"<sip:{user}@192.0.2.11:5060>;q=0.1"]

    def reg(aor, expires):
        cseq[aor] += 1
        r = register(node, ua, aor, contacts(aor), expires=expires, call_id=f"{aor}-load",
                     cseq=cseq[aor])
        if r.status == 200:
            acked[aor] = (expires, time.monotonic())
        return r

    try:
        for aor in still + busy:
            assert reg(aor, 900).status == 200
        # Load, then the outage under load.
        n, statuses = 0, {}
        for rnd in range(3):
            for aor in busy:
                assert reg(aor, 600 + rnd).status == 200
                n += 1
        redis.proc.kill()
        redis.proc.wait(timeout=10)
        t_down = time.monotonic()
        seen = []
        while time.monotonic() - t_down < 2:
            for aor in busy:
                r = reg(aor, 700 + len(seen) % 100)
                seen.append(r.status)
                if r.status in (500, 503):
                    assert r.first("retry-after"), r.raw
        statuses = {s: seen.count(s) for s in set(seen)}
        assert set(seen) <= {500, 503}, f"answers while Redis was gone: {statuses}"
        # Back: sipd finds it by itself, within a few seconds.
        redis = Redis(tmp_path, port=redis.port)
        t_up = time.monotonic()
        recovered = None
        while recovered is None and time.monotonic() - t_up < 10:
            if reg(busy[0], 800).status == 200:
                recovered = time.monotonic() - t_up
            else:
                time.sleep(0.05)
        assert recovered is not None, "sipd did not recover within 10 s of Redis' return"
        for rnd in range(2):
            for aor in busy:
                assert reg(aor, 800 + rnd).status == 200
                n += 1
        print(f"\nredis outage: {len(seen)} REGISTERs answered {statuses} in 2 s without "
              f"Redis; recovered {recovered * 1000:.0f} ms after its return; "
              f"{n + len(still) + len(busy)} acknowledged")

        # Every binding as acknowledged, through sipd and in Redis.
        stored = {}
        for b in reg_list(dsn):
            stored.setdefault(b["aor"], []).append(b)
        for aor in still + busy:
            expires, t_ack = acked[aor]
            age = time.monotonic() - t_ack
            want = sorted(c.split(";")[0].strip("<>") for c in contacts(aor))
            r = register(node, ua, aor, call_id=f"{aor}-query", cseq=1)
            assert r.status == 200, r.raw
            got = sorted(v.split(">")[0].lstrip("<") for v in r.get("contact"))
            assert got == want, f"{aor}: sipd serves {got}, acknowledged {want}"
            for v in r.get("contact"):
                e = int(v.split("expires=")[1].split(";")[0])
                assert expires - age - 2 <= e <= expires, f"{aor}: {v} (acked {expires})"
            have = stored.get(aor, [])
            assert sorted(b["contact"].strip("<>") for b in have) == want, (aor, have)
            assert sorted(float(b.get("q", "1")) for b in have) == [0.1, 0.9], (aor, have)
            for b in have:
                assert expires - age - 2 <= b["expires"] <= expires, (aor, b)
        assert set(stored) == set(still + busy), set(stored) ^ set(still + busy)
    finally:
        ua.close()
        redis.stop()
