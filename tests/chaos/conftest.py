"""Fixtures for the chaos tests: a throwaway stack per test, and a table of every run's numbers at the end."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.chaos.report import Report, summarize
from tests.chaos.stack import Stack

REPORTS = pytest.StashKey[list[Report]]()


@pytest.fixture
def stack_factory() -> Iterator[Callable[..., Stack]]:
    """Start a Stack; it is destroyed (every process stopped, temp dirs removed) after the test."""
    stacks: list[Stack] = []

    def make(*args: Any, **kwargs: Any) -> Stack:
        stack = Stack(*args, **kwargs)
        stacks.append(stack)
        return stack.start()

    yield make
    for stack in stacks:
        stack.destroy()


@pytest.fixture
def record_report(request: pytest.FixtureRequest) -> Callable[[Report], None]:
    return request.config.stash.setdefault(REPORTS, []).append


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    summarize(terminalreporter, "chaos: events answered ok are stored exactly once", config.stash.get(REPORTS, []))
