"""The kombu fixes in worker/kombu_patches.py: one Redis client per pool, orjson for plain JSON bodies."""
import uuid
from datetime import UTC, datetime

from kombu import Connection
from kombu.serialization import dumps, loads

from common.config import settings
from worker import kombu_patches  # noqa: F401  (installs them)


def test_plain_client__made_once_per_pool_and_anew_for_a_new_pool() -> None:
    with Connection(settings.celery_broker_url) as conn:
        channel = conn.default_channel
        first = channel._create_client()
        assert channel._create_client() is first
        assert first.connection_pool is channel.pool
        assert first.ping()
        channel._pool = None  # what a reconnect does: the next command builds a new pool
        second = channel._create_client()
        assert second is not first and second.connection_pool is channel.pool
        assert channel._create_client(asynchronous=True) is not channel._create_client(asynchronous=True)


def test_json_bodies__plain_ones_decoded_and_tagged_types_still_revived() -> None:
    events = [{"id": 1, "email": "ü@x.com", "ts": 1764000000.5, "extra": {"a": None, "b": [1, 2.5, True]}}]
    content_type, encoding, body = dumps([[events], {}, {}], serializer="json")
    assert loads(body, content_type, encoding) == [[events], {}, {}]

    when, key = datetime(2026, 11, 25, 12, 0, tzinfo=UTC), uuid.uuid4()
    content_type, encoding, body = dumps({"when": when, "key": key}, serializer="json")
    assert "__type__" in body
    assert loads(body, content_type, encoding) == {"when": when, "key": key}
