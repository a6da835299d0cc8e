"""Which campaign ids exist and their offer URLs, cached in the web process: validating `cid` and sending a
tracking link's click on to its offer rarely cost a query.

Every web process on every host keeps its own copy, kept current by a change counter in PostgreSQL
(`change_counters`, bumped by a trigger on `campaigns`, migration 0014): a task of the process reads that one
row every CAMPAIGN_CHECK_SECONDS, off the request path, and reloads the cache when it moved. A campaign deleted
or edited through any host is seen by every host within CAMPAIGN_CHECK_SECONDS plus the reload.
"""
import asyncio
import logging
import time

from common.db import Conn, Database

log = logging.getLogger(__name__)
_MAX_MISSES = 10_000


def _version(conn: Conn) -> int:
    row = conn.execute("SELECT value FROM change_counters WHERE name = 'campaigns'").fetchone()
    return 0 if row is None else int(row[0])


def _load(conn: Conn) -> tuple[int, dict[int, str]]:
    """The counter, then the campaigns: a change in between reloads once more at the next check, never less."""
    version = _version(conn)
    offers = conn.execute("SELECT id, offer_url FROM campaigns WHERE deleted_at IS NULL").fetchall()
    return version, dict(offers)


def _offer(conn: Conn, campaign_id: int) -> str | None:
    row = conn.execute("SELECT offer_url FROM campaigns WHERE id = %s AND deleted_at IS NULL",
                       (campaign_id,)).fetchone()
    return None if row is None else str(row[0])


class CampaignCache:
    """Known ids with their offer URLs (at most 2 KB each: even thousands of campaigns are a few MB).

    A deleted campaign (marked, even before it is purged) is unknown. An id not in the set is looked up on its
    own (a campaign created a moment ago is found at once); an id that does not exist is remembered for
    `miss_ttl` seconds, so repeats of a bogus id cost nothing.
    """

    def __init__(self, db: Database, check_seconds: float, miss_ttl: float) -> None:
        self._db = db
        self._check_seconds = check_seconds
        self._miss_ttl = miss_ttl
        self._known: dict[int, str] = {}
        self._misses: dict[int, float] = {}
        self._version: int | None = None  # None until the first load
        self._loading: asyncio.Future[None] | None = None  # the first load, shared by concurrent requests
        self._watcher: asyncio.Task[None] | None = None

    async def _check(self) -> None:
        """Reload when the change counter moved (one round trip when it did not)."""
        if self._version is None or await self._db.run(_version) != self._version:
            self._version, self._known = await self._db.run(_load)
            self._misses.clear()

    async def _watch(self) -> None:
        # On a timer rather than on requests: a process that was idle never answers from an old cache.
        while True:
            await asyncio.sleep(self._check_seconds)
            try:
                await self._check()
            except Exception as exc:  # the database is down: keep what is known, try again next time
                log.warning("campaign cache not checked (kept as it was): %s", exc)

    async def _first_load(self) -> None:
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._check())
        loading = self._loading
        try:
            await asyncio.shield(loading)  # a failure (database down) fails this request; the next one retries
        finally:
            if self._loading is loading:
                self._loading = None
        if self._watcher is None:
            self._watcher = asyncio.ensure_future(self._watch())

    async def offer_url(self, campaign_id: int) -> str | None:
        """The campaign's offer URL, or None when there is no such campaign."""
        if self._version is None:
            await self._first_load()
        offer = self._known.get(campaign_id)
        if offer is not None:
            return offer
        now = time.monotonic()
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
        if campaign_id in self._known:
            return True
        return await self.offer_url(campaign_id) is not None

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
