"""sipctl through sipd's admin API (--http, or `http` in the config file
given with -c): users, registrations (a removal reaches the running sipd's
memory, which the store alone cannot), calls, counters and the trace of a
user's calls; the credentials it needs; and the commands that need the API
refused without it."""
import subprocess

from admin import TOKEN, start
from conftest import SIPCTL
from peers import register_binding
from test_http_api import sipp_calls
from test_registrar import register
from sip import Udp


def ctl(*args, password=None, timeout=30):
    return subprocess.run([SIPCTL, *args], input=password, capture_output=True, text=True,
                          timeout=timeout)


def api_args(admin, token=TOKEN):
    port = admin.base.rsplit(":", 1)[1]
    return ["--http", f"127.0.0.1:{port}"] + (["--token", token] if token else [])


def test_users_and_registrations_through_the_api(sipd_factory, tmp_path):
    store = f"sqlite:{tmp_path / 'loc.db'}"
    srv, admin = start(sipd_factory, "--location", store, "--auth", "off")
    a = api_args(admin)

    r = ctl(*a, "user", "add", "carol@example.com", password="pw-carol\n")
    assert r.returncode == 0, r.stderr
    r = ctl(*a, "user", "add", "carol@example.com", password="pw-carol\n")
    assert r.returncode == 1 and "409" in r.stderr, r
    assert ctl(*a, "user", "passwd", "carol@example.com", password="pw-2\n").returncode == 0
    assert "carol@example.com" in ctl(*a, "user", "list").stdout.split()
    # The same store, read directly, has her too.
    assert "carol@example.com" in ctl("--location", store, "user", "list").stdout.split()
    assert ctl(*a, "user", "del", "carol@example.com").returncode == 0
    r = ctl(*a, "user", "del", "carol@example.com")
    assert r.returncode == 1 and "404" in r.stderr, r

    ua = Udp()
    try:
        for c in ("sip:dave@127.0.0.1:5091", "sip:dave@127.0.0.1:5092"):
            resp = register(srv, ua, [f"<{c}>"], expires=600, aor="sip:dave@example.com",
                            call_id=f"reg-{c[-4:]}")
            assert resp.status == 200, resp
        lines = ctl(*a, "reg", "list", "sip:dave@example.com").stdout.splitlines()
        assert len(lines) == 2 and all(l.startswith("sip:dave@example.com\t") for l in lines)
        assert all("\texpires=" in l and "\treceived=" in l for l in lines), lines

        # One binding, then the rest: gone from the running sipd (a query
        # REGISTER answers from its memory), not only from the file.
        r = ctl(*a, "reg", "remove", "dave@example.com", "sip:dave@127.0.0.1:5091")
        assert r.returncode == 0, r.stderr
        resp = register(srv, ua, [], aor="sip:dave@example.com", call_id="q1")
        assert [c for c in resp.get("contact")] and \
            not any("5091" in c for c in resp.get("contact")), resp.get("contact")
        assert ctl(*a, "reg", "remove", "sip:dave@example.com").returncode == 0
        resp = register(srv, ua, [], aor="sip:dave@example.com", call_id="q2")
        assert resp.status == 200 and resp.get("contact") == [], resp.get("contact")
        r = ctl(*a, "reg", "remove", "sip:dave@example.com")
        assert r.returncode == 1 and "404" in r.stderr, r
        r = ctl(*a, "reg", "list", "sip:dave@example.com")
        assert r.returncode == 1 and "no bindings" in r.stderr
    finally:
        ua.close()


def test_calls_stats_and_trace(sipd_factory, tmp_path):
    srv, admin = start(sipd_factory, "--auth", "off")
    sipp_calls(srv, tmp_path, 3)
    a = api_args(admin)

    r = ctl(*a, "calls")
    assert r.returncode == 0, r.stderr
    rows = r.stdout.splitlines()[1:]
    assert len(rows) == 3 and all(" ended " in x and "sip:alice@example.com" in x for x in rows)
    r = ctl(*a, "calls", "--active")
    assert r.returncode == 0 and r.stdout.splitlines()[1:] == []

    stats = dict(line.split(None, 1) for line in ctl(*a, "stats").stdout.splitlines())
    assert stats["calls_total"].strip() == "3", stats

    r = ctl(*a, "trace", "bob@example.com")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert sum(l.startswith("call ") for l in out) == 3, out
    # "  TIME DIR PROTO SRC -> DST FIRST-LINE"
    first = [l.split(None, 6)[-1] for l in out[1:] if not l.startswith("call ")][:20]
    firsts = [f.split()[0] if not f.startswith("SIP/2.0") else f.split()[1] for f in first]
    # The first call, in order: INVITE in, 100 out, INVITE out, 180 ... BYE.
    assert firsts[:3] == ["INVITE", "100", "INVITE"], out[:8]
    assert "BYE" in firsts and "ACK" in firsts, out
    r = ctl(*a, "trace", "nobody@example.com")
    assert r.returncode == 1 and "no recent calls" in r.stderr
    # Not a prefix match: bob@example.com.evil is another user.
    assert ctl(*a, "trace", "bob@example.co").returncode == 1


def test_credentials_and_config_file(sipd_factory, tmp_path):
    srv, admin = start(sipd_factory, "--auth", "off")
    port = admin.base.rsplit(":", 1)[1]
    r = ctl(*api_args(admin, token=None), "stats")
    assert r.returncode == 1 and "401" in r.stderr, r
    r = ctl(*api_args(admin, token="wrong"), "stats")
    assert r.returncode == 1 and "401" in r.stderr, r

    conf = tmp_path / "sipd.conf"
    conf.write_text(f"[sipd]\nhttp = 127.0.0.1:{port}\nhttp-token = {TOKEN}\n"
                    "domain = example.com\n")
    r = ctl("-c", str(conf), "stats")
    assert r.returncode == 0 and "calls_total" in r.stdout, r
    # The command line overrides the file.
    r = ctl("-c", str(conf), "--token", "wrong", "stats")
    assert r.returncode == 1 and "401" in r.stderr


def test_api_only_commands_need_the_api(tmp_path):
    for cmd in (["calls"], ["stats"], ["trace", "bob@example.com"]):
        r = ctl("--location", "memory:", *cmd)
        assert r.returncode == 2 and "needs sipd's admin API" in r.stderr, (cmd, r)
    r = ctl("--http", "127.0.0.1:9", "stats")  # nothing listens there
    assert r.returncode == 1 and "sipctl: GET" in r.stderr, r
    r = ctl("-c", str(tmp_path / "missing.conf"), "stats")
    assert r.returncode == 2 and "cannot open" in r.stderr
