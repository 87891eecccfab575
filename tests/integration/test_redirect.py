"""sipd --mode redirect (RFC 3261 §8.3, §21.3.3): a request for a user of
its domains is answered 302 with the user's bindings as Contacts, best q
first, each with the time it has left; nothing is forwarded. A SIPp
caller (scenarios/proxy_uac_302.xml) checks the 302 on the wire; raw
python requests check the rest. REGISTER and OPTIONS to the server work as
in proxy mode."""
import pytest

from peers import Sipp, add_users, register_binding
from sip import Udp, request
from test_proxy import OUTSIDER, PASSWORD, transact


@pytest.fixture
def dsn(tmp_path):
    return f"sqlite:{tmp_path}/location.db"


def contact_uri(sock, user="bob"):
    return f"sip:{user}@127.0.0.1:{sock.local[1]}"


def nothing_arrives(*socks):
    for s in socks:
        s.sock.settimeout(0.2)
        try:
            data, _ = s.sock.recvfrom(70000)
        except OSError:
            continue
        raise AssertionError(f"a redirect server forwarded something: {data[:200]!r}")


def contacts_of(resp):
    """[(uri, {param: value})] of a response's Contact header fields, in order."""
    out = []
    for h in resp.get("contact"):
        for v in h.split(","):
            uri, _, params = v.strip().partition(">")
            kv = dict(p.split("=", 1) for p in params.split(";") if "=" in p)
            out.append((uri.lstrip("<"), kv))
    return out


def test_302_lists_bindings_best_q_first_with_expires(sipd_factory, dsn, tmp_path):
    srv = sipd_factory("--mode", "redirect", "--auth", "off", "--location", dsn)
    low, high = Udp(), Udp()   # the bindings' addresses: nothing may reach them
    try:
        # The lower q registered first, with the longer lifetime.
        assert register_binding(srv, "sip:bob@example.com", [f"<{contact_uri(low)}>;q=0.5"],
                                expires=1200).status == 200
        assert register_binding(srv, "sip:bob@example.com", [f"<{contact_uri(high)}>;q=1.0"],
                                expires=600).status == 200
        caller = Sipp("proxy_uac_302.xml", tmp_path / "caller", count=2,
                      remote=f"{srv.host}:{srv.port}", timeout=10,
                      args=["-s", "bob", "-key", "caller", OUTSIDER, "-r", "10"])
        try:
            rc = caller.wait()
        finally:
            caller.stop()
        assert rc == 0, caller.report() + "\n--- sipd ---\n" + srv.text()[-3000:]
        got = caller.received(status=302)
        assert len(got) == 2
        for m in got:
            cs = contacts_of(m)
            assert [c[0] for c in cs] == [contact_uri(high), contact_uri(low)], m.raw
            assert cs[0][1]["q"] == "1.000" and cs[1][1]["q"] == "0.500", m.raw
            assert 590 <= int(cs[0][1]["expires"]) <= 600, m.raw
            # --max-expires 3600 by default: 1200 is kept.
            assert 1190 <= int(cs[1][1]["expires"]) <= 1200, m.raw
            assert "SIPpTag00" in m.first("from") and ";tag=" in m.first("to")
        # Non-INVITE requests are redirected too.
        r, _ = transact(srv, "OPTIONS", "sip:bob@example.com")
        assert r.status == 302, r
        assert [c[0] for c in contacts_of(r)] == [contact_uri(high), contact_uri(low)]
        nothing_arrives(low, high)
    finally:
        low.close()
        high.close()


def test_redirect_404_and_480(sipd_factory, dsn):
    add_users(dsn, ["carol@example.com"], PASSWORD)
    srv = sipd_factory("--mode", "redirect", "--auth", "off", "--location", dsn)
    for method in ("INVITE", "OPTIONS"):
        r, _ = transact(srv, method, "sip:nobody@example.com")
        assert r.status == 404, (method, r)
        r, _ = transact(srv, method, "sip:carol@example.com")   # a user, no bindings
        assert r.status == 480, (method, r)


def test_register_and_options_still_work_in_redirect_mode(sipd_factory, dsn):
    add_users(dsn, ["dave@example.com"], PASSWORD)
    srv = sipd_factory("--mode", "redirect", "--location", dsn,
                       "--auth-algorithms", "MD5")
    # REGISTER with digest authentication: 401, then 200 listing the binding.
    r = register_binding(srv, "sip:dave@example.com", ["<sip:dave@192.0.2.9>"],
                         password=PASSWORD)
    assert r.status == 200, r
    assert [c[0] for c in contacts_of(r)] == ["sip:dave@192.0.2.9"]
    # OPTIONS to the server itself: 200 with what it allows.
    ua = Udp()
    try:
        ua.send(request("OPTIONS", "sip:example.com", ua.local), (srv.host, srv.port))
        r = ua.recv(3)
        assert r is not None and r.status == 200, r
        assert "INVITE" in r.first("allow") and "REGISTER" in r.first("allow")
    finally:
        ua.close()
    # And the binding just made is what a caller is redirected to (an
    # outsider: not challenged, the target is a local user).
    r, _ = transact(srv, "INVITE", "sip:dave@example.com", frm=f"sip:{OUTSIDER}")
    assert r.status == 302, r
    assert [c[0] for c in contacts_of(r)] == ["sip:dave@192.0.2.9"]
