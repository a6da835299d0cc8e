"""Batches recorded as in flight: a batch a worker took off the Redis queue and never stored is recovered."""

import time
import uuid
from collections.abc import Iterator

import orjson
import psycopg
import pytest
import redis

from common.config import Settings
from common.event import Batch, Event, to_wire
from common.inflight import InflightBatches, QueuedBatches
from tests.checks import assert_rollups_match_recount, stored_ids


@pytest.fixture
def inflight() -> Iterator[InflightBatches]:
    """In-flight records for a queue of this test's own, with a 1 s visibility timeout (library adapters on:
    take_queued() reads the queued messages' format)."""
    queue = f"inflight_test_{uuid.uuid4().hex[:8]}"
    s = Settings(ingest_queue=queue, broker_url="", broker_visibility_timeout_seconds=1, library_adapters=True)
    yield InflightBatches(s)
    client = redis.Redis.from_url(s.celery_broker_url)
    client.delete(queue, f"{queue}.inflight", f"{queue}.inflight.batches")


def _queue(inflight: InflightBatches, *batch_ids: str) -> None:
    """Put messages for these batches on the queue, oldest first, shaped as Celery's (task id in headers)."""
    for batch_id in batch_ids:
        inflight._redis().lpush(inflight._queue, orjson.dumps({"headers": {"id": batch_id}, "body": ""}))


def _events(campaign_id: int, ids: list[int]) -> Batch:
    return [Event(id=i, campaign_id=campaign_id, event_type="email_click", email=f"u{i}@example.com",
                  domain="example.com", received_at=time.time()) for i in ids]


def _e(n: int) -> Event:
    """An event known by its id: the journal keeps it whole, whatever it holds."""
    return Event(id=n, campaign_id=1, event_type="email_click", email=f"u{n}@example.com", domain="example.com",
                 received_at=1.8e9)


def test_stale__batches_taken_off_the_queue_and_older_than_the_timeout(inflight: InflightBatches) -> None:
    inflight.add("dropped", [_e(1)])
    inflight.add("queued", [_e(2)])
    _queue(inflight, "queued")  # "dropped" was taken off the queue by a worker that then died
    assert inflight.stale() == []  # younger than the visibility timeout
    time.sleep(1.1)
    assert inflight.stale() == [("dropped", [_e(1)])]
    inflight.forget("dropped")
    assert inflight.stale() == []


def test_stale__empty_queue_means_every_old_batch_was_taken(inflight: InflightBatches) -> None:
    inflight.add("a", [_e(1)])
    inflight.add("b", [_e(2)])
    time.sleep(1.1)
    assert sorted(batch_id for batch_id, _ in inflight.stale()) == ["a", "b"]


def test_stale__head_of_queue_unknown__nothing_swept(inflight: InflightBatches) -> None:
    inflight.add("a", [_e(1)])
    _queue(inflight, "published-by-someone-else")
    time.sleep(1.1)
    assert inflight.stale() == []


def test_disabled_with_rabbitmq() -> None:
    batches = InflightBatches(Settings(broker_url="amqp://guest:guest@127.0.0.1:5672//"))
    assert not batches.enabled
    batches.add("a", [_e(1)])  # no broker call at all
    assert batches.stale() == []


def test_recover__dropped_batch_stored_once_and_forgotten(
    inflight: InflightBatches, db: psycopg.Connection, campaign_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import worker.tasks

    monkeypatch.setattr(worker.tasks, "inflight", inflight)
    ids = [r[0] for r in db.execute("SELECT nextval('events_id_seq') FROM generate_series(1, 10)")]
    dropped, stored = _events(campaign_id, ids[:5]), _events(campaign_id, ids[5:])
    inflight.add("dropped", dropped)
    inflight.add("stored", stored)
    worker.tasks.ingest_batch.apply(args=[to_wire(stored)], task_id="stored")  # as a worker would: stored, forgotten
    time.sleep(1.1)

    assert worker.tasks.recover_dropped_batches() == 1
    assert sorted(stored_ids(db, campaign_id)) == sorted(ids)
    assert inflight.stale() == []
    assert worker.tasks.recover_dropped_batches() == 0
    assert_rollups_match_recount(db, campaign_id)


def _publish(inflight: InflightBatches, *batches: Batch) -> None:
    """Journal and queue batches as the web tier does."""
    from web.ingest.redis_publish import RedisBatchPublisher

    publisher = RedisBatchPublisher(Settings(ingest_queue=inflight._queue, broker_url=""), inflight)
    for events in batches:
        publisher.publish(events)


def test_take_queued__journaled_batches_oldest_first_at_most_asked(inflight: InflightBatches) -> None:
    _publish(inflight, [_e(1)], [_e(2), _e(3)], [_e(4)])
    taken = inflight.take_queued(2)
    assert taken.events == [_e(1), _e(2), _e(3)]
    assert len(taken.ids) == len(taken.messages) == 2
    assert inflight._redis().llen(inflight._queue) == 1
    inflight.forget(*taken.ids)  # stored
    time.sleep(1.1)
    assert [events for _, events in inflight.stale()] == []  # the last one is still queued


def test_take_queued__stops_at_a_batch_the_journal_does_not_hold(inflight: InflightBatches) -> None:
    _publish(inflight, [_e(1)])
    _queue(inflight, "published-without-the-journal")
    _publish(inflight, [_e(2)])
    assert inflight.take_queued(10).events == [_e(1)]
    assert inflight.take_queued(10).events == []  # the unjournaled one is left at the head, for Celery
    assert inflight._redis().llen(inflight._queue) == 2


def test_take_queued__library_adapters_off__takes_nothing(inflight: InflightBatches) -> None:
    _publish(inflight, [_e(1)], [_e(2)])
    stock = InflightBatches(Settings(ingest_queue=inflight._queue, broker_url="", library_adapters=False))
    assert stock.take_queued(10) == QueuedBatches()
    assert inflight._redis().llen(inflight._queue) == 2


def test_stale__head_of_an_unknown_format__nothing_swept_until_the_queue_is_empty(
    inflight: InflightBatches,
) -> None:
    inflight.add("a", [_e(1)])
    time.sleep(1.1)
    for message in (b"not json", b"[1, 2]", b'{"headers": "x"}', b'{"headers": _e(7)}'):
        inflight._redis().lpush(inflight._queue, message)
        assert inflight.stale() == [], message
        inflight._redis().delete(inflight._queue)
    assert inflight.stale() == [("a", [_e(1)])]


def test_put_back__batches_return_to_the_head_in_order(inflight: InflightBatches) -> None:
    _publish(inflight, [_e(1)], [_e(2)], [_e(3)])
    inflight.put_back(inflight.take_queued(2))
    assert inflight.take_queued(10).events == [_e(1), _e(2), _e(3)]


def test_forget__several_batches_at_once(inflight: InflightBatches) -> None:
    inflight.add("a", [_e(1)])
    inflight.add("b", [_e(2)])
    inflight.add("c", [_e(3)])
    inflight.forget("a", "b")
    time.sleep(1.1)
    assert [batch_id for batch_id, _ in inflight.stale()] == ["c"]
