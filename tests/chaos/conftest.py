"""Fixtures for the chaos tests: a throwaway stack per test, and each run's numbers for the table at the end
(printed by tests/conftest.py)."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.chaos.report import Report, recorder
from tests.chaos.stack import Stack


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
    return recorder(request.node, "chaos")
