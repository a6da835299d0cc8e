"""Batches published to a Redis broker and not yet stored, so that one a killed worker dropped is recovered.

Kombu's Redis transport takes a message off the queue (BRPOP) before it records it as unacknowledged; a
worker killed in between (the reply in flight, or read but not yet recorded) loses the message for good, and
the visibility timeout cannot bring it back (tests/chaos: `kill -9` of a busy worker loses a batch this way
now and then). So the web tier records each batch here before publishing it, the worker forgets it once it
is stored, and a periodic sweep (the `recover` beat job) stores whatever stayed here longer than the
visibility timeout and is no longer in the queue. Storing is idempotent: a batch swept while a worker still
holds it is stored twice to no effect. RabbitMQ needs none of this (a delivered message stays unacknowledged
until acked), so it is off there.
"""

import os
import time
from typing import Any, cast

import orjson
import redis

from common.config import Settings, settings

Batch = list[dict[str, Any]]


class InflightBatches:
    def __init__(self, s: Settings = settings) -> None:
        self.enabled = s.uses_redis_broker
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
                self.record(pipe, batch_id, orjson.dumps(events))
                pipe.execute()

    def record(self, pipe: "redis.client.Pipeline", batch_id: str, events_json: bytes) -> None:
        """Add the commands that record a batch to the caller's MULTI (web/redis_publish.py: with the publish)."""
        pipe.hset(self._batches, batch_id, events_json)
        pipe.zadd(self._index, {batch_id: time.time()})

    def forget(self, batch_id: str) -> None:
        """The batch is stored."""
        if self.enabled:
            # No MULTI: an index entry left without its batch is dropped by the sweep (stale() below).
            with self._redis().pipeline(transaction=False) as pipe:
                pipe.zrem(self._index, batch_id)
                pipe.hdel(self._batches, batch_id)
                pipe.execute()

    def stale(self, limit: int = 20) -> list[tuple[str, Batch]]:
        """Batches recorded more than the visibility timeout ago that the queue no longer holds.

        The queue is FIFO, so every batch recorded before the one at its head has been taken off it; a batch
        that went back to the queue (redelivered, rejected) may be returned too: a duplicate insert, no more.
        """
        if not self.enabled:
            return []
        client = self._redis()
        cutoff = time.time() - self._visibility
        head = client.lindex(self._queue, -1)
        if head is not None:
            head_id = orjson.loads(head).get("headers", {}).get("id")
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
                found.append((batch_id.decode(), orjson.loads(payload)))
        return found


inflight = InflightBatches()
