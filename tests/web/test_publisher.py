"""Group commit in the web tier (web/ingest/publisher.py): when a batch goes, and what it holds.

The broker side is tested end to end elsewhere (test_redis_publish, test_fallback, test_backpressure); here
the publish function records the batches it is given, so the tests see exactly how requests were grouped.
"""
import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from common.event import Batch, Event
from tests.services import run_async
from web.ingest.publisher import BatchPublisher

# Long enough that a batch going early can only be the fill rule's doing, never the timer's.
LONG_LINGER = 30.0


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def publish(self, events: Batch) -> None:
        self.batches.append([e.id for e in events])


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield Recorder()


def _publisher(recorder: Recorder, linger: float, max_batch: int = 500) -> BatchPublisher:
    async def fallback(events: Batch) -> None:
        raise AssertionError("the broker accepted every batch; nothing should fall back")

    return BatchPublisher(publish=recorder.publish, fallback=fallback, queue_depth=lambda: 0, max_batch=max_batch,
                          max_pending=10_000, max_queue_depth=1_000, depth_check_seconds=60,
                          linger_seconds=linger)


async def _submit(publisher: BatchPublisher, ids: range) -> list[Any]:
    return await asyncio.gather(*(publisher.submit(Event(id=i, campaign_id=1, event_type="email_click", email="a@b.c", domain="b.c", received_at=0)) for i in ids))


def test_first_batch__waits_the_linger_and_takes_everything_that_came(recorder: Recorder) -> None:
    async def scenario() -> None:
        publisher = _publisher(recorder, linger=0.2)
        first = asyncio.ensure_future(_submit(publisher, range(0, 5)))
        await asyncio.sleep(0.05)  # well inside the linger
        await _submit(publisher, range(5, 8))
        await first
        publisher.close()

    run_async(scenario())
    assert recorder.batches == [[0, 1, 2, 3, 4, 5, 6, 7]]


def test_batch_as_large_as_the_last__goes_without_waiting_out_the_linger(recorder: Recorder) -> None:
    async def scenario() -> None:
        # The first batch has no previous one to go by: its target is the cap, four here.
        publisher = _publisher(recorder, linger=LONG_LINGER, max_batch=4)
        await asyncio.wait_for(_submit(publisher, range(0, 4)), timeout=5)
        # Four again, as a closed loop of four clients would send: published as soon as the fourth arrives.
        await asyncio.wait_for(_submit(publisher, range(4, 8)), timeout=5)
        publisher.close()

    run_async(scenario())
    assert recorder.batches == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_smaller_batch__goes_after_the_linger_and_lowers_the_target(recorder: Recorder) -> None:
    async def scenario() -> None:
        publisher = _publisher(recorder, linger=0.1)
        await _submit(publisher, range(0, 6))  # first batch: the linger, then six
        await _submit(publisher, range(6, 8))  # fewer than six: the linger again, then two
        # Two is now enough: with the linger made long, a batch of two can only go by the fill rule.
        publisher._linger = LONG_LINGER
        await asyncio.wait_for(_submit(publisher, range(8, 10)), timeout=5)
        publisher.close()

    run_async(scenario())
    assert recorder.batches == [[0, 1, 2, 3, 4, 5], [6, 7], [8, 9]]


def test_no_linger__publishes_on_the_next_loop_turn(recorder: Recorder) -> None:
    async def scenario() -> None:
        publisher = _publisher(recorder, linger=0)
        await asyncio.wait_for(_submit(publisher, range(0, 3)), timeout=5)
        await asyncio.wait_for(_submit(publisher, range(3, 4)), timeout=5)
        publisher.close()

    run_async(scenario())
    assert recorder.batches == [[0, 1, 2], [3]]
