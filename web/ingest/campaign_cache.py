"""Which campaign ids exist and their offer URLs, cached in the web process: validating `cid` and sending a
tracking link's click on to its offer rarely cost a query."""
import asyncio
import time

from common.db import Conn, Database

_MAX_MISSES = 10_000


def _all_offers(conn: Conn) -> dict[int, str]:
    return dict(conn.execute("SELECT id, offer_url FROM campaigns").fetchall())


def _offer(conn: Conn, campaign_id: int) -> str | None:
    row = conn.execute("SELECT offer_url FROM campaigns WHERE id = %s", (campaign_id,)).fetchone()
    return None if row is None else str(row[0])


class CampaignCache:
    """Known ids with their offer URLs, reloaded every `ttl` seconds so deleted campaigns drop out and edited
    offers are picked up. (Offer URLs are at most 2 KB: even thousands of campaigns are a few MB.)

    An id not in the set is looked up on its own (a campaign created a moment ago is found at once);
    an id that does not exist is remembered for `miss_ttl` seconds, so repeats of a bogus id cost nothing.
    """

    def __init__(self, db: Database, ttl: float, miss_ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._miss_ttl = miss_ttl
        self._known: dict[int, str] = {}
        self._misses: dict[int, float] = {}
        self._loaded_at = float("-inf")
        self._loading: asyncio.Future[dict[int, str]] | None = None

    async def _reload(self) -> None:
        # Concurrent requests share one reload.
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._db.run(_all_offers))
        loading = self._loading
        try:
            self._known = await asyncio.shield(loading)
            self._loaded_at = time.monotonic()
            self._misses.clear()
        finally:
            if self._loading is loading:
                self._loading = None

    async def offer_url(self, campaign_id: int) -> str | None:
        """The campaign's offer URL, or None when there is no such campaign."""
        now = time.monotonic()
        if now - self._loaded_at > self._ttl:
            await self._reload()
        offer = self._known.get(campaign_id)
        if offer is not None:
            return offer
        if self._misses.get(campaign_id, 0.0) > now:
            return None
        offer = await self._db.run(_offer, campaign_id)
        if offer is not None:
            self._known[campaign_id] = offer
            return offer
        if len(self._misses) >= _MAX_MISSES:
            self._misses.clear()
        self._misses[campaign_id] = now + self._miss_ttl
        return None

    async def exists(self, campaign_id: int) -> bool:
        # Every event asks: the common answer without a second coroutine (as fast as the old set of ids).
        if campaign_id in self._known and time.monotonic() - self._loaded_at <= self._ttl:
            return True
        return await self.offer_url(campaign_id) is not None
