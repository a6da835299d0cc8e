"""Simulated hosts: one network namespace per host, each with a veth cable to a bridge (the switch) that lives
in a namespace of its own, so the test touches nothing in the machine's own network namespace.

Faults are the ones of a real network: a cable pulled at the switch (`unplug`), a host that cannot reach one
peer (`blackhole`: its packets to that address are dropped, so connections hang rather than being refused).

The test process reaches the hosts from a `client` host: `Host.call` runs a function on a thread that entered
the host's namespace (setns(2) changes only the calling thread), and a socket keeps the namespace it was
created in, so a connection opened there may be used from any thread afterwards.
"""

import contextlib
import ctypes
import os
import signal
import subprocess
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
SUBNET = "10.77.0"  # private to this run's switch: another run's hosts use the same addresses on their own
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def enter_namespace(name: str) -> None:
    """Move the calling thread into the named network namespace."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns {name}: {os.strerror(errno)}")
    finally:
        os.close(fd)


@dataclass
class Host:
    name: str  # as the docs name it: db, broker, web-a, ...
    netns: str  # the namespace's name, unique to this run
    address: str
    port_name: str  # its cable's end at the switch
    _thread: ThreadPoolExecutor | None = field(default=None, repr=False)

    def wrap(self, argv: list[str]) -> list[str]:
        """A command line that runs `argv` on this host, with the host's name as its hostname (Celery names a
        worker after it; two workers named alike collide on RabbitMQ). `ip netns exec`, `unshare` (no --fork)
        and the shell's `exec` each exec the next: the pid is the command's."""
        rename = 'hostname "$0" && exec "$@"'
        return ["ip", "netns", "exec", self.netns, "unshare", "--uts", "sh", "-c", rename, self.name, *argv]

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """fn(*args) on a thread of this host: any socket it opens belongs to the host's network."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, f"ns-{self.name}", initializer=enter_namespace,
                                              initargs=(self.netns,))
        return self._thread.submit(fn, *args).result()

    def pids(self) -> list[int]:
        """Every process whose network is this host's."""
        out = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True, timeout=30)
        return [int(pid) for pid in out.stdout.split()]

    def kill_all(self) -> int:
        """SIGKILL every process of the host, as when it loses power; returns how many there were."""
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def blackhole(self, peer: "Host") -> None:
        """Drop every packet this host sends to `peer` (a firewall or a broken route, not a refusal)."""
        _ip("-n", self.netns, "route", "add", "blackhole", f"{peer.address}/32")

    def route_again(self, peer: "Host") -> None:
        _ip("-n", self.netns, "route", "del", "blackhole", f"{peer.address}/32")

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=False, cancel_futures=True)


class Network:
    """A switch and hosts on it; destroy() kills every process of every host and removes the namespaces."""

    def __init__(self) -> None:
        self.run = uuid.uuid4().hex[:6]
        self.switch = f"trk{self.run}-switch"
        self.hosts: dict[str, Host] = {}
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")

    def add_host(self, name: str, last_octet: int) -> Host:
        host = Host(name, f"trk{self.run}-{name}", f"{SUBNET}.{last_octet}", f"p-{name}"[:15])
        self.hosts[name] = host
        _ip("netns", "add", host.netns)
        _ip("-n", self.switch, "link", "add", host.port_name, "type", "veth", "peer", "name", "eth0",
            "netns", host.netns)
        _ip("-n", self.switch, "link", "set", host.port_name, "master", "br0", "up")
        _ip("-n", host.netns, "addr", "add", f"{host.address}/24", "dev", "eth0")
        _ip("-n", host.netns, "link", "set", "eth0", "up")
        _ip("-n", host.netns, "link", "set", "lo", "up")
        return host

    def unplug(self, host: Host) -> None:
        """Pull the host's cable out of the switch: its packets go nowhere, nothing is refused."""
        _ip("-n", self.switch, "link", "set", host.port_name, "down")

    def plug(self, host: Host) -> None:
        _ip("-n", self.switch, "link", "set", host.port_name, "up")

    def destroy(self) -> None:
        for host in self.hosts.values():
            host.kill_all()
            host.close()
        for netns in [*(h.netns for h in self.hosts.values()), self.switch]:
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("netns", "del", netns)


def leftover_namespaces() -> list[str]:
    """Namespaces of this suite still on the machine (none once every run has cleaned up)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith("trk")]
