"""Two baresip 1.0 phones registering and calling each other through sipd
over TLS (RFC 3261 §26.2, RFC 5630), audio flowing both ways.

Alice's account is a sips: AOR, Bob's a sip: AOR with transport=tls, both
with sipd's TLS listener as outbound proxy (baresip 1.0 refuses a sips:
outbound URI, and dials no sips: URI: the Python tests of
test_tls_proxy.py send sips requests). baresip takes TLS only with a certificate of its
own (sip_certificate: the test's client certificate and key in one PEM)
and trusts the test CA (sip_cafile). Neither phone is reachable except
over the TLS connection it registered on, so each INVITE, ACK and BYE
that reaches a phone came down that connection (connection reuse, RFC
5626 / RFC 5923); sipd's log shows no other connection opened to them.
The calls are test_proxy_baresip.calls_both_ways(): each side decodes the
other's tone, and the BYE of either side ends the call on the other."""
import pytest

from conftest import free_port
from peers import BaresipPhone
from test_proxy_baresip import calls_both_ways
from tlsutil import Pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


def phone(tmp_path, pki, name, aor, outbound, freq):
    pem = tmp_path / f"{name}-cert.pem"
    with open(pem, "w") as f:
        for part in (pki.cert("client"), pki.key("client")):
            with open(part) as g:
                f.write(g.read())
    config = f"sip_certificate {pem}\nsip_cafile {pki.cert('ca')}\n"
    p = BaresipPhone(tmp_path / name, object(), aor, None, freq, outbound=outbound,
                     config=config)
    p.freq = freq
    return p


def test_two_baresip_phones_call_over_tls(sipd_factory, pki, tmp_path):
    port = free_port()
    srv = sipd_factory(*pki.sipd_args(port), "--auth", "off")
    alice = phone(tmp_path, pki, "alice", "sips:alice@example.com",
                  f"sip:127.0.0.1:{port};transport=tls",
                  440)
    try:
        bob = phone(tmp_path, pki, "bob", "sip:bob@example.com;transport=tls",
                    f"sip:127.0.0.1:{port};transport=tls", 1000)
    except Exception:
        alice.stop()
        raise
    # What each dials: baresip 1.0 cannot dial a sips: URI (it makes
    # "sip:sips:..." of it); a bare user@domain gets the account's scheme
    # and transport.
    alice.aor, bob.aor = "alice@example.com", "bob@example.com"
    calls_both_ways(alice, bob, srv)
    text = srv.text()
    # Only the phones' own connections: sipd never opened one to them.
    assert "transport: tls: connection " in text
    assert " to 127.0.0.1:" not in "".join(
        line for line in text.splitlines(True) if "transport: tls: connection " in line)
    assert "certificate refused" not in text
