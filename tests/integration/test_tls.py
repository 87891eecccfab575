"""SIP over TLS (RFC 3261 §26.2, RFC 5630) with certificates the test makes
with the openssl command line: OPTIONS and REGISTER from a Python TLS
client, TCP's framing rules on a TLS stream, a server certificate the
client does not trust, client certificates checked with
--tls-verify-client on, and sipsak over TLS."""
import os
import shutil
import ssl
import subprocess
import time

import pytest

import sip
from conftest import free_port
from tlsutil import Pki, Tls


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


def tls_sipd(sipd_factory, pki, *extra, **kw):
    port = free_port()
    s = sipd_factory(*pki.sipd_args(port, **kw), "--auth", "off", *extra)
    s.tls_port = port
    wait_tls(s)
    return s


def wait_log(s, text):
    deadline = time.monotonic() + 5
    while text not in s.text():
        assert time.monotonic() < deadline, s.text()
        time.sleep(0.02)


def wait_tls(s):
    wait_log(s, "listening on TLS")


def options(s, c, cseq=1, body=b""):
    extra = ["Content-Type: text/plain"] if body else []
    return sip.request("OPTIONS", f"sip:{s.host}:{s.tls_port}", c.local, transport="TLS",
                       cseq=cseq, body=body, extra=extra)


def register(c, user="alice", contact=None, expires=600, cseq=1, transport="TLS"):
    contact = contact or f"<sip:{user}@{c.local[0]}:{c.local[1]};transport=tls>"
    msg = sip.request("REGISTER", "sip:example.com", c.local, transport=transport, cseq=cseq,
                      extra=[f"Contact: {contact}", f"Expires: {expires}"],
                      call_id=f"reg-{user}-{c.local[1]}")
    # request() puts the Request-URI in To; a REGISTER's To is the AOR.
    return msg.replace(b"To: <sip:example.com>", f"To: <sip:{user}@example.com>".encode())


def test_options_and_register_over_tls(sipd_factory, pki):
    s = tls_sipd(sipd_factory, pki)
    c = Tls(("127.0.0.1", s.tls_port), pki.client_context())
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    c.send(options(s, c))
    r = c.recv()
    assert r is not None and r.status == 200, s.text()[-2000:]
    c.send(register(c))
    r = c.recv()
    assert r is not None and r.status == 200, s.text()[-2000:]
    assert any("transport=tls" in v for v in r.get("contact")), r.raw


def test_framing_as_tcp(sipd_factory, pki):
    """Split, pipelined and keep-alive, as test_tcp.py does over TCP."""
    s = tls_sipd(sipd_factory, pki)
    c = Tls(("127.0.0.1", s.tls_port), pki.client_context())
    msg = options(s, c, body=b"hello, world")
    for i in range(0, len(msg), 50):
        c.send(msg[i:i + 50])
        time.sleep(0.005)
    assert c.recv().status == 200
    c.send(b"".join(options(s, c, cseq=n) for n in range(1, 6)))
    seen = sorted(int(c.recv().first("cseq").split()[0]) for _ in range(5))
    assert seen == [1, 2, 3, 4, 5]
    c.send(b"\r\n\r\n")
    c.sock.settimeout(2)
    assert c.sock.recv(16) == b"\r\n"


def test_idle_timeout_and_size_limit_as_tcp(sipd_factory, pki):
    """--tcp-idle closes an idle TLS connection, a handshake never begun
    included; a message over --max-msg closes the connection (its
    framing is lost: 513 at most), and others are served."""
    import socket
    s = tls_sipd(sipd_factory, pki, "--tcp-idle", "300", "--max-msg", "2000")
    c = Tls(("127.0.0.1", s.tls_port), pki.client_context())
    silent = socket.create_connection(("127.0.0.1", s.tls_port))  # no ClientHello
    silent.settimeout(5)
    assert silent.recv(16) == b""  # closed by sipd
    silent.close()
    c.sock.settimeout(5)
    assert c.sock.recv(16) == b""
    big = Tls(("127.0.0.1", s.tls_port), pki.client_context())
    big.send(options(s, big, body=b"x" * 3000))
    r = big.recv(3)  # a 513 may make it out before the close
    assert r is None or r.status == 513
    assert big.recv(3) is None
    ok = Tls(("127.0.0.1", s.tls_port), pki.client_context())
    ok.send(options(s, ok))
    assert ok.recv().status == 200
    assert "message over max_msg" in s.text()


def test_certificate_renewed_on_sighup(sipd_factory, pki, tmp_path):
    """The certificate files are read again on SIGHUP: new connections get
    the renewed certificate, an open connection carries on; a broken
    file is refused and the certificate in use stays."""
    import shutil
    import signal
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(pki.cert("rogue-server"), cert)
    shutil.copy(pki.key("rogue-server"), key)
    port = free_port()
    s = sipd_factory("--listen", f"tls:127.0.0.1:{port}", "--tls-cert", str(cert),
                     "--tls-key", str(key), "--auth", "off")
    s.tls_port = port
    wait_tls(s)
    old = Tls(("127.0.0.1", port), pki.client_context(ca="rogue-ca"))
    with pytest.raises(ssl.SSLCertVerificationError):
        Tls(("127.0.0.1", port), pki.client_context())
    shutil.copy(pki.cert("server"), cert)
    shutil.copy(pki.key("server"), key)
    s.proc.send_signal(signal.SIGHUP)
    wait_log(s, "TLS certificate and CA files read again")
    c = Tls(("127.0.0.1", port), pki.client_context())
    c.send(options(s, c))
    assert c.recv().status == 200
    old.send(options(s, old))
    assert old.recv().status == 200
    key.write_text("not a key\n")
    s.proc.send_signal(signal.SIGHUP)
    wait_log(s, "TLS files refused")
    c = Tls(("127.0.0.1", port), pki.client_context())
    c.send(options(s, c))
    assert c.recv().status == 200


def test_handshake_bound_by_message_timeout(sipd_factory, pki):
    """A peer that opens a connection and dribbles (or never sends) its
    handshake is closed after --tcp-msg-timeout, as a slow message is,
    long before --tcp-idle."""
    import socket
    s = tls_sipd(sipd_factory, pki, "--tcp-msg-timeout", "1000", "--tcp-idle", "60000")
    silent = socket.create_connection(("127.0.0.1", s.tls_port))
    silent.sendall(b"\x16\x03\x01")  # the first bytes of a ClientHello, no more
    silent.settimeout(10)  # well before --tcp-idle: a timeout raises
    assert silent.recv(16) == b""
    silent.close()
    wait_log(s, "TLS handshake not completed in time")
    c = Tls(("127.0.0.1", s.tls_port), pki.client_context())
    c.send(options(s, c))
    assert c.recv().status == 200


def s_client(port, *args):
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
                       input="", capture_output=True, text=True, timeout=10)
    return r.stdout + r.stderr


def test_old_protocols_and_weak_ciphers_refused(sipd_factory, pki):
    """TLS 1.2+ only, and in 1.2 only forward-secret AEAD suites."""
    s = tls_sipd(sipd_factory, pki)
    out = s_client(s.tls_port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert "alert protocol version" in out, out
    out = s_client(s.tls_port, "-tls1_2", "-cipher", "AES128-SHA")
    assert "handshake failure" in out, out
    out = s_client(s.tls_port, "-tls1_2")
    assert "Cipher is ECDHE-ECDSA-AES128-GCM-SHA256" in out, out
    assert "unsupported protocol" in s.text() and "no shared cipher" in s.text()


def test_sni_any_name_served(sipd_factory, pki):
    """One certificate: served whatever name the client asks for."""
    s = tls_sipd(sipd_factory, pki)
    ctx = pki.client_context()
    c = Tls(("127.0.0.1", s.tls_port), ctx, server_hostname="localhost")
    c.send(options(s, c))
    assert c.recv().status == 200
    ctx.check_hostname = False
    c = Tls(("127.0.0.1", s.tls_port), ctx, server_hostname="other.example.org")
    c.send(options(s, c))
    assert c.recv().status == 200


def test_wrong_server_certificate_refused_by_client(sipd_factory, pki):
    s = tls_sipd(sipd_factory, pki, server="rogue-server")
    with pytest.raises(ssl.SSLCertVerificationError):
        Tls(("127.0.0.1", s.tls_port), pki.client_context())
    # and a client that trusts the right CA still gets nothing else:
    # sipd keeps serving the others
    ctx = pki.client_context(ca="rogue-ca")
    c = Tls(("127.0.0.1", s.tls_port), ctx)
    c.send(options(s, c))
    assert c.recv().status == 200


def client_refused(s, ctx):
    """True when sipd ends the handshake or the connection before any
    answer (TLS 1.3 reports a refused client certificate after the
    client's side of the handshake is done)."""
    try:
        c = Tls(("127.0.0.1", s.tls_port), ctx)
    except OSError:
        return True
    try:
        c.send(options(s, c))
        r = c.recv(2.0)
    except OSError:  # ssl.SSLError too: the alert arrives with the first read
        return True
    finally:
        c.close()
    return r is None


def test_client_certificate_verified(sipd_factory, pki):
    s = tls_sipd(sipd_factory, pki, verify_client=True)
    c = Tls(("127.0.0.1", s.tls_port), pki.client_context(cert="client"))
    c.send(options(s, c))
    r = c.recv()
    assert r is not None and r.status == 200
    assert client_refused(s, pki.client_context(cert="rogue-client"))
    assert client_refused(s, pki.client_context())
    deadline = time.monotonic() + 3
    while "certificate" not in s.text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "TLS handshake" in s.text()


def test_client_certificate_not_asked_when_off(sipd_factory, pki):
    s = tls_sipd(sipd_factory, pki)
    c = Tls(("127.0.0.1", s.tls_port), pki.client_context(cert="rogue-client"))
    c.send(options(s, c))
    assert c.recv().status == 200


def test_config_needs_certificate(tmp_path):
    from conftest import SIPD
    r = subprocess.run([SIPD, "--listen", "tls:127.0.0.1:5999", "--check-config"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "tls-cert" in r.stderr
    r = subprocess.run([SIPD, "--listen", "tls:127.0.0.1:5999", "--tls-cert", "/x.pem",
                        "--tls-verify-client", "on", "--check-config"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "tls-ca" in r.stderr


def test_config_file_keys(tmp_path, pki):
    from conftest import SIPD
    conf = tmp_path / "sipd.conf"
    conf.write_text(f"listen = tls:127.0.0.1:5999\ntls-cert = {pki.cert('server')}\n"
                    f"tls-key = {pki.key('server')}\ntls-ca = {pki.cert('ca')}\n"
                    "tls-verify-client = on\n")
    r = subprocess.run([SIPD, "-c", str(conf), "--check-config"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    for line in (f"tls-cert = {pki.cert('server')}", f"tls-key = {pki.key('server')}",
                 f"tls-ca = {pki.cert('ca')}", "tls-verify-client = on",
                 "listen = tls:127.0.0.1:5999"):
        assert line in r.stdout


def test_bad_key_refused_at_start(tmp_path, pki):
    from conftest import SIPD
    r = subprocess.run([SIPD, "--listen", f"tls:127.0.0.1:{free_port()}", "--location",
                        "memory:", "--tls-cert", pki.cert("server"), "--tls-key",
                        pki.key("client")], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "mismatch" in r.stderr


def free_short_port():
    """A free TCP port of four digits: sipsak 0.9.8 cuts longer ones off
    the host:port it checks the certificate against."""
    import socket
    for port in range(5062 + (os.getpid() % 2000) * 2, 9999):
        with socket.socket() as t:
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


@pytest.mark.skipif(not shutil.which("sipsak"), reason="sipsak not installed")
def test_sipsak_options_over_tls(sipd_factory, pki):
    """sipsak (GnuTLS) gets 200 for OPTIONS over TLS. (It checks the
    certificate's name, localhost, but not its issuer: a certificate of
    an untrusted CA passes too, so that is not tested with it.)"""
    port = free_short_port()
    s = sipd_factory(*pki.sipd_args(port), "--domain", "localhost")
    s.tls_port = port
    wait_tls(s)
    r = subprocess.run(["sipsak", "-vv", "--transport=tls", "--tls-ca-cert", pki.cert("ca"),
                        "-s", f"sip:localhost:{port}"],
                       capture_output=True, text=True, timeout=20)
    assert "200 OK" in r.stdout, r.stdout + r.stderr + s.text()[-2000:]
