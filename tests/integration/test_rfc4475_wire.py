"""Every RFC 4475 torture message sent to a running sipd over UDP gets the
answer its manifest description gives for a server in sipd's role today
(a proxy for users, the server itself for its own address, a registrar
for REGISTER — with authentication off, so registrations succeed as the RFC
expects), or none where the RFC says to drop it; sipd then still answers
OPTIONS.

Each message is sent from its own loopback address 127.x.y.z port 5060:
the messages carry sent-by hosts like 192.0.2.15 without rport, so sipd
answers to the source address (received) at the sent-by port, 5060.
Nothing leaves loopback."""
import os
import random
import re
import socket

import pytest

import sip
from conftest import RFC4475

# The Contact values the registrar's 200 must list for the REGISTERs that
# RFC 4475 expects to succeed: contact parameters stay outside the URI,
# URI parameters and escaped headers inside, %00 users distinct.
CONTACTS = {
    "cparam01.dat": ["<sip:+19725552222@gw1.example.net>;expires=3600;unknownparam"],
    "cparam02.dat": ["<sip:+19725552222@gw1.example.net;unknownparam>;expires=3600"],
    "regescrt.dat": ["<sip:user@example.com?Route=%3Csip:sip.example.com%3E>;expires=3600"],
    "escnull.dat": ["<sip:%00@host5.example.com>;expires=3600",
                    "<sip:%00%00@host5.example.com>;expires=3600"],
    "dblreq.dat": ["<sip:j.user@host.example.com>;expires=3600"],
}

# file -> the final status sipd answers, or None for "drop silently".
EXPECT = {
    # valid
    "wsinv.dat": 403, "intmeth.dat": 404, "esc01.dat": 403, "escnull.dat": 200,
    "esc02.dat": 403, "lwsdisp.dat": 404, "longreq.dat": 404, "dblreq.dat": 200,
    "semiuri.dat": 404, "transports.dat": 404, "mpart01.dat": 403, "unreason.dat": None,
    "noreason.dat": None, "inv2543.dat": 404,
    # invalid
    "badinv01.dat": 400, "clerr.dat": 400, "ncl.dat": 400, "scalar02.dat": 400,
    "scalarlg.dat": None, "quotbal.dat": 400, "ltgtruri.dat": 400, "lwsruri.dat": 400,
    "lwsstart.dat": 400, "trws.dat": 400, "escruri.dat": 400, "baddate.dat": 400,
    "regbadct.dat": 400, "badaspec.dat": 400, "baddn.dat": 400, "badvers.dat": 505,
    "mismatch01.dat": 400, "mismatch02.dat": 501, "bigcode.dat": None,
    # valid but semantically bad
    "badbranch.dat": 400, "insuf.dat": 400, "unkscm.dat": 416, "novelsc.dat": 416,
    "unksm2.dat": 400, "bext01.dat": 420, "invut.dat": 404, "regaut01.dat": 200,
    "multi01.dat": 400, "mcl01.dat": 400, "bcast.dat": None, "zeromf.dat": 483,
    "cparam01.dat": 200, "cparam02.dat": 200, "regescrt.dat": 200, "sdp01.dat": 404,
}


@pytest.fixture
def server(sipd_factory):
    # A fresh sipd for each message: several torture messages share a
    # branch and sent-by (cparam01 and cparam02), so to one server the
    # second would rightly be a retransmission of the first.
    return sipd_factory("--t1", "100", "--auth", "off")


def loopback_socket():
    """A UDP socket on a random 127.x.y.z at port 5060."""
    for _ in range(50):
        addr = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 254),
                                 random.randint(2, 254))
        try:
            return sip.Udp(addr, 5060)
        except OSError:
            continue
    raise RuntimeError("no free 127.x.y.z:5060")


def test_every_file_has_an_expectation():
    files = {f for f in os.listdir(RFC4475) if f.endswith(".dat")}
    assert files == set(EXPECT)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_torture_message(server, name):
    with open(os.path.join(RFC4475, name), "rb") as f:
        data = f.read()
    c = loopback_socket()
    c.send(data, (server.host, server.port))
    got = [r for _, r in c.recv_all(0.6)]
    finals = [r.status for r in got if r.status >= 200]
    want = EXPECT[name]
    if want is None:
        assert got == [], got
    else:
        assert finals and finals[0] == want, (got, server.text()[-1500:])
        # One request, one answer (dblreq: the trailing INVITE is never seen).
        assert set(finals) == {want}, got
        if name in CONTACTS:
            # (a second may pass between the binding and the answer)
            listed = [re.sub(r"expires=(3599|3600)", "expires=3600", v)
                      for v in got[-1].get("contact")]
            assert sorted(listed) == sorted(CONTACTS[name]), got[-1].raw
        if data.startswith(b"INVITE") and want != 400:
            assert got[0].status == 100
    # sipd still answers afterwards.
    c.send(sip.request("OPTIONS", f"sip:{server.host}:{server.port}", c.local),
           (server.host, server.port))
    r = c.recv()
    assert r is not None and r.status == 200
    c.close()
