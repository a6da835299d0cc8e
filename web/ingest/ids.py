"""Event ids, taken from the events sequence in blocks so a request never waits on Postgres for one.

Ids are unique, not ordered across web processes. A buffer of ids also lets ingest ride out a short
database outage while the broker is up.
"""
import asyncio
import logging
from collections import deque

import psycopg

from common.db import Conn, Database

log = logging.getLogger(__name__)


class IdsUnavailable(Exception):
    """No id could be allocated: the buffer is empty and Postgres does not answer."""


def _fetch_block(conn: Conn, size: int) -> list[int]:
    rows = conn.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (size,)).fetchall()
    return [r[0] for r in rows]


class IdAllocator:
    def __init__(self, db: Database, block_size: int) -> None:
        self._db = db
        self._block_size = block_size
        self._ids: deque[int] = deque()
        self._refill: asyncio.Task[None] | None = None

    async def _fill(self) -> None:
        try:
            self._ids.extend(await self._db.run(_fetch_block, self._block_size))
        finally:
            self._refill = None

    def _start_refill(self) -> asyncio.Task[None]:
        if self._refill is None:
            self._refill = asyncio.create_task(self._fill())
        return self._refill

    async def take(self) -> int:
        # Refill ahead of need: at a quarter left, fetch the next block in the background.
        if len(self._ids) < self._block_size // 4:
            refill = self._start_refill()
            while not self._ids:
                try:
                    await asyncio.shield(refill)
                except (psycopg.Error, OSError) as exc:
                    log.warning("cannot allocate event ids: %s", exc)
                    raise IdsUnavailable(str(exc)) from exc
                if not self._ids:
                    refill = self._start_refill()
        return self._ids.popleft()
