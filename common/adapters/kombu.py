"""kombu: fixes to the Redis transport and the event loop, a faster JSON decoder, and the message as the Redis
transport stores it.

Tested with kombu 5.7.0 and redis-py 8.2.0 (the transport's client). Private names touched:
`kombu.transport.redis.Channel._connparams` and `._create_client` (wrapped), the hub's `_ready`,
`_ready_lock`, `_wake_pending` and `_waker` (read, and the waker woken, by an `on_tick` hook), and the JSON
kombu's Redis transport LPUSHes for a message (`Channel._put` after `_inplace_augment_message`): built by
the web tier (`redis_message`) and read by the worker's Lua script (`TAKE_QUEUED`). The `json` serializer is
re-registered through kombu's public `register`.

What each bought (docs/performance.md, docs/reliability.md):
- a closed channel fails with a connection error, not AttributeError: the worker exited on a Redis restart
  in 2 chaos runs of 6 before;
- the event loop woken when callbacks are queued: the RabbitMQ solo worker stalled holding its prefetched
  batches in 14 chaos runs of 78 before, in none of 23 after; ingest no slower (ratio 0.545-0.575 with the
  hook, 0.511-0.534 without, session 4);
- one plain Redis client per connection pool instead of one per ack and per unacked record (~60 us each,
  8-11 % of a solo worker's CPU) and orjson for plain JSON bodies (12 %): with hiredis, worker CPU 84-86 ->
  64-66 us per event (06fd93e, prefork, session 3). redis-py 8.2.0 caches its callback table: a client now
  costs ~2.4 us here (docs/upstream/kombu-redis-client-per-command.md), so that part is worth little today;
- the web tier's publish in one round trip (journal entry and message in one MULTI; the task message from
  common/adapters/celery.py): web CPU 131-151 -> 75-89 us per event, ratio 0.40-0.43 -> 0.57-0.65 (fed1111,
  session 3);
- waiting batches stored together (`TAKE_QUEUED`): a solo worker alone 5,115-5,349 -> 8,153-8,736 events/s,
  57-60 -> 17 us of worker CPU per event (`bench/worker_drain.py`, session 6).

Stock path, when off: kombu's own transport, decoder and event loop; the web tier records the batch in the
in-flight journal and then publishes it through Celery's `send_task` (two round trips); the worker stores each
batch on its own (no merging: it reads the message format). The in-flight journal and its `recover` job
(common/inflight.py) stay on: they are this project's answer to kombu's take-then-record race and use no
private kombu code. Off, a Redis restart can again stop the worker (a supervisor restarts it; nothing is lost,
queued batches wait; not seen in 6 chaos-lite runs with the solo worker) and a RabbitMQ solo worker can again
stall until restarted (docs/upstream/ has each bug's report and patch).
"""
import base64
import uuid
from functools import partial
from typing import Any

import orjson
import redis
from kombu.asynchronous.hub import Hub
from kombu.serialization import register, register_json
from kombu.transport import redis as kombu_redis
from kombu.utils.json import dumps as kombu_dumps
from kombu.utils.json import loads as kombu_loads

from common.adapters import Adapter
from common.adapters import celery as celery_adapter
from common.config import Settings

ADAPTER = Adapter(
    module="common/adapters/kombu.py",
    tested=(("kombu", "5.7.0"), ("redis", "8.2.0")),
    stock="kombu's Redis transport, JSON decoder and event loop run unpatched (kombu's bugs in docs/upstream/ "
          "can stop a worker after a Redis restart, or stall one on RabbitMQ, until it is restarted), the web "
          "tier publishes through Celery's send_task after recording the batch (two round trips) and the "
          "worker stores batches one by one",
)


def active(settings: Settings) -> bool:
    return ADAPTER.active(settings)


def hand_built_messages(settings: Settings) -> bool:
    """Whether the web tier may write task messages itself and the worker read them (kombu's and Celery's format)."""
    return active(settings) and celery_adapter.active(settings)


# --- the worker's fixes -----------------------------------------------------------------------------------

# Private methods, not in kombu's type stubs (celery-types): the ignores below name what this module is for.
_stock_connparams = kombu_redis.Channel._connparams  # type: ignore[attr-defined]
_stock_create_client = kombu_redis.Channel._create_client  # type: ignore[attr-defined]


def _connparams_while_connected(self: kombu_redis.Channel, asynchronous: bool = False) -> dict[str, Any]:
    """Kombu's, but a channel whose connection was closed fails with a connection error, not AttributeError.

    Found by the Redis restart chaos test: after the broker connection drops, Celery acks a finished task or
    restores unacked messages on the old channel, whose transport lost its connection info; kombu then raised
    AttributeError, which Celery takes as unrecoverable, and the worker exited. A connection error is handled:
    logged, and the message stays unacknowledged until the visibility timeout brings it back.
    """
    if self.connection is None or self.connection.client is None:
        raise redis.exceptions.ConnectionError("the broker connection this channel used is closed")
    return _stock_connparams(self, asynchronous=asynchronous)  # type: ignore[no-any-return]


def _client_per_pool(self: kombu_redis.Channel, asynchronous: bool = False) -> Any:
    """Kombu's, but the plain client is made once per connection pool instead of once per command.

    Kombu built a new redis.Redis (and its table of ~200 response callbacks) to record each message it
    delivers as unacknowledged and again to ack it. A client only borrows connections from the pool per
    command, so one per pool behaves the same; a channel that gets a new pool (reconnect) gets a new client,
    and a closed one still fails in `_connparams_while_connected` when it asks for its pool.
    """
    if asynchronous:
        return _stock_create_client(self, asynchronous=True)
    pool = self.pool
    client = self.__dict__.get("_client_for_pool")
    if client is None or client.connection_pool is not pool:
        client = self.__dict__["_client_for_pool"] = _stock_create_client(self)
    return client


def _loads(data: str | bytes) -> Any:
    """JSON message bodies through orjson; kombu's decoder only for the types it tags (datetime, UUID, ...).

    Kombu decodes every body with the standard library and a Python hook per object. Bodies this app sends
    are plain JSON; a tagged one (a datetime argument, say) still goes through kombu, which turns
    `{"__type__": ...}` back into the value.
    """
    tagged = "__type__" in data if isinstance(data, str) else b"__type__" in data
    if tagged:
        return kombu_loads(data)
    return orjson.loads(data)


def install(settings: Settings) -> bool:
    """Patch kombu for this process (the worker, beat) if the adapter is active; returns whether it did."""
    if not active(settings):
        return False
    kombu_redis.Channel._connparams = _connparams_while_connected  # type: ignore[attr-defined]
    kombu_redis.Channel._create_client = _client_per_pool  # type: ignore[attr-defined]
    register("json", kombu_dumps, _loads, content_type="application/json", content_encoding="utf-8")
    return True


def uninstall() -> None:
    """Kombu as shipped again (tests)."""
    kombu_redis.Channel._connparams = _stock_connparams  # type: ignore[attr-defined]
    kombu_redis.Channel._create_client = _stock_create_client  # type: ignore[attr-defined]
    register_json()


def wake_hub_with_pending_callbacks(hub: Hub) -> None:
    """An `on_tick` hook: if callbacks are waiting, make the coming poll return at once instead of sleeping.

    Found by the RabbitMQ worker-kill chaos test (~1 run in 5 under load): the solo worker sat in epoll
    with the acks of its last 4 batches and the reader's next turn queued in `hub._ready`, so RabbitMQ
    (prefetch 4, all unacked) sent nothing more and nothing woke the loop: the ingest queue stopped for
    good. Callbacks queued while the loop runs its ready list (a batch stored from there queues its ack)
    are only run on the next turn, after the poll. Waking through the hub's own waker, as `call_soon` does
    from other threads, keeps that turn immediate.
    """
    private: Any = hub  # the hub's private state: not in its type stubs
    with private._ready_lock:
        if not private._ready or private._wake_pending or private._waker is None:
            return
        private._wake_pending = True
    private._waker.wake()


def keep_hub_awake(hub: Hub, settings: Settings) -> bool:
    """Add the wake-up hook to the worker's event loop if the adapter is active; returns whether it did."""
    if not active(settings):
        return False
    hooks: Any = hub.on_tick  # a set in kombu 5.7 (the stubs say list)
    hooks.add(partial(wake_hub_with_pending_callbacks, hub))
    return True


# --- the message as the Redis transport stores it ------------------------------------------------------

def redis_message(message: celery_adapter.TaskMessage, queue: str) -> bytes:
    """The JSON kombu's Redis transport LPUSHes onto `queue` for this task message, as `send_task` would.

    Kombu's producer serializes the body (JSON), the virtual channel base64-encodes it and adds the delivery
    properties (`_inplace_augment_message`); `delivery_tag` only has to be unique.
    """
    return orjson.dumps({
        "body": base64.b64encode(message.body).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": message.headers,
        "properties": {
            **message.properties, "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
            "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
        },
    })


# Atomically takes up to ARGV[1] messages off the queue's consuming end (kombu's BRPOP's), oldest first,
# stopping at the first that is not a task ARGV[2] without an ETA whose id (Celery protocol 2: headers.id)
# the journal's hash KEYS[2] holds: so a batch taken here and never stored (worker killed) is still
# recovered by the sweep (common/inflight.py). Returns batch id, message and the journal's events for each.
# A message of any other shape stops the loop: nothing is taken that the journal could not bring back.
TAKE_QUEUED = """
local taken = {}
for _ = 1, tonumber(ARGV[1]) do
    local message = redis.call('LINDEX', KEYS[1], -1)
    if not message then break end
    local ok, decoded = pcall(cjson.decode, message)
    if not ok or type(decoded) ~= 'table' or type(decoded.headers) ~= 'table' then break end
    local headers = decoded.headers
    if headers.task ~= ARGV[2] or headers.eta ~= cjson.null or type(headers.id) ~= 'string' then break end
    local events = redis.call('HGET', KEYS[2], headers.id)
    if not events then break end
    redis.call('RPOP', KEYS[1])
    table.insert(taken, headers.id)
    table.insert(taken, message)
    table.insert(taken, events)
end
return taken
"""
