"""A client of sipd's admin HTTP server (--http) for the tests: requests
with or without credentials, JSON answers, and /metrics parsed into
{(name, labels): value}. Loopback only; every request is bounded in time."""
import base64
import json
import re
import urllib.error
import urllib.request

from conftest import free_port

TOKEN = "t0ken-for-tests"


def start(sipd_factory, *args, token=TOKEN, user=None):
    """A sipd with the admin HTTP server on a free loopback port: (srv, Admin)."""
    port = free_port()
    extra = ["--http", f"127.0.0.1:{port}"]
    if token:
        extra += ["--http-token", token]
    if user:
        extra += ["--http-user", user]
    srv = sipd_factory(*args, *extra)
    return srv, Admin(port, token=token, user=user)


class Admin:
    def __init__(self, port, token=None, user=None):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token
        self.user = user

    def request(self, method, path, body=None, auth="default", timeout=10):
        """(status, headers, body bytes). auth: "default" (the token, else the
        basic credentials), None, ("bearer", T) or ("basic", "USER:PASS")."""
        headers = {}
        if auth == "default":
            auth = ("bearer", self.token) if self.token else \
                ("basic", self.user) if self.user else None
        if auth and auth[0] == "bearer":
            headers["Authorization"] = "Bearer " + auth[1]
        elif auth:
            headers["Authorization"] = "Basic " + base64.b64encode(auth[1].encode()).decode()
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, path, method="GET", body=None, want=200, **kw):
        status, _, data = self.request(method, path, body, **kw)
        assert status == want, f"{method} {path}: {status} {data[:500]!r}"
        return json.loads(data)

    def metrics(self):
        status, headers, data = self.request("GET", "/metrics")
        assert status == 200, (status, data[:300])
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse_metrics(data.decode())


LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text into {(name, frozenset of (label, value)): float};
    every sample's family must have been announced by # HELP and # TYPE."""
    out, helped, typed = {}, set(), set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
        elif line.startswith("# TYPE "):
            typed.add(line.split()[2])
        elif line:
            m = LINE.match(line)
            assert m, f"not a sample line: {line!r}"
            name = m.group(1)
            fam = re.sub(r"_(bucket|sum|count)$", "", name) if name not in typed else name
            assert fam in helped and fam in typed, f"{name} without # HELP/# TYPE"
            labels = frozenset(LABEL.findall(m.group(2) or ""))
            out[(name, labels)] = float(m.group(3))
    return out


def metric(m, name, **labels):
    return m.get((name, frozenset(labels.items())), 0.0)
