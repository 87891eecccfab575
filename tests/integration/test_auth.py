"""Digest authentication of REGISTER on the wire (RFC 3261 §22, RFC 7616,
RFC 8760), with users made by sipctl in the same sqlite store sipd uses."""
import os
import subprocess
import time

import pytest

from conftest import RFC4475, SIPCTL
from sip import Tcp, Udp, digest_authorization, parse_challenge, request

PASSWORD = "s3cret-Pa55"


def sipctl(dsn, *args, password=None):
    return subprocess.run([SIPCTL, "--location", dsn, *args], input=password,
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def store(tmp_path):
    dsn = f"sqlite:{tmp_path}/auth.db"
    for user in ("alice", "bob"):
        r = sipctl(dsn, "user", "add", f"{user}@example.com", password=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
    return dsn


@pytest.fixture
def srv(sipd_factory, store):
    return sipd_factory("--location", store)


@pytest.fixture
def ua():
    u = Udp()
    yield u
    u.close()


def send_register(srv, ua, user="alice", cseq=1, call_id="auth-1@test", extra=(), expires=300):
    msg = request("REGISTER", "sip:example.com", ua.local, cseq=cseq, call_id=call_id,
                  extra=[f"Contact: <sip:{user}@192.0.2.1:5070>", f"Expires: {expires}",
                         *extra])
    msg = msg.replace(b"To: <sip:example.com>", f"To: <sip:{user}@example.com>".encode())
    ua.send(msg, (srv.host, srv.port))
    r = ua.recv(3)
    assert r is not None, "no response"
    return r


def challenges(resp):
    return [parse_challenge(v) for v in resp.get("www-authenticate")]


def test_no_credentials_get_sha256_and_md5_challenges(srv, ua):
    r = send_register(srv, ua)
    assert r.status == 401
    ch = challenges(r)
    assert [c["algorithm"] for c in ch] == ["SHA-256", "MD5"]
    for c in ch:
        assert c["scheme"] == "Digest"
        assert c["realm"] == "example.com"
        assert c["qop"] == "auth"
        assert len(c["nonce"]) >= 32
        assert "stale" not in c


@pytest.mark.parametrize("which", [0, 1], ids=["SHA-256", "MD5"])
def test_right_password_registers(srv, ua, which):
    ch = challenges(send_register(srv, ua))[which]
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "alice", PASSWORD)
    r = send_register(srv, ua, cseq=2, extra=[auth])
    assert r.status == 200, r.raw
    assert r.get("contact")


def test_wrong_password_and_unknown_user_are_refused(srv, ua):
    ch = challenges(send_register(srv, ua))[0]
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "alice", "wrong")
    assert send_register(srv, ua, cseq=2, extra=[auth]).status == 403
    ch = challenges(send_register(srv, ua, user="mallory", call_id="m@test"))[0]
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "mallory", PASSWORD)
    assert send_register(srv, ua, user="mallory", cseq=2, call_id="m@test",
                         extra=[auth]).status == 403


def test_user_must_own_the_aor(srv, ua):
    ch = challenges(send_register(srv, ua, user="alice"))[0]
    # bob's own, valid credentials, used to register alice's address
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "bob", PASSWORD)
    r = send_register(srv, ua, user="alice", cseq=2, extra=[auth])
    assert r.status == 403


def test_replayed_nonce_count_is_refused(srv, ua):
    ch = challenges(send_register(srv, ua))[0]
    a1 = digest_authorization(ch, "REGISTER", "sip:example.com", "alice", PASSWORD, nc=1)
    assert send_register(srv, ua, cseq=2, extra=[a1]).status == 200
    # The same nc again (a captured request replayed) is a replay...
    r = send_register(srv, ua, cseq=3, extra=[a1])
    assert r.status == 401
    assert challenges(r)[0].get("stale") == "true"
    # ...a higher one is the client's next request.
    a2 = digest_authorization(ch, "REGISTER", "sip:example.com", "alice", PASSWORD, nc=2)
    assert send_register(srv, ua, cseq=4, extra=[a2]).status == 200
    # Going back to 1 is refused too.
    assert send_register(srv, ua, cseq=5, extra=[a1]).status == 401


def test_forged_nonce_is_challenged_not_stale(srv, ua):
    ch = challenges(send_register(srv, ua))[0]
    ch["nonce"] = ch["nonce"][:-4] + ("0000" if not ch["nonce"].endswith("0000") else "1111")
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "alice", PASSWORD)
    r = send_register(srv, ua, cseq=2, extra=[auth])
    assert r.status == 401
    assert "stale" not in challenges(r)[0]


def test_credentials_for_another_uri_are_400(srv, ua):
    ch = challenges(send_register(srv, ua))[0]
    auth = digest_authorization(ch, "REGISTER", "sip:other.example.com", "alice", PASSWORD)
    assert send_register(srv, ua, cseq=2, extra=[auth]).status == 400


def test_expired_nonce_is_stale(sipd_factory, store, ua):
    srv = sipd_factory("--location", store, "--nonce-ttl", "5")
    ch = challenges(send_register(srv, ua))[0]
    time.sleep(6.2)
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "alice", PASSWORD)
    r = send_register(srv, ua, cseq=2, extra=[auth])
    assert r.status == 401
    assert challenges(r)[0].get("stale") == "true"


def test_a_burst_of_failures_is_slowed_down(srv, ua):
    statuses = []
    for i in range(14):
        ch = challenges(send_register(srv, ua, cseq=2 * i + 1))[0]
        auth = digest_authorization(ch, "REGISTER", "sip:example.com", "alice", "guess%d" % i)
        statuses.append(send_register(srv, ua, cseq=2 * i + 2, extra=[auth]))
    codes = [r.status for r in statuses]
    assert codes[:10] == [403] * 10, codes
    assert set(codes[10:]) == {503}, codes
    assert statuses[-1].first("retry-after")
    # Even the right password waits out the window.
    ch = challenges(send_register(srv, ua, cseq=100))[0]
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "alice", PASSWORD)
    assert send_register(srv, ua, cseq=101, extra=[auth]).status == 503


def test_user_added_while_running_can_register(srv, store, ua):
    r = sipctl(store, "user", "add", "carol@example.com", password="pw-carol\n")
    assert r.returncode == 0, r.stderr
    ch = challenges(send_register(srv, ua, user="carol", call_id="c@test"))[0]
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "carol", "pw-carol")
    assert send_register(srv, ua, user="carol", cseq=2, call_id="c@test",
                         extra=[auth]).status == 200


def test_sipctl_users_and_reg_list(srv, store, ua):
    out = sipctl(store, "user", "list").stdout.split()
    assert out == ["alice@example.com", "bob@example.com"]
    ch = challenges(send_register(srv, ua))[0]
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "alice", PASSWORD)
    assert send_register(srv, ua, cseq=2, extra=[auth]).status == 200
    r = sipctl(store, "reg", "list")
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if "sip:alice@192.0.2.1:5070" in ln]
    assert line and line[0].startswith("sip:alice@example.com\t")
    left = int(line[0].split("expires=")[1].split()[0])
    assert 290 <= left <= 300
    assert sipctl(store, "reg", "list", "alice@example.com").returncode == 0
    assert sipctl(store, "reg", "list", "nobody@example.com").returncode == 1
    # passwd changes what works; del removes the user.
    assert sipctl(store, "user", "passwd", "alice@example.com",
                  password="new-pw\n").returncode == 0
    ch = challenges(send_register(srv, ua, cseq=3))[0]
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "alice", PASSWORD)
    assert send_register(srv, ua, cseq=4, extra=[auth]).status == 403
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "alice", "new-pw", nc=2)
    assert send_register(srv, ua, cseq=5, extra=[auth]).status == 200
    assert sipctl(store, "user", "del", "bob@example.com").returncode == 0
    assert sipctl(store, "user", "list").stdout.split() == ["alice@example.com"]
    assert sipctl(store, "user", "del", "bob@example.com").returncode == 1
    # The store holds HA1 hashes, never the password.
    with open(store[len("sqlite:"):], "rb") as f:
        assert b"new-pw" not in f.read()


def test_unknown_scheme_is_challenged_in_digest(srv):
    # RFC 4475 regaut01: an Authorization in a scheme nobody knows; a
    # registrar that authenticates answers with a challenge it knows.
    with open(os.path.join(RFC4475, "regaut01.dat"), "rb") as f:
        data = f.read()
    # Sent over TCP as its Via says; the answer comes back on the connection.
    c = Tcp((srv.host, srv.port))
    c.send(data)
    r = c.recv(3)
    c.close()
    assert r is not None and r.status == 401
    assert [ch["scheme"] for ch in challenges(r)] == ["Digest", "Digest"]


def test_md5_only_for_phones_that_refuse_sha256(sipd_factory, store, ua):
    srv = sipd_factory("--location", store, "--auth-algorithms", "MD5")
    r = send_register(srv, ua)
    assert [c["algorithm"] for c in challenges(r)] == ["MD5"]
    auth = digest_authorization(challenges(r)[0], "REGISTER", "sip:example.com", "alice",
                                PASSWORD)
    assert send_register(srv, ua, cseq=2, extra=[auth]).status == 200


def test_bad_algorithm_list_is_refused_at_start(tmp_path):
    import subprocess as sp
    from conftest import SIPD
    r = sp.run([SIPD, "--auth-algorithms", "MD5,RC4"], capture_output=True, text=True,
               timeout=10)
    assert r.returncode == 2 and "--auth-algorithms" in r.stderr


def test_strangers_are_challenged_before_the_expiry_rules(srv, ua):
    # §10.3: authentication (step 3) precedes the contact checks (step 6).
    assert send_register(srv, ua, expires=10).status == 401
    ch = challenges(send_register(srv, ua, expires=10))[0]
    auth = digest_authorization(ch, "REGISTER", "sip:example.com", "alice", PASSWORD)
    r = send_register(srv, ua, cseq=2, extra=[auth], expires=10)
    assert r.status == 423 and r.first("min-expires") == "60"


def test_auth_off_warns_at_start(sipd_factory):
    s = sipd_factory("--auth", "off")
    assert "authentication is off" in s.text()
