"""Timer C (RFC 3261 §16.6 step 11, §16.8) on the wire: a callee that rings
and never answers is cancelled by the proxy once timer C runs out, and the
caller gets the 487 that follows. Raw UDP sockets play both user agents."""
import time

from sip import Udp, request


def parse_request(data):
    head = data.split(b"\r\n\r\n")[0].decode()
    lines = head.split("\r\n")
    return lines[0], lines[1:]


def answer(sock, req_lines, status, dest, to_tag="uas1"):
    keep = [ln for ln in req_lines if ln.split(":")[0].lower() in
            ("via", "from", "to", "call-id", "cseq", "record-route")]
    keep = [ln + (f";tag={to_tag}" if ln.lower().startswith("to:") and "tag=" not in ln
                  else "") for ln in keep]
    msg = "\r\n".join([f"SIP/2.0 {status}"] + keep + ["Content-Length: 0", "", ""])
    sock.send(msg.encode(), dest)


def recv_request(sock, timeout):
    sock.sock.settimeout(timeout)
    data, src = sock.sock.recvfrom(65536)
    return data, src


def test_timer_c_cancels_a_branch_that_rings_too_long(sipd_factory):
    srv = sipd_factory("--auth", "off", "--timer-c", "2")
    uas, uac = Udp(), Udp()
    reg = request("REGISTER", "sip:example.com", uas.local,
                  extra=[f"Contact: <sip:carol@127.0.0.1:{uas.local[1]}>", "Expires: 300"])
    uas.send(reg.replace(b"To: <sip:example.com>", b"To: <sip:carol@example.com>"),
             (srv.host, srv.port))
    assert uas.recv(2).status == 200

    uac.send(request("INVITE", "sip:carol@example.com", uac.local), (srv.host, srv.port))
    data, src = recv_request(uas, 3)
    start, lines = parse_request(data)
    assert start.startswith("INVITE ")
    answer(uas, lines, "180 Ringing", src)
    t0 = time.monotonic()
    # The proxy gives up after timer C and cancels the branch.
    while True:
        data, src2 = recv_request(uas, 5)
        cstart, clines = parse_request(data)
        if cstart.startswith("CANCEL "):
            break
    waited = time.monotonic() - t0
    assert 1.0 <= waited <= 3.5, waited
    answer(uas, clines, "200 OK", src2)
    answer(uas, lines, "487 Request Terminated", src)
    finals = [r.status for _, r in uac.recv_all(2.0) if r.status >= 200]
    assert finals and finals[0] == 487, finals
    # The 487 is acknowledged hop by hop: the callee gets an ACK.
    data, _ = recv_request(uas, 3)
    assert parse_request(data)[0].startswith("ACK ")
    uas.close()
    uac.close()
