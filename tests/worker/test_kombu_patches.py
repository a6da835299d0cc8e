"""The kombu fixes in worker/kombu_patches.py: one Redis client per pool, orjson for plain JSON bodies, an
event loop that runs queued callbacks before it sleeps."""
import socket
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

from kombu import Connection
from kombu.asynchronous.hub import Hub
from kombu.serialization import dumps, loads

from common.config import settings
from worker import celery_app, kombu_patches  # noqa: F401  (installs them)


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
        celery_app._keep_event_loop_awake(sender=SimpleNamespace(hub=hub))  # as on worker_ready
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
