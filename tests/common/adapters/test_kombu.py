"""common/adapters/kombu.py: a closed channel fails with a connection error, one Redis client per pool, orjson
for plain JSON bodies, an event loop that runs queued callbacks before it sleeps, and the message as kombu's
Redis transport stores it (tested with the Celery part in test_celery.py)."""
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from kombu import Connection
from kombu.asynchronous.hub import Hub
from kombu.serialization import dumps, loads
from kombu.transport import redis as kombu_redis

from common.adapters import kombu as kombu_adapter
from common.config import Settings, settings


@pytest.fixture(autouse=True)
def installed() -> Iterator[None]:
    """The fixes installed for the test, whatever LIBRARY_ADAPTERS says; the process's state restored after."""
    patched = kombu_redis.Channel._create_client is not kombu_adapter._stock_create_client
    assert kombu_adapter.install(Settings(library_adapters=True))
    yield
    if patched:
        kombu_adapter.install(Settings(library_adapters=True))
    else:
        kombu_adapter.uninstall()


def test_channel_of_a_collected_connection__connection_error_not_attribute_error() -> None:
    with Connection(settings.celery_broker_url) as conn:
        channel = conn.default_channel
        conn.collect()  # what Celery does with a connection it lost: the transport forgets its connection info
        # Acking or restoring on this channel needs a new Redis client; a connection error is recoverable.
        with pytest.raises(redis.exceptions.ConnectionError):
            channel.qos.ack("some-delivery-tag")


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


def test_uninstall__kombu_as_shipped_again() -> None:
    kombu_adapter.uninstall()
    assert kombu_redis.Channel._create_client is kombu_adapter._stock_create_client
    with Connection(settings.celery_broker_url) as conn:
        channel = conn.default_channel
        assert channel._create_client() is not channel._create_client()
        conn.collect()
        with pytest.raises(AttributeError):  # the bug this adapter fixes (docs/upstream/)
            channel.qos.ack("some-delivery-tag")
    content_type, encoding, body = dumps({"when": datetime(2026, 1, 1, tzinfo=UTC)}, serializer="json")
    assert loads(body, content_type, encoding) == {"when": datetime(2026, 1, 1, tzinfo=UTC)}


def test_event_loop__callbacks_queued_by_a_ready_callback_wake_the_poll() -> None:
    """A callback queued while the hub runs its ready list (a batch's ack) must not wait for the next event.

    A socket is registered so the hub polls, and a timer entry 60 s away gives the poll a timeout (the
    timer's 2 s cap): without the hook the first turn sleeps that long and its poll returns nothing.
    """
    hub = Hub()
    reader, writer = socket.socketpair()
    ran: list[str] = []
    polled: list[list[tuple[int, int]]] = []
    try:
        hub.add_reader(reader, lambda: None)
        hub.timer.call_after(60, lambda: None)
        assert kombu_adapter.keep_hub_awake(hub, Settings(library_adapters=True))  # as on worker_ready
        hub.call_soon(lambda: (ran.append("stored"), hub.call_soon(ran.append, "acked")))
        poll = hub.poller.poll

        def recording_poll(timeout: float | None) -> list[tuple[int, int]]:
            events = poll(timeout) or []
            polled.append(list(events))
            return events

        hub.poller.poll = recording_poll  # type: ignore[method-assign]
        loop = hub.create_loop()  # captures the recording poll
        next(loop)
        assert ran == ["stored"]
        assert polled == [[(hub._waker.fileno(), hub.READ)]], "the poll was not woken"
        next(loop)
        assert ran == ["stored", "acked"]
    finally:
        hub.close()
        reader.close()
        writer.close()


def test_worker_ready__the_worker_adds_the_hook_as_the_switch_says() -> None:
    from types import SimpleNamespace

    from worker import celery_app

    hub = Hub()
    try:
        celery_app._keep_event_loop_awake(sender=SimpleNamespace(hub=hub))
        assert bool(hub.on_tick) == kombu_adapter.active(settings)
    finally:
        hub.close()
