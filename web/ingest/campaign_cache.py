"""Which campaigns exist, with their offer URLs and link tokens, cached in the web process: validating `cid` and
sending a tracking link's click on to its offer rarely cost a query, by id or by token alike."""
import asyncio
import time
from dataclasses import dataclass
from typing import Any

from common.db import Conn, Database

_MAX_MISSES = 10_000
_COLUMNS = "id, offer_url, link_token, id_links"


@dataclass(frozen=True, slots=True)
class Link:
    """What a tracking link needs of its campaign."""

    campaign_id: int
    offer_url: str
    token: str
    id_links: bool  # whether the old /r/<id> link still redirects


def _link(row: tuple[Any, ...]) -> Link:
    return Link(int(row[0]), str(row[1]), str(row[2]), bool(row[3]))


def _all_links(conn: Conn) -> list[Link]:
    return [_link(row) for row in conn.execute(f"SELECT {_COLUMNS} FROM campaigns").fetchall()]


def _link_where(conn: Conn, column: str, value: int | str) -> Link | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM campaigns WHERE {column} = %s", (value,)).fetchone()
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
    """Every campaign's link, by id and by token, reloaded every `ttl` seconds so deleted campaigns drop out and
    edited offers (and switched-off id links) are picked up. (Offer URLs are at most 2 KB: even thousands of
    campaigns are a few MB.)

    A key not in the maps is looked up on its own (a campaign created a moment ago is found at once);
    one that matches nothing is remembered for `miss_ttl` seconds.
    """

    def __init__(self, db: Database, ttl: float, miss_ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._by_id: dict[int, Link] = {}
        self._by_token: dict[str, Link] = {}
        self._misses = _Misses(miss_ttl)
        self._loaded_at = float("-inf")
        self._loading: asyncio.Future[list[Link]] | None = None

    async def _reload(self) -> None:
        # Concurrent requests share one reload.
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._db.run(_all_links))
        loading = self._loading
        try:
            links = await asyncio.shield(loading)
            self._by_id = {link.campaign_id: link for link in links}
            self._by_token = {link.token: link for link in links}
            self._loaded_at = time.monotonic()
            self._misses.clear()
        finally:
            if self._loading is loading:
                self._loading = None

    def _remember(self, link: Link) -> Link:
        self._by_id[link.campaign_id] = link
        self._by_token[link.token] = link
        return link

    async def _find(self, key: int | str, column: str) -> Link | None:
        if time.monotonic() - self._loaded_at > self._ttl:
            await self._reload()
        link = self._by_id.get(key) if isinstance(key, int) else self._by_token.get(key)
        if link is not None:
            return link
        if key in self._misses:
            return None
        link = await self._db.run(_link_where, column, key)
        if link is not None:
            return self._remember(link)
        self._misses.add(key)
        return None

    # The common answer (cached, fresh) in one dict lookup and no second coroutine, by id and by token alike.
    async def by_id(self, campaign_id: int) -> Link | None:
        """The campaign's link, or None when there is no such campaign."""
        link = self._by_id.get(campaign_id)
        if link is not None and time.monotonic() - self._loaded_at <= self._ttl:
            return link
        return await self._find(campaign_id, "id")

    async def by_token(self, token: str) -> Link | None:
        """The campaign whose tracking link has this token, or None."""
        link = self._by_token.get(token)
        if link is not None and time.monotonic() - self._loaded_at <= self._ttl:
            return link
        return await self._find(token, "link_token")

    async def exists(self, campaign_id: int) -> bool:
        # Every event asks: the common answer without a second coroutine (as fast as the old set of ids).
        if campaign_id in self._by_id and time.monotonic() - self._loaded_at <= self._ttl:
            return True
        return await self.by_id(campaign_id) is not None
