"""The hosts suite's cluster (one for the package: starting seven hosts takes ~25 s) and its table of runs."""

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.chaos.report import Report, summarize
from tests.hosts.cluster import Cluster

REPORTS = pytest.StashKey[list[Report]]()


@pytest.fixture(scope="package")
def cluster() -> Iterator[Cluster]:
    """Seven hosts with the tracker on them; every process and namespace is removed afterwards, pass or fail."""
    assert os.geteuid() == 0, "the hosts suite needs root: it creates network namespaces (ip netns)"
    cluster = Cluster(slow_db_link=True)
    try:
        yield cluster.start()
    finally:
        cluster.destroy()


@pytest.fixture
def record_report(request: pytest.FixtureRequest) -> Callable[[Report], None]:
    return request.config.stash.setdefault(REPORTS, []).append


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    summarize(terminalreporter, "hosts: events answered ok are stored exactly once", config.stash.get(REPORTS, []))
