"""Which campaign ids exist, cached in the web process so validating `cid` rarely costs a query."""
import asyncio
import time
from typing import Any

import psycopg

from web.pg import ThreadConnections

_MAX_MISSES = 10_000


def _all_ids(conn: psycopg.Connection[Any]) -> set[int]:
    return {r[0] for r in conn.execute("SELECT id FROM campaigns").fetchall()}


def _exists(conn: psycopg.Connection[Any], campaign_id: int) -> bool:
    return conn.execute("SELECT 1 FROM campaigns WHERE id = %s", (campaign_id,)).fetchone() is not None


class CampaignCache:
    """Known ids, reloaded every `ttl` seconds so deleted campaigns drop out.

    An id not in the set is looked up on its own (a campaign created a moment ago is found at once);
    an id that does not exist is remembered for `miss_ttl` seconds, so repeats of a bogus id cost nothing.
    """

    def __init__(self, db: ThreadConnections, ttl: float, miss_ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._miss_ttl = miss_ttl
        self._known: set[int] = set()
        self._misses: dict[int, float] = {}
        self._loaded_at = float("-inf")
        self._loading: asyncio.Future[set[int]] | None = None

    async def _reload(self) -> None:
        # Concurrent requests share one reload.
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._db.run(_all_ids))
        loading = self._loading
        try:
            self._known = await asyncio.shield(loading)
            self._loaded_at = time.monotonic()
            self._misses.clear()
        finally:
            if self._loading is loading:
                self._loading = None

    async def exists(self, campaign_id: int) -> bool:
        now = time.monotonic()
        if now - self._loaded_at > self._ttl:
            await self._reload()
        if campaign_id in self._known:
            return True
        if self._misses.get(campaign_id, 0.0) > now:
            return False
        if await self._db.run(_exists, campaign_id):
            self._known.add(campaign_id)
            return True
        if len(self._misses) >= _MAX_MISSES:
            self._misses.clear()
        self._misses[campaign_id] = now + self._miss_ttl
        return False
