"""A network namespace a test can cut off: a server inside it (``pgserver.PgServer(netns=...)``) is reached from
the host over a veth pair; ``partition()`` adds a blackhole route inside the namespace towards the host's address,
so the server's packets to the service are silently dropped (nothing is refused: the client sees a peer that went
quiet, as with a broken network), and ``heal()`` removes it.

Owned by a ``Launcher`` (``net_namespace(launcher)``), which stops what it owns in reverse order of creation: the
namespace is created before the server in it and removed after it. A missing capability (no ``ip netns``, not
root) fails with a message that says so; nothing skips silently.

Python 3 standard library only.
"""

from __future__ import annotations

import ipaddress
import random
import re
import shutil
import subprocess
import uuid
from typing import TYPE_CHECKING

from harness.processes import is_root, run

if TYPE_CHECKING:
    from harness.stack import Launcher


class NetNamespace:
    """A network namespace joined to the host by a veth pair on a /30 of 10.77.0.0/16: the host side is
    ``host_addr`` (the address the service's connections come from), the namespace side ``ns_addr`` (where a
    server inside listens). ``partition()`` drops, inside the namespace, every packet towards the host
    (a blackhole route: nothing answers, nothing is refused); ``heal()`` restores the route."""

    def __init__(self):
        suffix = uuid.uuid4().hex[:6]
        self.name = f"notes-it-{suffix}"
        self.host_if, self.ns_if = f"nih{suffix}", f"nin{suffix}"  # (interface names: 15 bytes at most)
        network = self._free_network()
        self.host_addr, self.ns_addr = str(network[1]), str(network[2])
        self.prefix = network.prefixlen
        self.created = False
        self.partitioned = False

    @staticmethod
    def _free_network() -> ipaddress.IPv4Network:
        used = subprocess.run(["ip", "-4", "-o", "addr", "show"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout
        taken = [ipaddress.ip_interface(m) for m in re.findall(r"inet (\S+)", used)]
        for _ in range(100):
            network = ipaddress.ip_network(f"10.77.{random.randrange(256)}.{4 * random.randrange(64)}/30")
            if not any(i.network.overlaps(network) for i in taken):
                return network
        raise AssertionError("no free /30 in 10.77.0.0/16 for a test network namespace")

    def _ip(self, *args: str, inside: bool = False, check: bool = True) -> subprocess.CompletedProcess:
        cmd = (["ip", "netns", "exec", self.name] if inside else []) + ["ip", *args]
        return run(cmd, timeout=30, check=check)

    def create(self) -> "NetNamespace":
        if shutil.which("ip") is None:
            raise AssertionError("the network partition test needs iproute2's `ip` (scripts/install-deps installs it)")
        if not is_root():
            raise AssertionError("the network partition test needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to "
                                 "create a network namespace; it does not run without them")
        result = run(["ip", "netns", "add", self.name], timeout=30, check=False)
        if result.returncode != 0:
            raise AssertionError(f"cannot create a network namespace (`ip netns add` failed: {result.stderr.strip()}); "
                                 "the partition test needs network namespaces and veth support in the kernel")
        self.created = True
        self._ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        self._ip("link", "set", self.ns_if, "netns", self.name)
        self._ip("addr", "add", f"{self.host_addr}/{self.prefix}", "dev", self.host_if)
        self._ip("link", "set", self.host_if, "up")
        self._ip("addr", "add", f"{self.ns_addr}/{self.prefix}", "dev", self.ns_if, inside=True)
        self._ip("link", "set", self.ns_if, "up", inside=True)
        self._ip("link", "set", "lo", "up", inside=True)
        return self

    def exec_prefix(self) -> list[str]:
        """Prefix of a command to run inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def partition(self) -> None:
        """From now on the namespace's replies to the host vanish: connections in use stall, new ones hang."""
        self._ip("route", "add", "blackhole", f"{self.host_addr}/32", inside=True)
        self.partitioned = True

    def heal(self) -> None:
        self._ip("route", "del", "blackhole", f"{self.host_addr}/32", inside=True)
        self.partitioned = False

    def close(self) -> None:
        if not self.created:
            return
        self._ip("link", "del", self.host_if, check=False)  # (its peer goes with it)
        run(["ip", "netns", "del", self.name], timeout=30, check=False)
        self.created = False


def net_namespace(launcher: Launcher) -> NetNamespace:
    """A created NetNamespace owned by ``launcher`` (removed after everything added later)."""
    return launcher.add(NetNamespace()).create()
