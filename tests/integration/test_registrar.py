"""The registrar's rules on the wire (RFC 3261 §10.3, RFC 3327, RFC 5626 §6),
with authentication off so that each rule is seen on its own; the
authentication rules are in test_auth.py."""
import re
import time

import pytest

from sip import Udp, request


def register(sipd, ua, contacts=(), expires=None, call_id="reg-1@test", cseq=1, extra=(),
             aor="sip:alice@example.com", ruri="sip:example.com"):
    hdrs = [f"Contact: {c}" for c in contacts]
    if expires is not None:
        hdrs.append(f"Expires: {expires}")
    msg = request("REGISTER", ruri, ua.local, extra=hdrs + list(extra), call_id=call_id,
                  cseq=cseq)
    # request() puts the Request-URI in To; a REGISTER's To is the AOR.
    msg = msg.replace(f"To: <{ruri}>".encode(), f"To: <{aor}>".encode())
    ua.send(msg, (sipd.host, sipd.port))
    r = ua.recv(3)
    assert r is not None, "no response to REGISTER"
    return r


def bindings(resp):
    """{uri: {param: value}} of the Contact values of a 200."""
    out = {}
    for v in resp.get("contact"):
        m = re.match(r"<([^>]*)>(.*)", v)
        assert m, v
        params = {}
        for p in m.group(2).split(";")[1:]:
            name, _, value = p.partition("=")
            params[name.strip().lower()] = value.strip()
        out[m.group(1)] = params
    return out


@pytest.fixture
def reg(sipd_factory):
    return sipd_factory("--auth", "off")


@pytest.fixture
def ua():
    u = Udp()
    yield u
    u.close()


def test_binds_one_contact_with_default_expiry_and_date(reg, ua):
    r = register(reg, ua, ["<sip:alice@192.0.2.1:5070>"])
    assert r.status == 200, r.raw
    b = bindings(r)
    assert list(b) == ["sip:alice@192.0.2.1:5070"]
    assert 3595 <= int(b["sip:alice@192.0.2.1:5070"]["expires"]) <= 3600
    assert r.first("date") and r.first("date").endswith("GMT")
    # The To tag makes the 200 a proper final response.
    assert "tag=" in r.first("to")


def test_several_contacts_with_q_and_query_lists_them(reg, ua):
    r = register(reg, ua, ["<sip:a@192.0.2.1>;q=0.5", "<sip:b@192.0.2.2>;q=1.0"], expires=600)
    assert r.status == 200, r.raw
    r = register(reg, ua, [], cseq=2)  # no Contact: a query
    assert r.status == 200
    b = bindings(r)
    assert set(b) == {"sip:a@192.0.2.1", "sip:b@192.0.2.2"}
    assert b["sip:a@192.0.2.1"]["q"] == "0.500"
    assert b["sip:b@192.0.2.2"]["q"] == "1.000"
    assert all(570 <= int(p["expires"]) <= 600 for p in b.values())


def test_contact_expires_param_wins_over_header_and_zero_removes(reg, ua):
    r = register(reg, ua, ["<sip:a@192.0.2.1>;expires=120", "<sip:b@192.0.2.2>"], expires=900)
    b = bindings(r)
    assert 110 <= int(b["sip:a@192.0.2.1"]["expires"]) <= 120
    assert 890 <= int(b["sip:b@192.0.2.2"]["expires"]) <= 900
    r = register(reg, ua, ["<sip:a@192.0.2.1>;expires=0"], cseq=2)
    assert r.status == 200
    assert list(bindings(r)) == ["sip:b@192.0.2.2"]


def test_equal_uris_per_19_1_4_update_one_binding(reg, ua):
    register(reg, ua, ["<sip:alice@HOST.example.org>"], expires=300)
    r = register(reg, ua, ["<sip:alice@host.example.org>"], expires=600, cseq=2)
    assert len(bindings(r)) == 1
    assert 590 <= int(list(bindings(r).values())[0]["expires"]) <= 600


def test_star_removes_all_and_misuse_is_400(reg, ua):
    register(reg, ua, ["<sip:a@192.0.2.1>", "<sip:b@192.0.2.2>"], expires=300)
    assert register(reg, ua, ["*"], expires=10, cseq=2).status == 400
    assert register(reg, ua, ["*", "<sip:c@192.0.2.3>"], expires=0, cseq=3).status == 400
    assert register(reg, ua, ["*"], cseq=4).status == 400  # no Expires header
    r = register(reg, ua, ["*"], expires=0, cseq=5)
    assert r.status == 200, r.raw
    assert r.get("contact") == []
    assert register(reg, ua, [], cseq=6).get("contact") == []


def test_too_short_is_423_with_min_expires_and_too_long_is_lowered(reg, ua):
    r = register(reg, ua, ["<sip:a@192.0.2.1>"], expires=30)
    assert r.status == 423
    assert r.first("min-expires") == "60"
    r = register(reg, ua, ["<sip:a@192.0.2.1>"], expires=999999, cseq=2)
    assert r.status == 200
    assert 3590 <= int(bindings(r)["sip:a@192.0.2.1"]["expires"]) <= 3600


def test_same_call_id_lower_or_equal_cseq_changes_nothing(reg, ua):
    register(reg, ua, ["<sip:a@192.0.2.1>"], expires=300, cseq=10)
    for cseq in (10, 9):
        r = register(reg, ua, ["<sip:a@192.0.2.1>"], expires=0, cseq=cseq)
        assert r.status == 500, r.raw
    r = register(reg, ua, [], cseq=11)
    assert list(bindings(r)) == ["sip:a@192.0.2.1"]
    # Another Call-ID with a lower CSeq is a different registration: it may.
    r = register(reg, ua, ["<sip:a@192.0.2.1>"], expires=0, cseq=1, call_id="other@test")
    assert r.status == 200 and r.get("contact") == []


def test_other_domain_is_403(reg, ua):
    r = register(reg, ua, ["<sip:a@192.0.2.1>"], aor="sip:alice@elsewhere.org",
                 ruri="sip:elsewhere.org")
    assert r.status == 403
    r = register(reg, ua, ["<sip:a@192.0.2.1>"], aor="sip:alice@elsewhere.org")
    assert r.status == 403


def test_malformed_contact_and_expires_are_400(reg, ua):
    assert register(reg, ua, ["<sip:a@192.0.2.1>;expires=soon"]).status == 400
    assert register(reg, ua, ["<sip:a@192.0.2.1>;q=2"]).status == 400
    assert register(reg, ua, ["<sip:a@192.0.2.1>"], expires="x").status == 400


def test_unknown_require_is_420(reg, ua):
    r = register(reg, ua, ["<sip:a@192.0.2.1>"], extra=["Require: foo"])
    assert r.status == 420
    assert r.first("unsupported") == "foo"


def test_path_is_stored_and_returned_when_supported(reg, ua):
    path = "<sip:edge.example.com;lr>"
    r = register(reg, ua, ["<sip:a@192.0.2.1>"], extra=[f"Path: {path}", "Supported: path"])
    assert r.status == 200
    assert r.get("path") == [path]
    # Without Supported: path the binding keeps it but the 200 does not echo it.
    r = register(reg, ua, ["<sip:b@192.0.2.2>"], extra=[f"Path: {path}"], cseq=2)
    assert r.status == 200 and r.get("path") == []


def test_instance_and_reg_id_replace_the_devices_own_binding(reg, ua):
    inst = '+sip.instance="<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"'
    extra = ["Supported: outbound, path"]
    r = register(reg, ua, [f"<sip:a@192.0.2.1:5060>;{inst};reg-id=1"], extra=extra)
    assert r.status == 200, r.raw
    assert "outbound" in (r.first("require") or "")
    # The device comes back from another address (a new Call-ID after a
    # reboot): the binding is replaced, not added.
    r = register(reg, ua, [f"<sip:a@192.0.2.9:6000>;{inst};reg-id=1"], extra=extra,
                 call_id="reboot@test")
    assert r.status == 200
    b = bindings(r)
    assert list(b) == ["sip:a@192.0.2.9:6000"]
    assert b["sip:a@192.0.2.9:6000"]["+sip.instance"].strip('"') == \
        "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"
    assert b["sip:a@192.0.2.9:6000"]["reg-id"] == "1"
    # A second flow of the same device (reg-id 2) is a second binding.
    r = register(reg, ua, [f"<sip:a@192.0.2.9:6001>;{inst};reg-id=2"], extra=extra,
                 call_id="reboot@test", cseq=2)
    assert len(bindings(r)) == 2


def test_reg_id_through_a_proxy_without_path_is_439(reg, ua):
    inst = '+sip.instance="<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"'
    r = register(reg, ua, [f"<sip:a@192.0.2.1>;{inst};reg-id=1"],
                 extra=["Supported: outbound",
                        "Via: SIP/2.0/UDP 192.0.2.50;branch=z9hG4bKproxy1"])
    assert r.status == 439


def test_bindings_expire_by_themselves(sipd_factory, ua):
    s = sipd_factory("--auth", "off", "--min-expires", "1")
    r = register(s, ua, ["<sip:a@192.0.2.1>;expires=1", "<sip:b@192.0.2.2>;expires=60"])
    assert len(bindings(r)) == 2
    time.sleep(2.5)
    r = register(s, ua, [], cseq=2)
    assert list(bindings(r)) == ["sip:b@192.0.2.2"]


def test_max_contacts_is_enforced(sipd_factory, ua):
    s = sipd_factory("--auth", "off", "--max-contacts", "2")
    assert register(s, ua, ["<sip:a@192.0.2.1>", "<sip:b@192.0.2.2>"]).status == 200
    r = register(s, ua, ["<sip:c@192.0.2.3>"], cseq=2)
    assert r.status == 403
    assert len(bindings(register(s, ua, [], cseq=3))) == 2


def test_retransmitted_register_gets_the_same_answer(reg, ua):
    msg = request("REGISTER", "sip:example.com", ua.local,
                  extra=["Contact: <sip:a@192.0.2.1>", "Expires: 300"])
    msg = msg.replace(b"To: <sip:example.com>", b"To: <sip:bob@example.com>")
    ua.send(msg, (reg.host, reg.port))
    first = ua.recv(3)
    ua.send(msg, (reg.host, reg.port))
    again = ua.recv(3)
    assert first.status == again.status == 200
    assert first.first("to") == again.first("to")
