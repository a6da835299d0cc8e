"""Which campaigns exist, with their offer URLs and link tokens, cached in the web process: validating `cid` and
sending a tracking link's click on to its offer rarely cost a query, by id or by token alike.

Every web process on every host keeps its own copy, kept current by a change counter in PostgreSQL
(`change_counters`, bumped by a trigger on `campaigns`, migration 0014): a task of the process reads that one
row every CAMPAIGN_CHECK_SECONDS, off the request path, and reloads the cache when it moved. A campaign deleted
or edited (its offer, its switched-off id links) through any host is seen by every host within
CAMPAIGN_CHECK_SECONDS plus the reload.
"""
import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from common.db import Conn, Database

log = logging.getLogger(__name__)
_MAX_MISSES = 10_000
_COLUMNS = "id, offer_url, link_token, id_links"
# A deleted campaign (marked, even before it is purged) is unknown.
_LIVE = "deleted_at IS NULL"


@dataclass(frozen=True, slots=True)
class Link:
    """What a tracking link needs of its campaign."""

    campaign_id: int
    offer_url: str
    token: str
    id_links: bool  # whether the old /r/<id> link still redirects


def _link(row: tuple[Any, ...]) -> Link:
    return Link(int(row[0]), str(row[1]), str(row[2]), bool(row[3]))


def _version(conn: Conn) -> int:
    row = conn.execute("SELECT value FROM change_counters WHERE name = 'campaigns'").fetchone()
    return 0 if row is None else int(row[0])


def _load(conn: Conn) -> tuple[int, list[Link]]:
    """The counter, then the campaigns: a change in between reloads once more at the next check, never less."""
    version = _version(conn)
    rows = conn.execute(f"SELECT {_COLUMNS} FROM campaigns WHERE {_LIVE}").fetchall()
    return version, [_link(row) for row in rows]


def _link_where(conn: Conn, column: str, value: int | str) -> Link | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM campaigns WHERE {column} = %s AND {_LIVE}", (value,)).fetchone()
    return None if row is None else _link(row)


class _Misses:
    """Keys that matched no campaign, remembered for `ttl` seconds (bounded), so repeats of a bogus id or token
    cost nothing."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._until: dict[int | str, float] = {}

    def __contains__(self, key: int | str) -> bool:
        return self._until.get(key, 0.0) > time.monotonic()

    def add(self, key: int | str) -> None:
        if len(self._until) >= _MAX_MISSES:
            self._until.clear()
        self._until[key] = time.monotonic() + self._ttl

    def clear(self) -> None:
        self._until.clear()


class CampaignCache:
    """Every live campaign's link, by id and by token (offer URLs are at most 2 KB: even thousands of campaigns
    are a few MB).

    A key not in the maps is looked up on its own (a campaign created a moment ago is found at once); one that
    matches nothing is remembered for `miss_ttl` seconds.
    """

    def __init__(self, db: Database, check_seconds: float, miss_ttl: float) -> None:
        self._db = db
        self._check_seconds = check_seconds
        self._by_id: dict[int, Link] = {}
        self._by_token: dict[str, Link] = {}
        self._misses = _Misses(miss_ttl)
        self._version: int | None = None  # None until the first load
        self._loading: asyncio.Future[None] | None = None  # the first load, shared by concurrent requests
        self._watcher: asyncio.Task[None] | None = None

    async def _check(self) -> None:
        """Reload when the change counter moved (one round trip when it did not)."""
        if self._version is None or await self._db.run(_version) != self._version:
            self._version, links = await self._db.run(_load)
            self._by_id = {link.campaign_id: link for link in links}
            self._by_token = {link.token: link for link in links}
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

    async def _find(self, key: int | str, column: str) -> Link | None:
        if self._version is None:
            await self._first_load()
        link = self._by_id.get(key) if isinstance(key, int) else self._by_token.get(key)
        if link is not None:
            return link
        if key in self._misses:
            return None
        link = await self._db.run(_link_where, column, key)
        if link is None:
            self._misses.add(key)
            return None
        self._by_id[link.campaign_id] = link
        self._by_token[link.token] = link
        return link

    async def by_id(self, campaign_id: int) -> Link | None:
        """The campaign's link, or None when there is no such campaign."""
        return await self._find(campaign_id, "id")

    async def by_token(self, token: str) -> Link | None:
        """The campaign whose tracking link has this token, or None."""
        return await self._find(token, "link_token")

    async def exists(self, campaign_id: int) -> bool:
        # Every event asks: the common answer without a second coroutine (as fast as the old set of ids).
        if campaign_id in self._by_id:
            return True
        return await self.by_id(campaign_id) is not None

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
