"""TLS helpers for the integration tests: a test PKI made with the openssl
command line (a CA, a server certificate for 127.0.0.1 and localhost, a
client certificate, and the same again from a second CA nobody trusts),
and a TLS client and server on loopback that frame SIP by Content-Length.
"""
import os
import socket
import ssl
import subprocess
import threading
import time

from sip import Tcp, split_frame


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


class Pki:
    """Certificates in dir: NAME.crt and NAME.key for ca, server, client,
    rogue-ca, rogue-server and rogue-client (the rogue ones signed by
    rogue-ca, which sipd and the clients do not trust)."""

    def __init__(self, dir):
        self.dir = str(dir)
        os.makedirs(self.dir, exist_ok=True)
        for prefix in ("", "rogue-"):
            self._ca(prefix + "ca")
            self._leaf(prefix + "server", prefix + "ca", "/CN=localhost",
                       "subjectAltName=IP:127.0.0.1,DNS:localhost")
            self._leaf(prefix + "client", prefix + "ca", "/CN=alice",
                       "extendedKeyUsage=clientAuth")

    def leaf(self, name, subject, ext, ca="ca"):
        """One more certificate signed by ca, e.g. for a domain name."""
        self._leaf(name, ca, subject, ext)

    def path(self, name):
        return os.path.join(self.dir, name)

    def cert(self, name):
        return self.path(name + ".crt")

    def key(self, name):
        return self.path(name + ".key")

    def _key(self, name):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", name + ".key", cwd=self.dir)

    def _ca(self, name):
        self._key(name)
        openssl("req", "-x509", "-new", "-key", name + ".key", "-out", name + ".crt",
                "-days", "2", "-subj", f"/CN=sipd test {name}", cwd=self.dir)

    def _leaf(self, name, ca, subject, ext):
        self._key(name)
        openssl("req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj", subject,
                "-addext", ext, cwd=self.dir)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey",
                ca + ".key", "-CAcreateserial", "-days", "2", "-copy_extensions", "copy",
                "-out", name + ".crt", cwd=self.dir)

    def sipd_args(self, port, server="server", verify_client=False):
        """sipd's options for a TLS listener on 127.0.0.1:port."""
        args = ["--listen", f"tls:127.0.0.1:{port}", "--tls-cert", self.cert(server),
                "--tls-key", self.key(server), "--tls-ca", self.cert("ca")]
        if verify_client:
            args += ["--tls-verify-client", "on"]
        return args

    def client_context(self, cert=None, ca="ca"):
        """A client context trusting ca, presenting cert when given."""
        ctx = ssl.create_default_context(cafile=self.cert(ca))
        if cert:
            ctx.load_cert_chain(self.cert(cert), self.key(cert))
        return ctx

    def server_context(self, cert="server"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert(cert), self.key(cert))
        return ctx


class Tls(Tcp):
    """A TLS connection to sipd (or any TLS SIP peer), framed as Tcp is."""

    def __init__(self, dest, ctx, server_hostname="127.0.0.1"):
        raw = socket.create_connection(dest, timeout=5)
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname=server_hostname)
        except Exception:
            raw.close()
            raise
        self.local = self.sock.getsockname()
        self.buf = b""


class TlsServer:
    """A TLS SIP peer on 127.0.0.1: accepts connections on a thread and
    keeps every message received; answer(fn) makes it reply with fn(msg)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.messages = []
        self.handshake_errors = []
        self.reply = None
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                raw, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        raw.settimeout(5)
        try:
            conn = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.handshake_errors.append(str(e))
            raw.close()
            return
        buf = b""
        with conn:
            while not self.stop:
                msg, buf = split_frame(buf)
                if msg is not None:
                    self.messages.append(msg)
                    if self.reply:
                        out = self.reply(msg)
                        if out:
                            conn.sendall(out)
                    continue
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                except (ssl.SSLError, OSError):
                    return
                if not chunk:
                    return
                buf += chunk

    def wait(self, n=1, timeout=5.0):
        end = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < end:
            time.sleep(0.02)
        return len(self.messages) >= n

    def close(self):
        self.stop = True
        self.lsock.close()
        self.thread.join(timeout=2)
