"""The hosts suite's cluster (one for the package: starting seven hosts takes ~25 s) and each run's numbers for
the table at the end (printed by tests/conftest.py)."""

import os
from collections.abc import Callable, Iterator

import pytest

from tests.chaos.report import Report, recorder
from tests.hosts.cluster import Cluster


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
    return recorder(request.node, "hosts")
