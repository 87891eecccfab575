"""`make install`'s result (cmake --install of this build into a temporary
prefix, and with DESTDIR): the programs run from where they land, the
example config passes --check-config, the man pages render without
warnings, a program of one's own builds against libsip through pkg-config,
and the systemd unit verifies, with its sandboxing scored by systemd."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, SIPD

BUILD = os.path.dirname(os.path.abspath(SIPD))

DEMO = r"""
#include <stdio.h>
#include <string.h>
#include "libsip/msg.h"

int main(void)
{
	static const char m[] = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
	                        "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\n"
	                        "From: <sip:alice@example.com>;tag=1\r\n"
	                        "To: <sip:bob@example.com>\r\nCall-ID: demo\r\n"
	                        "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
	struct sip_arena *a;
	struct sip_msg *msg;

	if (sip_arena_new(&a, 65536) < 0 || sip_msg_parse(&msg, a, m, strlen(m), 0, NULL) < 0)
		return 1;
	printf("%s\n", sip_msg_method(msg) == SIP_METHOD_OPTIONS ? "OPTIONS" : "?");
	sip_arena_free(a);
	return 0;
}
"""

EXPECTED = [
    "sbin/sipd", "sbin/sipctl", "bin/sipua", "lib/libsip.a", "include/libsip/msg.h",
    "include/libsip/tsx.h", "lib/pkgconfig/sip.pc", "lib/systemd/system/sipd.service",
    "etc/sipd/sipd.conf", "share/doc/sipd/sipd.conf.example", "share/man/man8/sipd.8",
    "share/man/man8/sipctl.8", "share/man/man1/sipua.1",
]


def cache(name):
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        m = re.search(rf"^{name}:[A-Z]+=(.*)$", f.read(), re.M)
    return m.group(1) if m else ""


def install(prefix, destdir=None):
    env = dict(os.environ)
    env.pop("DESTDIR", None)
    if destdir:
        env["DESTDIR"] = destdir
    r = subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    p = str(tmp_path_factory.mktemp("prefix"))
    install(p)
    return p


def test_files_land_and_run(prefix):
    missing = [f for f in EXPECTED if not os.path.isfile(os.path.join(prefix, f))]
    assert not missing, missing
    r = subprocess.run([os.path.join(prefix, "sbin/sipd"), "--version"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("sipd "), r
    conf = os.path.join(prefix, "etc/sipd/sipd.conf")
    r = subprocess.run([os.path.join(prefix, "sbin/sipd"), "-c", conf, "--check-config"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(ROOT, "etc/sipd.conf")) as a, open(conf) as b:
        assert a.read() == b.read()


def test_man_pages_render_cleanly(prefix):
    for page in ("man8/sipd.8", "man8/sipctl.8", "man1/sipua.1"):
        path = os.path.join(prefix, "share/man", page)
        r = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", "-ww", path], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0 and r.stderr == "", (page, r.stderr)
        assert "SYNOPSIS" in r.stdout and "EXIT STATUS" in r.stdout, page


def test_a_program_builds_against_libsip_with_pkg_config(prefix, tmp_path):
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib/pkgconfig"))
    r = subprocess.run(["pkg-config", "--cflags", "--libs", "sip"], env=env,
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    flags = r.stdout.split()
    assert f"-I{prefix}/include" in flags and "-lsip" in flags and "-lcrypto" in flags, flags
    src = tmp_path / "demo.c"
    src.write_text(DEMO)
    cc = cache("CMAKE_C_COMPILER") or "cc"
    # A sanitizer build's libsip needs the sanitizer runtimes linked too.
    extra = ["-fsanitize=address,undefined"] if cache("SIPD_SANITIZE") == "ON" else []
    exe = str(tmp_path / "demo")
    r = subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-Werror", *extra, str(src), "-o",
                        exe, *flags], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([exe], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.strip() == "OPTIONS", r


def test_systemd_unit_verifies_and_is_sandboxed(prefix):
    unit = os.path.join(prefix, "lib/systemd/system/sipd.service")
    with open(unit) as f:
        text = f.read()
    sipd = os.path.join(prefix, "sbin/sipd")
    conf = os.path.join(prefix, "etc/sipd/sipd.conf")
    assert f"ExecStart={sipd} -c {conf}\n" in text, text
    assert "ExecReload=/bin/kill -HUP $MAINPID" in text
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", unit], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", unit],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for sipd.service: ([0-9.]+)", r.stdout)
    assert m and float(m.group(1)) <= 2.0, r.stdout[-500:]


def test_destdir_and_an_operators_config_is_kept(tmp_path):
    dest = str(tmp_path / "pkg")
    install("/usr", dest)
    conf = os.path.join(dest, "etc/sipd/sipd.conf")  # /etc for the prefix /usr
    assert os.path.isfile(conf)
    with open(os.path.join(dest, "usr/lib/systemd/system/sipd.service")) as f:
        assert "ExecStart=/usr/sbin/sipd -c /etc/sipd/sipd.conf\n" in f.read()
    with open(conf, "a") as f:
        f.write("domain = mine.example\n")
    out = install("/usr", dest)
    assert "Kept:" in out
    with open(conf) as f:
        assert "domain = mine.example" in f.read(), "reinstalling kept the edited config"
    shutil.rmtree(dest)
