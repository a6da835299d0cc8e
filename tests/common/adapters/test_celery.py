"""common/adapters/celery.py with kombu's envelope: the web tier's message is the one Celery's send_task writes."""
import base64
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis

from common.adapters import celery as celery_adapter
from common.adapters import kombu as kombu_adapter
from common.config import Settings
from common.queue import INGEST_TASK, make_celery

EVENTS = [{"id": 7, "cid": 1, "type": "email_click", "email": "a@b.com", "domain": "d.com", "ip": "1.2.3.4",
           "ua": "UA \"quoted\" ü", "extra": {"sub": "x"}, "ts": 1764000000.25}]


@pytest.fixture
def settings() -> Iterator[Settings]:
    """Settings for a queue of this test's own on the test Redis, deleted afterwards."""
    s = Settings(ingest_queue=f"message_test_{uuid.uuid4().hex[:8]}")
    yield s
    redis.Redis.from_url(s.celery_broker_url).delete(s.ingest_queue)


def _pop(s: Settings) -> dict[str, Any]:
    raw = redis.Redis.from_url(s.celery_broker_url).rpop(s.ingest_queue)
    assert raw is not None
    return dict(orjson.loads(raw))


def test_message__same_as_celery_send_task_writes(settings: Settings) -> None:
    make_celery(settings).send_task(INGEST_TASK, args=[EVENTS], task_id="t1", queue=settings.ingest_queue,
                                    argsrepr="[<1 events>]", kwargsrepr="{}")
    theirs = _pop(settings)
    task = celery_adapter.task_message(INGEST_TASK, "t1", orjson.dumps([EVENTS]), "[<1 events>]",
                                       celery_adapter.origin())
    ours = orjson.loads(kombu_adapter.redis_message(task, settings.ingest_queue))

    assert ours["headers"] == theirs["headers"]
    assert orjson.loads(base64.b64decode(ours["body"])) == orjson.loads(base64.b64decode(theirs["body"]))
    assert {k: v for k, v in ours.items() if k not in ("body", "headers", "properties")} == \
           {k: v for k, v in theirs.items() if k not in ("body", "headers", "properties")}
    # reply_to names Celery's result consumer, which an ignore_result task never uses; delivery tags are unique.
    volatile = ("reply_to", "delivery_tag")
    assert {k: v for k, v in ours["properties"].items() if k not in volatile} == \
           {k: v for k, v in theirs["properties"].items() if k not in volatile}
    assert ours["properties"]["delivery_tag"] != theirs["properties"]["delivery_tag"]


def test_message__kombu_consumes_it_as_the_task(settings: Settings) -> None:
    task = celery_adapter.task_message(INGEST_TASK, "t2", orjson.dumps([EVENTS]), "[<1 events>]", "gen1@host")
    redis.Redis.from_url(settings.celery_broker_url).lpush(settings.ingest_queue,
                                                           kombu_adapter.redis_message(task, settings.ingest_queue))
    with make_celery(settings).connection_for_read() as conn:
        queue = conn.SimpleQueue(settings.ingest_queue)
        message = queue.get(timeout=5)
        assert (message.headers["task"], message.headers["id"]) == (INGEST_TASK, "t2")
        assert message.payload[0] == [EVENTS]  # (args, kwargs, embed): args is [events]
        message.ack()
        queue.close()
