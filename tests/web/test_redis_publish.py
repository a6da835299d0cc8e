"""The web tier's own Redis publish: the same message as Celery's send_task, and the journal written with it."""
import base64
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis

from common.config import Settings
from common.inflight import InflightBatches
from common.queue import INGEST_TASK, make_celery
from web.ingest.redis_publish import RedisBatchPublisher

EVENTS = [{"id": 7, "cid": 1, "type": "email_click", "email": "a@b.com", "domain": "d.com", "ip": "1.2.3.4",
           "ua": "UA \"quoted\" ü", "extra": {"sub": "x"}, "ts": 1764000000.25}]


@pytest.fixture
def settings() -> Iterator[Settings]:
    """Settings for a queue of this test's own on the test Redis, deleted afterwards."""
    s = Settings(ingest_queue=f"publish_test_{uuid.uuid4().hex[:8]}")
    yield s
    q = s.ingest_queue
    redis.Redis.from_url(s.celery_broker_url).delete(q, f"{q}.inflight", f"{q}.inflight.batches")


def _pop(s: Settings) -> dict[str, Any]:
    raw = redis.Redis.from_url(s.celery_broker_url).rpop(s.ingest_queue)
    assert raw is not None
    return dict(orjson.loads(raw))


def test_message__same_as_celery_send_task_writes(settings: Settings) -> None:
    celery_app = make_celery(settings)
    celery_app.send_task(INGEST_TASK, args=[EVENTS], task_id="t1", queue=settings.ingest_queue,
                         argsrepr="[<1 events>]", kwargsrepr="{}")
    theirs = _pop(settings)
    publisher = RedisBatchPublisher(settings, InflightBatches(settings))
    ours = orjson.loads(publisher.message("t1", orjson.dumps(EVENTS), len(EVENTS)))

    assert ours["headers"] == theirs["headers"]
    assert orjson.loads(base64.b64decode(ours["body"])) == orjson.loads(base64.b64decode(theirs["body"]))
    assert {k: v for k, v in ours.items() if k not in ("body", "headers", "properties")} == \
           {k: v for k, v in theirs.items() if k not in ("body", "headers", "properties")}
    # reply_to names Celery's result consumer, which an ignore_result task never uses; delivery tags are unique.
    volatile = ("reply_to", "delivery_tag")
    assert {k: v for k, v in ours["properties"].items() if k not in volatile} == \
           {k: v for k, v in theirs["properties"].items() if k not in volatile}
    assert ours["properties"]["delivery_tag"] != theirs["properties"]["delivery_tag"]


def test_publish__kombu_reads_the_task_and_the_journal_holds_the_batch(settings: Settings) -> None:
    journal = InflightBatches(settings)
    RedisBatchPublisher(settings, journal).publish(EVENTS)

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
    publisher.publish(EVENTS)
    publisher.publish(EVENTS)
    assert publisher.depth() == 2
