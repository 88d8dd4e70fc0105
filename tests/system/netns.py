"""A test host in a network namespace of its own, joined to this host by a
veth pair, whose link the test can make drop every packet silently (a
network partition: no reset, no error, nothing answers) and heal again.

The partition points the namespace's neighbour entry for the host side at a
MAC address nobody has: frames still leave, and the host side discards them
as addressed to another station, so the namespace's TCP sees only silence.
Needs root (CAP_NET_ADMIN), as `make test` runs in CI."""
import itertools
import os
import subprocess

_counter = itertools.count(1)
_NOBODY = "02:00:00:00:00:01"


def _ip(*args):
    subprocess.run(["ip", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


class NetNs:
    """`prefix` runs a command inside; `host_ip` is this host's address on
    the link, `ns_ip` the namespace's."""

    def __init__(self):
        n = next(_counter)
        tag = f"{os.getpid() % 10000}x{n}"
        self.name = f"eqms{tag}"
        self.host_if, self.ns_if = f"eh{tag}", f"en{tag}"
        subnet = (os.getpid() * 7 + n) % 250 + 1
        self.host_ip, self.ns_ip = f"10.233.{subnet}.1", f"10.233.{subnet}.2"
        self.prefix = ["ip", "netns", "exec", self.name]
        _ip("netns", "add", self.name)
        try:
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
            _ip("link", "set", self.ns_if, "netns", self.name)
            _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
            _ip("link", "set", self.host_if, "up")
            _ip("netns", "exec", self.name, "ip", "addr", "add", f"{self.ns_ip}/30",
                "dev", self.ns_if)
            _ip("netns", "exec", self.name, "ip", "link", "set", self.ns_if, "up")
            _ip("netns", "exec", self.name, "ip", "link", "set", "lo", "up")
        except Exception:
            self.close()
            raise

    def partition(self):
        """From now on nothing the namespace sends reaches this host."""
        _ip("netns", "exec", self.name, "ip", "neigh", "replace", self.host_ip,
            "lladdr", _NOBODY, "dev", self.ns_if, "nud", "permanent")

    def heal(self):
        _ip("netns", "exec", self.name, "ip", "neigh", "del", self.host_ip,
            "dev", self.ns_if)

    def close(self):
        subprocess.run(["ip", "link", "del", self.host_if], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)
