"""The simulated network cleans up after itself: destroy() kills what runs on its hosts and removes every
namespace, whatever state a failed test left them in."""

import subprocess

import pytest

from tests.hosts.network import Network, leftover_namespaces

pytestmark = pytest.mark.hosts


def test_destroy__kills_every_process_and_removes_every_namespace() -> None:
    net = Network()
    try:
        host = net.add_host("web-a", 11)
        sleeper = subprocess.Popen(host.wrap(["sleep", "600"]))
        net.unplug(host)  # a test that failed mid-fault leaves a cable out
        host.blackhole(host)
        assert host.pids() == [sleeper.pid]
    finally:
        net.destroy()
    assert sleeper.wait(10) == -9
    mine = [name for name in leftover_namespaces() if name.startswith(f"trk{net.run}")]
    assert mine == []
