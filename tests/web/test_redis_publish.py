"""The web tier's publish to a Redis broker: the batch reaches the queue as the ingest task kombu reads, and the
journal holds it. One round trip with the library adapters (web/ingest/redis_publish.py); the journal first,
then Celery's send_task, without them (web/ingest/pipeline.py)."""
import uuid
from collections.abc import Callable, Iterator
from functools import partial

import orjson
import pytest
import redis

from common.config import Settings
from common.event import Batch, from_wire
from common.inflight import InflightBatches
from common.queue import INGEST_TASK, make_celery
from web.ingest.pipeline import _journal_then_send_task
from web.ingest.redis_publish import RedisBatchPublisher

pytestmark = pytest.mark.stock_path

EVENTS = [{"id": 7, "cid": 1, "type": "email_click", "email": "a@b.com", "domain": "d.com", "ip": "1.2.3.4",
           "ua": "UA \"quoted\" ü", "extra": {"sub": "x"}, "ts": 1764000000.25}]


@pytest.fixture
def settings() -> Iterator[Settings]:
    """Settings for a queue of this test's own on the test Redis, deleted afterwards."""
    s = Settings(ingest_queue=f"publish_test_{uuid.uuid4().hex[:8]}")
    yield s
    q = s.ingest_queue
    redis.Redis.from_url(s.celery_broker_url).delete(q, f"{q}.inflight", f"{q}.inflight.batches")


@pytest.fixture(params=["one round trip", "journal then send_task"])
def publish(request: pytest.FixtureRequest, settings: Settings) -> Callable[[Batch], None]:
    journal = InflightBatches(settings)
    if request.param == "one round trip":
        return RedisBatchPublisher(settings, journal).publish
    return partial(_journal_then_send_task, make_celery(settings), settings, journal)


def test_publish__kombu_reads_the_task_and_the_journal_holds_the_batch(
    settings: Settings, publish: Callable[[Batch], None]
) -> None:
    publish(from_wire(EVENTS))

    with make_celery(settings).connection_for_read() as conn:
        queue = conn.SimpleQueue(settings.ingest_queue)
        message = queue.get(timeout=5)
        assert message.headers["task"] == INGEST_TASK
        assert message.payload[0] == [EVENTS]  # (args, kwargs, embed): args is [events]
        batch_id = message.headers["id"]
        message.ack()
        queue.close()

    client = redis.Redis.from_url(settings.celery_broker_url)
    assert orjson.loads(client.hget(f"{settings.ingest_queue}.inflight.batches", batch_id)) == EVENTS
    assert client.zscore(f"{settings.ingest_queue}.inflight", batch_id) is not None


def test_depth__counts_queued_batches(settings: Settings) -> None:
    publisher = RedisBatchPublisher(settings, InflightBatches(settings))
    assert publisher.depth() == 0
    publisher.publish(from_wire(EVENTS))
    publisher.publish(from_wire(EVENTS))
    assert publisher.depth() == 2
