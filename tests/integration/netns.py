"""A network namespace of a test's own, with only its loopback up: what
runs in it (`ip netns exec`) and the sockets a thread opens after entering
it (run_inside) reach nothing but each other. Named after the test's pid;
delete() removes it, and everything in it, whatever happened.

Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2."""
import ctypes
import os
import subprocess
import threading

CLONE_NEWNET = 0x40000000


class Netns:
    def __init__(self, tag):
        assert os.geteuid() == 0, "network namespaces need root"
        self.name = f"sipd-{tag}-{os.getpid()}"
        r = subprocess.run(["ip", "netns", "add", self.name], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, f"ip netns add {self.name}: {r.stderr}"
        r = subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            self.delete()
            raise AssertionError(f"ip -n {self.name} link set lo up: {r.stderr}")

    def popen(self, cmd, **kw):
        """cmd inside the namespace (ip netns exec execs it: the process's
        pid is the command's own)."""
        return subprocess.Popen(["ip", "netns", "exec", self.name, *cmd], **kw)

    def run_inside(self, fn, *args):
        """fn(*args) in a thread that entered the namespace first (setns
        acts on the calling thread only); its result, or its exception."""
        out = {}

        def body():
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                fd = os.open(f"/var/run/netns/{self.name}", os.O_RDONLY)
                try:
                    if libc.setns(fd, CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns")
                finally:
                    os.close(fd)
                out["value"] = fn(*args)
            except BaseException as e:  # handed to the caller's thread
                out["error"] = e

        t = threading.Thread(target=body)
        t.start()
        t.join()
        if "error" in out:
            raise out["error"]
        return out.get("value")

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=30)
