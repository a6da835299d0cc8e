"""Fixes to kombu's Redis transport, JSON decoding and event loop, for the worker (worker/celery_app.py).

Importing this module replaces kombu functions with wrappers around the originals; the event-loop hook is
added to the worker's hub once it is ready. tests/worker/test_kombu_patches.py and
tests/worker/test_broker_connection.py check the behaviour they promise.
"""
from typing import Any

import orjson
import redis
from kombu.asynchronous.hub import Hub
from kombu.serialization import register
from kombu.transport import redis as kombu_redis
from kombu.utils.json import dumps as kombu_dumps
from kombu.utils.json import loads as kombu_loads

_connparams = kombu_redis.Channel._connparams
_create_client = kombu_redis.Channel._create_client


def _connparams_while_connected(self: kombu_redis.Channel, asynchronous: bool = False) -> dict[str, Any]:
    """Kombu's, but a channel whose connection was closed fails with a connection error, not AttributeError.

    Found by the Redis restart chaos test: after the broker connection drops, Celery acks a finished task or
    restores unacked messages on the old channel, whose transport lost its connection info; kombu then raised
    AttributeError, which Celery takes as unrecoverable, and the worker exited. A connection error is handled:
    logged, and the message stays unacknowledged until the visibility timeout brings it back.
    """
    if self.connection is None or self.connection.client is None:
        raise redis.exceptions.ConnectionError("the broker connection this channel used is closed")
    return _connparams(self, asynchronous=asynchronous)  # type: ignore[no-any-return]


def _client_per_pool(self: kombu_redis.Channel, asynchronous: bool = False) -> Any:
    """Kombu's, but the plain client is made once per connection pool instead of once per command.

    Kombu built a new redis.Redis (and its table of ~200 response callbacks) to record each message it
    delivers as unacknowledged and again to ack it: ~8 % of a worker's CPU under load (py-spy,
    docs/performance.md). A client only borrows connections from the pool per command, so one per pool
    behaves the same; a channel that gets a new pool (reconnect) gets a new client, and a closed one still
    fails in `_connparams_while_connected` when it asks for its pool.
    """
    if asynchronous:
        return _create_client(self, asynchronous=True)
    pool = self.pool
    client = self.__dict__.get("_client_for_pool")
    if client is None or client.connection_pool is not pool:
        client = self.__dict__["_client_for_pool"] = _create_client(self)
    return client


def _loads(data: str | bytes) -> Any:
    """JSON message bodies through orjson; kombu's decoder only for the types it tags (datetime, UUID, ...).

    Kombu decodes every body with the standard library and a Python hook per object: ~10 % of a worker's
    CPU for batches of events. Bodies this app sends are plain JSON; a tagged one (a datetime argument, say)
    still goes through kombu, which turns `{"__type__": ...}` back into the value.
    """
    tagged = "__type__" in data if isinstance(data, str) else b"__type__" in data
    if tagged:
        return kombu_loads(data)
    return orjson.loads(data)


def wake_hub_with_pending_callbacks(hub: Hub) -> None:
    """An `on_tick` hook: if callbacks are waiting, make the coming poll return at once instead of sleeping.

    Found by the RabbitMQ worker-kill chaos test (~1 run in 5 under load): the solo worker sat in epoll
    with the acks of its last 4 batches and the reader's next turn queued in `hub._ready`, so RabbitMQ
    (prefetch 4, all unacked) sent nothing more and nothing woke the loop: the ingest queue stopped for
    good. Callbacks queued while the loop runs its ready list (a batch stored from there queues its ack)
    are only run on the next turn, after the poll. Waking through the hub's own waker, as `call_soon` does
    from other threads, keeps that turn immediate.
    """
    with hub._ready_lock:
        if not hub._ready or hub._wake_pending or hub._waker is None:
            return
        hub._wake_pending = True
    hub._waker.wake()


def install() -> None:
    kombu_redis.Channel._connparams = _connparams_while_connected  # type: ignore[method-assign]
    kombu_redis.Channel._create_client = _client_per_pool  # type: ignore[method-assign]
    register("json", kombu_dumps, _loads, content_type="application/json", content_encoding="utf-8")


install()
