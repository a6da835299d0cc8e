"""Fault tests: break one piece of a real stack under load; every event answered ok is stored exactly once.

Each test drives 20,000 events over ~20 s (tests/chaos/load.py), injects one fault, waits until the queue is
drained, then checks (tests/chaos/report.py) that every id answered ok is in `events` once, that nothing else
was stored except events whose request got no answer at all, and that every rollup equals a recount.
Recovery: as tests/chaos/runner.py measures it.
"""

import os
import signal
import time
from collections.abc import Callable

import pytest

from common.config import settings
from tests.chaos import runner
from tests.chaos.load import Load
from tests.chaos.runner import Fault, Record
from tests.chaos.stack import Stack
from tests.services import wait_until

# Under pytest-xdist (make test) one after another, in one process: two loads of 1,000 events a second at once
# would share two cores.
pytestmark = [pytest.mark.chaos, pytest.mark.xdist_group("chaos")]

# make test's second pass (LIBRARY_ADAPTERS=off) runs the scenarios marked stock_path on the libraries' stock
# code, "chaos-lite": 3,000 events over 10 s, the fault 4 s in.
LITE = not settings.library_adapters
EVENTS, DURATION = (3_000, 10.0) if LITE else (20_000, 20.0)
FAULT_AT = 4.0 if LITE else 7.0  # seconds into the load
OUTAGE = 10.0
StackFactory = Callable[..., Stack]


def run(stack: Stack, record_report: Record, scenario: str, fault: Fault) -> Load:
    """A fault run (tests/chaos/runner.py) under this module's load."""
    load = Load(stack.base_url, stack.campaign_id, total=EVENTS, duration=DURATION)
    return runner.run(stack, load, record_report, scenario, fault)


def _kill_and_restart_worker(stack: Stack) -> Fault:
    def fault(load: Load) -> float:
        load.wait_until_elapsed(FAULT_AT)
        killed = stack.kill_worker()
        stack.start_worker()
        return killed

    return fault


@pytest.mark.stock_path
def test_worker_killed__its_batches_redelivered(stack_factory: StackFactory, record_report: Record) -> None:
    stack = stack_factory("redis")
    run(stack, record_report, "kill -9 worker (redis)", _kill_and_restart_worker(stack))


def test_worker_killed_with_rabbitmq__its_batches_redelivered(
    stack_factory: StackFactory, record_report: Record
) -> None:
    stack = stack_factory("rabbitmq")
    run(stack, record_report, "kill -9 worker (rabbitmq)", _kill_and_restart_worker(stack))
    assert stack.rabbitmq_queue_durable()


def test_web_worker_killed__replaced_and_nothing_ok_lost(
    stack_factory: StackFactory, record_report: Record
) -> None:
    stack = stack_factory("redis")
    after: list[int] = []

    def fault(load: Load) -> float:
        load.wait_until_elapsed(FAULT_AT)
        before = stack.web_worker_pids()
        victim = stack.busiest_web_worker()
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        wait_until(
            lambda: len(set(stack.web_worker_pids()) - set(before)) == 1,
            timeout=30,
            message="uvicorn replaces the killed worker",
        )
        after.extend(stack.web_worker_pids())
        assert victim not in after
        return killed

    run(stack, record_report, "kill -9 one web worker", fault)
    assert len(after) == 2


@pytest.mark.stock_path
def test_redis_restarted__queued_batches_survive(stack_factory: StackFactory, record_report: Record) -> None:
    stack = stack_factory("redis")

    def fault(load: Load) -> float:
        assert stack.redis is not None
        load.wait_until_elapsed(FAULT_AT)
        stack.redis.kill()
        killed = time.monotonic()
        stack.redis.start()
        return killed

    run(stack, record_report, "restart redis (kill -9)", fault)


def test_postgres_restarted__nothing_ok_lost(stack_factory: StackFactory, record_report: Record) -> None:
    stack = stack_factory("redis")

    def fault(load: Load) -> float:
        assert stack.pg is not None
        load.wait_until_elapsed(FAULT_AT)
        stack.pg.stop("immediate")
        crashed = time.monotonic()
        stack.pg.start()
        return crashed

    run(stack, record_report, "restart postgres (crash)", fault)


def test_broker_unreachable__web_stores_directly(stack_factory: StackFactory, record_report: Record) -> None:
    stack = stack_factory("redis", web_through_proxy=True)
    window: list[float] = []

    def fault(load: Load) -> float:
        assert stack.proxy is not None
        load.wait_until_elapsed(FAULT_AT)
        stack.proxy.cut()
        window.append(time.monotonic())
        load.wait_until_elapsed(FAULT_AT + OUTAGE)
        stack.proxy.restore()
        window.append(time.monotonic())
        return window[1]

    load = run(stack, record_report, f"broker unreachable {OUTAGE:.0f} s", fault)
    cut, restored = window
    assert any(o.ok for o in load.outcomes if cut + 1 < o.sent_at < restored - 1), (
        "nothing was accepted while the broker was unreachable"
    )
