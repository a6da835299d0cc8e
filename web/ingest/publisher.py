"""Group commit: the events of the last few milliseconds go to the broker as ONE task.

The first event starts a flusher; while one publish is in flight, everything that arrives rides the next one,
so batches grow with load. With BATCH_LINGER_MS set, a batch also waits for company, but only until as many
events are waiting as the previous batch held: under steady load the clients answered by one batch send their
next events, the batch is full when they have arrived, and it goes at once instead of sitting out the linger
(Kafka's batch.size + linger.ms, with batch.size learned from the traffic). A smaller batch than before waits
at most the linger, and then sets the lower target.
A request is answered only after its batch was accepted by the broker, or, with the broker unreachable,
written straight to Postgres by the same idempotent insert the worker uses.
"""
import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from common import metrics
from common.event import Batch, Event

log = logging.getLogger(__name__)



class Overloaded(Exception):
    """Too much is waiting already: the caller should retry later."""


class Unavailable(Exception):
    """Neither the broker nor the database accepted the batch."""


class BatchPublisher:
    def __init__(
        self,
        *,
        publish: Callable[[Batch], None],
        fallback: Callable[[Batch], Any],
        queue_depth: Callable[[], int],
        max_batch: int,
        max_pending: int,
        max_queue_depth: int,
        depth_check_seconds: float,
        linger_seconds: float = 0.0,
    ) -> None:
        self._linger = linger_seconds
        self._publish = publish
        self._fallback = fallback  # async: Batch -> awaitable
        self._queue_depth = queue_depth
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._max_queue_depth = max_queue_depth
        self._depth_check_seconds = depth_check_seconds
        # Kombu connections are not thread-safe: one thread does all broker I/O.
        self._broker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="broker")
        self._pending: list[tuple[Event, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        # What the previous batch held: a batch goes as soon as this many events wait (see the docstring).
        # The first batch waits the whole linger, which finds out what the traffic brings.
        self._batch_target = max_batch
        self._filled: asyncio.Future[None] | None = None  # set while the flusher waits for company
        self._queue_full = False
        self._depth_checked_at = float("-inf")
        self.in_flight = 0

    async def submit(self, event: Event) -> None:
        """Return once the event is durably queued (or stored); raise Overloaded or Unavailable."""
        if self._queue_full:
            self._recheck_depth()
            raise Overloaded("the queue is too deep")
        if len(self._pending) + self.in_flight >= self._max_pending:
            raise Overloaded("too many events waiting to be queued")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((event, done))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_all())
        elif self._filled is not None and len(self._pending) >= self._batch_target:
            self._stop_waiting()
        await done

    async def _flush_all(self) -> None:
        try:
            while self._pending:
                if self._linger and len(self._pending) < self._batch_target:
                    # Let more requests join: each batch costs the worker a fixed price (broker bookkeeping,
                    # one statement), so fewer, larger batches leave more CPU for requests.
                    await self._wait_for_company()
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
                self._batch_target = len(batch)
                self.in_flight = len(batch)
                await self._flush([event for event, _ in batch], [done for _, done in batch])
                self.in_flight = 0
        finally:
            self._flusher = None

    async def _wait_for_company(self) -> None:
        """Until as many events wait as the previous batch held, or the linger is over."""
        loop = asyncio.get_running_loop()
        self._filled = loop.create_future()
        timer = loop.call_later(self._linger, self._stop_waiting)
        try:
            await self._filled
        finally:
            timer.cancel()
            self._filled = None

    def _stop_waiting(self) -> None:
        if self._filled is not None and not self._filled.done():
            self._filled.set_result(None)

    def _publish_and_check(self, events: Batch) -> None:
        self._publish(events)
        now = time.monotonic()
        if now - self._depth_checked_at >= self._depth_check_seconds:
            self._depth_checked_at = now
            self._check_depth()

    def _check_depth(self) -> None:
        try:
            self._queue_full = self._queue_depth() > self._max_queue_depth
        except Exception as exc:  # a depth probe must never fail a batch that was published
            log.warning("queue depth check failed: %s", exc)

    def _recheck_depth(self) -> None:
        """While the queue is too deep nothing is published, so nothing probes it: probe it from here."""
        now = time.monotonic()
        if now - self._depth_checked_at >= self._depth_check_seconds:
            self._depth_checked_at = now
            self._broker.submit(self._check_depth)  # on the broker thread; this request is refused anyway

    async def _flush(self, events: Batch, waiters: list[asyncio.Future[None]]) -> None:
        loop = asyncio.get_running_loop()
        error: BaseException | None = None
        via_broker = True
        try:
            await loop.run_in_executor(self._broker, self._publish_and_check, events)
        except Exception as exc:
            log.warning("broker refused a batch of %d (%s); storing it directly", len(events), exc)
            via_broker = False
            try:
                await self._fallback(events)
            except Exception as exc2:
                log.error("batch of %d neither queued nor stored: %s", len(events), exc2)
                error = Unavailable(str(exc2))
        if error is None:  # counted per batch: a request on the hot path pays nothing for it
            metrics.accepted(len(events), via_broker=via_broker)
        for done in waiters:
            if done.done():  # the request was cancelled (client went away); its event is queued anyway
                continue
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

    def close(self) -> None:
        self._broker.shutdown(wait=True)
