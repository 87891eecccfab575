"""The dashboard in a real browser: headless Chromium (Debian's chromium)
driven by playwright-core (npm, tests/browser, installed here with `npm ci`
from its lock file; no browser download) against a sipd carrying live SIPp
registrations and calls. The page must load without console errors, show
the bindings and the calls, and draw a call's ladder diagram with its
INVITE, 180, 200, ACK and BYE in order; a screenshot is kept in the test's
temporary directory (and copied to build/ when that exists)."""
import json
import os
import shutil
import subprocess

import pytest

from admin import start
from conftest import ROOT
from peers import Sipp, register_binding, run_sipp, write_injection

BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
CHROMIUM = "/usr/bin/chromium"
NODE = shutil.which("node") or "/usr/bin/node"
USERS = 5
CALLS = 4


@pytest.fixture(scope="module")
def playwright():
    """tests/browser's node_modules, installed from package-lock.json."""
    assert os.path.exists(CHROMIUM), "chromium missing: scripts/bootstrap installs it"
    assert os.path.exists(NODE), "node missing"
    if not os.path.exists(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BROWSER_DIR, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"npm ci: {r.stdout[-1500:]}{r.stderr[-1500:]}"
    return BROWSER_DIR


def first_seen(lines):
    """The message kinds in the order they first appear: a request's method,
    a response's status code."""
    order = []
    for line in lines:
        kind = line.split()[1] if line.startswith("SIP/2.0 ") else line.split()[0]
        if kind not in order:
            order.append(kind)
    return order


def test_dashboard_in_chromium(sipd_factory, tmp_path, playwright):
    srv, admin = start(sipd_factory, "--auth", "off")
    users = [f"phone{i}" for i in range(1, USERS + 1)]
    inf = write_injection(tmp_path / "users.csv", [[u] for u in users])
    r = run_sipp(srv, "register_noauth.xml", "u1", tmp_path / "sipp-reg", USERS, inf)
    assert r.rc == 0, r.errors[-1500:]

    # Calls that ring for 2 s before the answer, one a second: the page sees
    # live calls, then ended ones.
    bob = Sipp("proxy_uas.xml", tmp_path / "bob", count=CALLS, args=["-d", "2000"], timeout=40)
    caller = None
    try:
        reg = register_binding(srv, "sip:bob@example.com", [f"<sip:bob@127.0.0.1:{bob.port}>"])
        assert reg.status == 200, reg.start
        caller = Sipp("proxy_uac.xml", tmp_path / "caller", count=CALLS,
                      remote=f"{srv.host}:{srv.port}", timeout=40,
                      args=["-s", "bob", "-key", "caller", "alice@example.com", "-r", "1"])
        shot = tmp_path / "dashboard.png"
        url = f"{admin.base}/#token={admin.token}"
        node = subprocess.run([NODE, "dashboard.mjs", url, str(shot), str(USERS + 1), "20000"],
                              cwd=playwright, capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, CHROMIUM=CHROMIUM))
        assert caller.wait() == 0, caller.report()
        assert bob.wait() == 0, bob.report()
    finally:
        if caller:
            caller.stop()
        bob.stop()

    lines = node.stdout.strip().splitlines()
    assert node.returncode == 0 and lines, f"node: {node.stdout[-2000:]}{node.stderr[-2000:]}"
    seen = json.loads(lines[-1])
    assert seen["ok"], seen.get("failure", "") + node.stderr[-2000:] + srv.text()[-1500:]
    assert seen["errors"] == [], seen["errors"]
    assert seen["status"] == "live", seen["status"]

    # The bindings and the calls, as the API has them.
    assert sorted(seen["bindings"]) == sorted(
        [f"sip:{u}@example.com" for u in users] + ["sip:bob@example.com"])
    assert seen["sawLive"], "no live call was ever shown"
    assert seen["callId"] in seen["calls"]
    assert {c["call_id"] for c in admin.json("/api/calls")} >= set(seen["calls"])
    assert seen["charts"] >= 4 and seen["cards"]["bindings"] == str(USERS + 1), seen["cards"]

    # The ladder: the call's messages in order, between its three parties.
    order = first_seen(seen["lines"])
    assert order == ["INVITE", "100", "180", "200", "ACK", "BYE"], seen["lines"]
    assert seen["lines"][-1].startswith("SIP/2.0 200"), seen["lines"]
    assert sorted(seen["hosts"]) == sorted([f"127.0.0.1:{srv.port}", f"127.0.0.1:{bob.port}",
                                            f"127.0.0.1:{caller.port}"]), seen["hosts"]
    assert seen["messageText"].count("INVITE sip:bob@example.com SIP/2.0") == 1, \
        seen["messageText"][:500]

    assert shot.stat().st_size > 10000
    build = os.path.join(ROOT, "build")
    if os.path.isdir(build):
        shutil.copy(shot, os.path.join(build, "dashboard.png"))
