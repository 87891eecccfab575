"""sipd's admin HTTP server (--http): /metrics and the JSON API follow the
traffic SIPp sends through sipd on loopback (REGISTERs, proxied calls); the
user operations (the same as `sipctl user`) work and need the credentials
when they are configured; a call's recorded messages come back in order.

SIPp callers and callees run in directories of their own and are stopped
by their handles; sipd is stopped by the fixture."""
import subprocess
from urllib.parse import quote

import pytest

from admin import metric, start
from conftest import SIPD
from peers import Sipp, register_binding, run_sipp, sipctl, write_injection

REGS = 12
CALLS = 5


def sipp_register(srv, tmp_path, users):
    inf = write_injection(tmp_path / "users.csv", [[u] for u in users])
    r = run_sipp(srv, "register_noauth.xml", "u1", tmp_path / "sipp-reg", len(users), inf)
    assert r.rc == 0, f"sipp: {r.errors[-1500:]}\n--- sipd ---\n{srv.text()[-1500:]}"
    return r


def sipp_calls(srv, tmp_path, count, uas_args=(), rate=10):
    """count calls from a SIPp caller through sipd to a SIPp callee registered
    as bob@example.com; returns (caller, callee) once both are done."""
    bob = Sipp("proxy_uas.xml", tmp_path / "bob", count=count, args=uas_args, timeout=20)
    try:
        r = register_binding(srv, "sip:bob@example.com", [f"<sip:bob@127.0.0.1:{bob.port}>"])
        assert r.status == 200, r.start
        caller = Sipp("proxy_uac.xml", tmp_path / "caller", count=count,
                      remote=f"{srv.host}:{srv.port}", timeout=20,
                      args=["-s", "bob", "-key", "caller", "alice@example.com", "-r", str(rate)])
        try:
            assert caller.wait() == 0, caller.report() + srv.text()[-2000:]
            assert bob.wait() == 0, bob.report()
        finally:
            caller.stop()
    finally:
        bob.stop()
    return caller, bob


def label(m):
    """INVITE, ACK, BYE ... or "180 INVITE" (a response with its CSeq method)."""
    first = m["first_line"]
    if first.startswith("SIP/2.0 "):
        cseq = [ln for ln in m["text"].split("\r\n") if ln.lower().startswith("cseq:")][0]
        return f"{first.split()[1]} {cseq.split()[-1]}"
    return first.split()[0]


def test_metrics_and_api_follow_register_traffic(sipd_factory, tmp_path):
    srv, admin = start(sipd_factory, "--auth", "off")
    m = admin.metrics()
    assert metric(m, "sipd_requests_received_total", method="REGISTER") == 0
    assert metric(m, "sipd_bindings") == 0

    users = [f"user{i}" for i in range(1, REGS + 1)]
    r = sipp_register(srv, tmp_path, users)

    m = admin.metrics()
    assert metric(m, "sipd_requests_received_total", method="REGISTER") == REGS
    assert metric(m, "sipd_responses_sent_total", method="REGISTER", **{"class": "2xx"}) == REGS
    assert metric(m, "sipd_bindings") == REGS
    assert metric(m, "sipd_aors") == REGS
    # Every binding went through the store: its latency histogram counts them.
    assert metric(m, "sipd_store_update_seconds_count") == REGS
    assert metric(m, "sipd_store_update_seconds_bucket", le="+Inf") == REGS
    assert metric(m, "sipd_parse_errors_total") == 0
    assert metric(m, "process_resident_memory_bytes") > 1 << 20
    assert metric(m, "process_cpu_seconds_total") >= 0

    regs = admin.json("/api/registrations")
    assert sorted(b["aor"] for b in regs) == sorted(f"sip:{u}@example.com" for u in users)
    for b in regs:
        user = b["aor"][4:].split("@")[0]
        assert b["contact"] == f"sip:{user}@127.0.0.1:{r.port};transport=UDP", b
        assert 590 <= b["expires"] <= 600, b
        assert b["user_agent"] == "SIPp register_noauth", b
        assert b["received"].startswith("udp:127.0.0.1:"), b
    one = admin.json("/api/registrations?aor=user3@example.com")
    assert [b["aor"] for b in one] == ["sip:user3@example.com"]
    assert admin.json("/api/registrations?aor=sip:nobody@example.com") == []
    admin.json("/api/registrations?aor=%3C%3E", want=400)

    stats = admin.json("/api/stats")
    assert stats["bindings"] == REGS and stats["aors"] == REGS
    assert stats["requests_received_by_method"]["REGISTER"] == REGS
    assert stats["responses_sent_by_class"]["REGISTER 2xx"] == REGS
    assert stats["store_updates"] == REGS


def test_metrics_and_calls_follow_proxied_calls(sipd_factory, tmp_path):
    srv, admin = start(sipd_factory, "--auth", "off")
    caller, bob = sipp_calls(srv, tmp_path, CALLS)

    m = admin.metrics()
    assert metric(m, "sipd_calls_total") == CALLS
    assert metric(m, "sipd_calls_active") == 0
    assert metric(m, "sipd_requests_received_total", method="INVITE") >= CALLS
    assert metric(m, "sipd_requests_sent_total", method="INVITE") >= CALLS
    assert metric(m, "sipd_requests_received_total", method="BYE") >= CALLS
    assert metric(m, "sipd_requests_sent_total", method="ACK") >= CALLS
    assert metric(m, "sipd_responses_received_total", method="INVITE", **{"class": "2xx"}) >= CALLS
    assert metric(m, "sipd_responses_sent_total", method="INVITE", **{"class": "1xx"}) >= 2 * CALLS
    assert metric(m, "sipd_responses_sent_total", method="BYE", **{"class": "2xx"}) >= CALLS
    assert metric(m, "sipd_calls_per_second") > 0
    assert metric(m, "sipd_retransmissions_total") >= 0

    calls = admin.json("/api/calls")
    assert len(calls) == CALLS
    ids = {c["call_id"] for c in calls}
    assert ids == {msg.call_id for msg in caller.sent("INVITE")}
    for c in calls:
        assert c["state"] == "ended", c
        assert c["from"] == "sip:alice@example.com", c
        assert c["to"] == "sip:bob@example.com", c
        assert c["answered"] and c["end"] and c["end"] >= c["answered"] >= c["start"], c
        assert c["duration"] > 0, c
    assert admin.json("/api/calls?active=1") == []
    assert admin.json("/api/stats")["calls_total"] == CALLS

    # One call's messages, as sipd received (in) and sent (out) them.
    cid = calls[-1]["call_id"]
    got = admin.json(f"/api/calls/{urlquote(cid)}/messages")
    assert got["call"]["call_id"] == cid
    msgs = got["messages"]
    order = []
    for m in msgs:
        if label(m) not in order:
            order.append(label(m))
    assert order == ["INVITE", "100 INVITE", "180 INVITE", "200 INVITE", "ACK", "BYE",
                     "200 BYE"], [(m["dir"], m["first_line"]) for m in msgs]
    times = [m["time"] for m in msgs]
    assert times == sorted(times)
    sipd_addr = f"127.0.0.1:{srv.port}"
    legs = {(m["dir"], label(m), m["src"], m["dst"]) for m in msgs}
    caller_addr, bob_addr = f"127.0.0.1:{caller.port}", f"127.0.0.1:{bob.port}"
    for leg in [("in", "INVITE", caller_addr, sipd_addr), ("out", "100 INVITE", sipd_addr, caller_addr),
                ("out", "INVITE", sipd_addr, bob_addr), ("in", "180 INVITE", bob_addr, sipd_addr),
                ("out", "180 INVITE", sipd_addr, caller_addr), ("in", "200 INVITE", bob_addr, sipd_addr),
                ("out", "200 INVITE", sipd_addr, caller_addr), ("in", "ACK", caller_addr, sipd_addr),
                ("out", "ACK", sipd_addr, bob_addr), ("in", "BYE", caller_addr, sipd_addr),
                ("out", "BYE", sipd_addr, bob_addr), ("in", "200 BYE", bob_addr, sipd_addr),
                ("out", "200 BYE", sipd_addr, caller_addr)]:
        assert leg in legs, (leg, sorted(legs))
    invite = [m for m in msgs if m["dir"] == "out" and label(m) == "INVITE"][0]
    assert invite["first_line"] == f"INVITE sip:bob@127.0.0.1:{bob.port} SIP/2.0"
    assert "\r\nRecord-Route: " in invite["text"] and "\r\n\r\nv=0\r\n" in invite["text"]
    admin.json("/api/calls/no-such-call/messages", want=404)


def urlquote(s):
    return quote(s, safe="")


def test_users_api_needs_the_token_and_works_like_sipctl(sipd_factory, tmp_path):
    dsn = f"sqlite:{tmp_path}/location.db"
    srv, admin = start(sipd_factory, "--location", dsn, "--auth-algorithms", "MD5")

    # Without credentials, with wrong ones: 401 and a challenge, for every path.
    for path in ["/api/users", "/metrics", "/api/stats", "/api/registrations", "/api/calls"]:
        status, headers, _ = admin.request("GET", path, auth=None)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer"), path
        status, _, _ = admin.request("GET", path, auth=("bearer", "wrong"))
        assert status == 401, path
    status, _, _ = admin.request("POST", "/api/users", {"user": "eve@example.com",
                                                        "password": "x"}, auth=None)
    assert status == 401
    assert "eve@example.com" not in sipctl(dsn, "user", "list").stdout
    # The dashboard page itself holds no data and loads without them.
    status, headers, page = admin.request("GET", "/", auth=None)
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"sipd" in page

    assert admin.json("/api/users") == []
    got = admin.json("/api/users", "POST", {"user": "alice@Example.com", "password": "Wonder-1"},
                     want=201)
    assert got == {"user": "alice@example.com"}
    admin.json("/api/users", "POST", {"user": "alice@example.com", "password": "x"}, want=409)
    admin.json("/api/users", "POST", {"user": "bob", "password": "Builder-2"}, want=201)
    admin.json("/api/users", "POST", {"user": "carol@example.com"}, want=400)
    admin.json("/api/users", "POST", b"{not json", want=400)
    users = admin.json("/api/users")
    assert [u["aor"] for u in users] == ["sip:alice@example.com", "sip:bob@example.com"]
    # The same store as sipctl's, with the same HA1s: digest REGISTERs pass.
    assert sipctl(dsn, "user", "list").stdout.split() == ["alice@example.com",
                                                         "bob@example.com"]
    r = register_binding(srv, "sip:alice@example.com", ["<sip:alice@127.0.0.1:5999>"],
                         user="alice", password="Wonder-1")
    assert r.status == 200, r.start
    before = metric(admin.metrics(), "sipd_auth_failures_total")
    r = register_binding(srv, "sip:bob@example.com", ["<sip:bob@127.0.0.1:5998>"],
                         user="bob", password="wrong")
    assert r.status == 403, r.start
    assert metric(admin.metrics(), "sipd_auth_failures_total") == before + 1

    # A new password (PUT), then the user deleted.
    admin.json("/api/users/bob@example.com", "PUT", {"password": "Builder-3"})
    r = register_binding(srv, "sip:bob@example.com", ["<sip:bob@127.0.0.1:5998>"],
                         user="bob", password="Builder-3")
    assert r.status == 200, r.start
    admin.json("/api/users/nobody@example.com", "PUT", {"password": "x"}, want=404)
    assert admin.json("/api/users/alice@example.com", "DELETE") == {"deleted": "alice@example.com"}
    admin.json("/api/users/alice@example.com", "DELETE", want=404)
    assert [u["aor"] for u in admin.json("/api/users")] == ["sip:bob@example.com"]
    assert sipctl(dsn, "user", "list").stdout.split() == ["bob@example.com"]
    # Names beyond ASCII, escaped in JSON both ways and in the path.
    admin.json("/api/users", "POST", b'{"user": "d\\u00e9j\\u00e0@example.com", "password": "p\\"w"}',
               want=201)
    assert "sip:d\u00e9j\u00e0@example.com" in [u["aor"] for u in admin.json("/api/users")]
    admin.json("/api/users/" + urlquote("d\u00e9j\u00e0@example.com"), "DELETE")
    admin.json("/api/users", "PATCH", want=405)
    admin.json("/api/nothing", want=404)


def test_basic_credentials(sipd_factory):
    srv, admin = start(sipd_factory, "--auth", "off", token=None, user="admin:S3cret")
    status, headers, _ = admin.request("GET", "/api/stats", auth=None)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm=\"sipd\"")
    assert admin.request("GET", "/api/stats", auth=("basic", "admin:wrong"))[0] == 401
    assert admin.request("GET", "/api/stats", auth=("bearer", "S3cret"))[0] == 401
    assert admin.request("GET", "/api/stats", auth=("basic", "admin:S3cret"))[0] == 200


def test_open_without_credentials_and_off_by_default(sipd_factory, sipd):
    srv, admin = start(sipd_factory, "--auth", "off", token=None)
    assert admin.request("GET", "/api/stats", auth=None)[0] == 200
    assert "admin HTTP on http://127.0.0.1:" in srv.text()
    assert "admin HTTP" not in sipd.text()  # the plain fixture: off


@pytest.mark.parametrize("value", ["", "localhost:8080", "127.0.0.1", "127.0.0.1:", "1.2.3.4:x",
                                   "::1:8080", "127.0.0.1:0", "99999"])
def test_bad_http_option(value):
    r = subprocess.run([SIPD, "--http", value, "--check-config"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2, (value, r.stdout, r.stderr)
    assert "--http" in r.stderr


def test_check_config_prints_http_keys(tmp_path):
    conf = tmp_path / "sipd.conf"
    conf.write_text("[sipd]\nhttp = 8080\nhttp-token = abc\nhttp-user = ops:pw\n")
    r = subprocess.run([SIPD, "-c", str(conf), "--check-config"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert "http = 8080\nhttp-token = abc\nhttp-user = ops:pw\n" in r.stdout
    r = subprocess.run([SIPD, "--http", "[::1]:9000", "--check-config"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0 and "http = [::1]:9000" in r.stdout, r.stderr
