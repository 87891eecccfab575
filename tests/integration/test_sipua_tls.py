"""sipua over TLS (issue 9): it registers with sipd over TLS, verifying
sipd's certificate against a CA file (--tls-ca), and calls another sipua
through sipd with audio; a sips: identity registers a sips: Contact; a
server whose certificate the CA did not sign is refused and nothing
reaches it; sips: without --tls-ca is a usage error. Certificates are made
by the test with the openssl command line (tlsutil.Pki)."""
import pytest

from audio import write_tone
from conftest import free_port
from peers import add_users, reg_list
from sipua import check_heard, reports, sipuas  # noqa: F401  (fixture)
from tlsutil import Pki

PASSWORD = "Tls-pw-9-sipd"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


def tls_srv(sipd_factory, pki, tmp_path, server="server"):
    dsn = f"sqlite:{tmp_path}/location.db"
    add_users(dsn, ["alice@example.com", "bob@example.com"], PASSWORD)
    port = free_port()
    srv = sipd_factory(*pki.sipd_args(port, server=server), "--auth", "on", "--location", dsn)
    srv.tls_port, srv.dsn = port, dsn
    return srv


def ident(srv, pki, user, scheme="sip"):
    return ["--user", f"{scheme}:{user}@example.com", "--password", PASSWORD,
            "--proxy", f"sip:127.0.0.1:{srv.tls_port};transport=tls", "--tls-ca",
            pki.cert("ca")]


def test_register_and_call_over_tls(sipd_factory, pki, tmp_path, sipuas):
    srv = tls_srv(sipd_factory, pki, tmp_path)
    tone = write_tone(tmp_path / "tone.wav", 10)
    bob = sipuas("bob", "answer", options=[*ident(srv, pki, "bob"), "--auto", "--max-calls", 1,
                                           "--record", tmp_path / "bob.wav"])
    ev = bob.wait_event("registered", 5)
    assert ev.get("contact", "").endswith(";transport=tls>"), (ev, reports(bob, srv=srv))
    b = reg_list(srv.dsn, "sip:bob@example.com")
    assert len(b) == 1 and "transport=tls" in b[0]["contact"], b
    alice = sipuas("alice", "call", "sip:bob@example.com",
                   options=[*ident(srv, pki, "alice"), "--play", tone, "--duration", 3])
    alice.wait_event("answered", 8)
    end = alice.wait_event("ended", 10)
    assert end.get("cause") == "local-bye" and end.get("status") == 200, \
        (end, reports(alice, bob, srv=srv))
    bob.wait_event("ended", 5)
    assert alice.wait_exit(5) == 0 and bob.wait_exit(5) == 0, reports(alice, bob, srv=srv)
    check_heard(tmp_path / "bob.wav", end, alice, bob)
    text = srv.text()
    # Every SIP message of both went over TLS: sipd saw no UDP from them.
    assert "TLS" in text and f"UDP 127.0.0.1:{alice.port}" not in text


def test_sips_identity_registers_a_sips_contact(sipd_factory, pki, tmp_path, sipuas):
    srv = tls_srv(sipd_factory, pki, tmp_path)
    ua = sipuas("alice", "register",
                options=[*ident(srv, pki, "alice", scheme="sips"), "--duration", 1])
    ev = ua.wait_event("registered", 5)
    assert ev.get("aor") == "sips:alice@example.com", (ev, reports(ua, srv=srv))
    assert ev.get("contact", "").startswith("<sips:alice@"), ev
    ua.wait_event("unregistered", 5)
    assert ua.wait_exit(5) == 0, reports(ua, srv=srv)


def test_untrusted_server_certificate_refused(sipd_factory, pki, tmp_path, sipuas):
    srv = tls_srv(sipd_factory, pki, tmp_path, server="rogue-server")
    # The refused handshake fails the REGISTER at once (503), not by
    # timer F 32 s later.
    ua = sipuas("alice", "register", options=ident(srv, pki, "alice"))
    ev = ua.wait_event("register_failed", 3)
    assert ev.get("status") == 503, (ev, reports(ua, srv=srv))
    assert ua.wait_exit(5) == 1, reports(ua, srv=srv)
    assert reg_list(srv.dsn, "sip:alice@example.com") == []
    assert "REGISTER" not in srv.text(), "nothing reached the untrusted server"


def test_sips_without_a_ca_is_a_usage_error(sipuas, tmp_path):
    ua = sipuas("alice", "options", "sips:127.0.0.1:5061")
    assert ua.wait_exit(5) == 1 or ua.returncode in (1, 2), reports(ua)
    assert "--tls-ca" in ua.stderr(), reports(ua)
