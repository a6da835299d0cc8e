"""Batches published to a Redis broker and not yet stored, so that one a killed worker dropped is recovered.

Kombu's Redis transport takes a message off the queue (BRPOP) before it records it as unacknowledged; a
worker killed in between (the reply in flight, or read but not yet recorded) loses the message for good, and
the visibility timeout cannot bring it back (tests/chaos: `kill -9` of a busy worker loses a batch this way
now and then). So the web tier records each batch here before publishing it, the worker forgets it once it
is stored, and a periodic sweep (the `recover` beat job) stores whatever stayed here longer than the
visibility timeout and is no longer in the queue. Storing is idempotent: a batch swept while a worker still
holds it is stored twice to no effect. RabbitMQ needs none of this (a delivered message stays unacknowledged
until acked), so it is off there. It is no library adapter: it stays on with LIBRARY_ADAPTERS off, and only
take_queued() depends on the queued messages' format (common/adapters/kombu.py).
"""

import os
import time
from dataclasses import dataclass, field
from typing import cast

import orjson
import redis

from common.adapters import kombu as kombu_adapter
from common.config import Settings
from common.event import Batch, decode, encode
from common.queue import INGEST_TASK


@dataclass(frozen=True)
class QueuedBatches:
    """Batches a worker took off the queue to store together with the one it was given."""

    ids: list[str] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)
    events: Batch = field(default_factory=list)


class InflightBatches:
    def __init__(self, s: Settings) -> None:
        self.enabled = s.uses_redis_broker
        self._settings = s
        self._url = s.celery_broker_url
        self._timeout = s.broker_publish_timeout_seconds
        self._visibility = s.broker_visibility_timeout_seconds
        self._queue = s.ingest_queue
        self._index = f"{s.ingest_queue}.inflight"  # zset: batch id -> when it was recorded
        self._batches = f"{s.ingest_queue}.inflight.batches"  # hash: batch id -> the events (JSON)
        self._client: redis.Redis | None = None
        self._pid = 0

    def _redis(self) -> redis.Redis:
        if self._client is None or self._pid != os.getpid():  # never share a socket with a forked parent
            self._client = redis.Redis.from_url(
                self._url, socket_timeout=self._timeout, socket_connect_timeout=2
            )
            self._pid = os.getpid()
        return self._client

    def add(self, batch_id: str, events: Batch) -> None:
        """Record a batch about to be published (raises when Redis does not take it)."""
        if self.enabled:
            with self._redis().pipeline(transaction=True) as pipe:
                self.record(pipe, batch_id, encode(events))
                pipe.execute()

    def record(self, pipe: "redis.client.Pipeline", batch_id: str, events_json: bytes) -> None:
        """Add the commands that record a batch to the caller's MULTI (web/ingest/redis_publish.py: with the publish)."""
        pipe.hset(self._batches, batch_id, events_json)
        pipe.zadd(self._index, {batch_id: time.time()})

    def forget(self, *batch_ids: str) -> None:
        """The batches are stored."""
        if self.enabled and batch_ids:
            # No MULTI: an index entry left without its batch is dropped by the sweep (stale() below).
            with self._redis().pipeline(transaction=False) as pipe:
                pipe.zrem(self._index, *batch_ids)
                pipe.hdel(self._batches, *batch_ids)
                pipe.execute()

    def take_queued(self, most: int) -> QueuedBatches:
        """Take up to `most` batches waiting at the head of the queue, if the journal holds them (one call).

        It reads the queued messages' format (common/adapters/kombu.py): with that adapter off, it takes none.
        """
        if not self.enabled or most <= 0 or not kombu_adapter.hand_built_messages(self._settings):
            return QueuedBatches()
        client = self._redis()
        flat = client.register_script(kombu_adapter.TAKE_QUEUED)(keys=[self._queue, self._batches],
                                                                 args=[most, INGEST_TASK])
        taken = QueuedBatches()
        for batch_id, message, events in zip(flat[0::3], flat[1::3], flat[2::3], strict=True):
            taken.ids.append(batch_id.decode())
            taken.messages.append(message)
            taken.events.extend(decode(events))
        return taken

    def put_back(self, taken: QueuedBatches) -> None:
        """Return batches taken by take_queued() to the head of the queue, in their order."""
        if taken.messages:
            self._redis().rpush(self._queue, *reversed(taken.messages))

    def stale(self, limit: int = 20) -> list[tuple[str, Batch]]:
        """Batches recorded more than the visibility timeout ago that the queue no longer holds.

        The queue is FIFO, so every batch recorded before the one at its head has been taken off it; a batch
        that went back to the queue (redelivered, rejected) may be returned too: a duplicate insert, no more.
        The head's batch id is read as `queued_batch_id()` reads it; why no other format can lose or double a
        batch is said there.
        """
        if not self.enabled:
            return []
        client = self._redis()
        cutoff = time.time() - self._visibility
        head = client.lindex(self._queue, -1)
        if head is not None:
            head_id = queued_batch_id(head)
            recorded = client.zscore(self._index, head_id) if head_id else None
            if recorded is None:
                return []  # cannot tell which batches are still queued; the next sweep will
            cutoff = min(cutoff, recorded)
        ids = cast(list[bytes], client.zrangebyscore(self._index, "-inf", f"({cutoff}", start=0, num=limit))
        if not ids:
            return []
        found = []
        for batch_id, payload in zip(ids, client.hmget(self._batches, ids), strict=True):
            if payload is None:
                client.zrem(self._index, batch_id)
            else:
                found.append((batch_id.decode(), decode(payload)))
        return found


def queued_batch_id(message: bytes | str) -> str | None:
    """The batch id of a message in the queue: its task id, `headers.id` in Celery's protocol 2 (documented),
    which kombu's Redis transport keeps at the top of the JSON it stores. None for anything else.

    stale() only uses it to decide which batches are no longer queued, so a format it does not know cannot
    lose or double a batch. No id, or one the journal does not hold: nothing is swept until the head changes,
    and once the queue is empty every old batch is (late, never lost). An id the journal holds is a batch this
    app published; if the format changed so that it is not in fact the head's (a transport that took from the
    other end, say), batches still queued are stored early and then again when a worker takes them: the
    insert is idempotent and the rollups count only rows inserted, so the second time changes nothing.
    """
    try:
        decoded = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    headers = decoded.get("headers") if isinstance(decoded, dict) else None
    batch_id = headers.get("id") if isinstance(headers, dict) else None
    return batch_id if isinstance(batch_id, str) else None


