"""Which campaign ids exist, cached in the web process so validating `cid` costs no query."""
import asyncio
import time
from typing import Any

import psycopg

from web.pg import ThreadConnections


def _all_ids(conn: psycopg.Connection[Any]) -> set[int]:
    return {r[0] for r in conn.execute("SELECT id FROM campaigns").fetchall()}


class CampaignCache:
    """Known ids, reloaded every `ttl` seconds, and at most every `miss_ttl` seconds on an unknown id.

    Reloading the whole (small) set on a miss means a flood of bogus ids costs one query per `miss_ttl`.
    """

    def __init__(self, db: ThreadConnections, ttl: float, miss_ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._miss_ttl = miss_ttl
        self._ids: set[int] = set()
        self._loaded_at = float("-inf")
        self._loading: asyncio.Future[set[int]] | None = None

    async def _reload(self) -> None:
        # Requests that miss while a reload runs wait for it rather than answer from the old set.
        if self._loading is None:
            self._loaded_at = time.monotonic()
            self._loading = asyncio.ensure_future(self._db.run(_all_ids))
        loading = self._loading
        try:
            self._ids = await asyncio.shield(loading)
        except BaseException:
            self._loaded_at = float("-inf")
            raise
        finally:
            if self._loading is loading and loading.done():
                self._loading = None

    async def exists(self, campaign_id: int) -> bool:
        age = time.monotonic() - self._loaded_at
        if self._loading is not None or age > self._ttl or (
            campaign_id not in self._ids and age > self._miss_ttl
        ):
            await self._reload()
        return campaign_id in self._ids
