"""The web process's campaign cache follows the campaigns' change counter (migration 0014): a campaign deleted
elsewhere (another process, another host) is unknown here within CAMPAIGN_CHECK_SECONDS; an archived one stays."""
import asyncio
import time
from collections.abc import Callable
from typing import Any

import psycopg

from common.config import get_settings
from common.db import Database
from tests.services import run_async
from web.ingest.campaign_cache import CampaignCache

CHECK_SECONDS = 0.2


async def _until(cache: CampaignCache, campaign_id: int, wanted: bool, timeout: float) -> float:
    """Ask as requests do until the answer is `wanted`; returns the seconds it took."""
    started = time.monotonic()
    while await cache.exists(campaign_id) != wanted:
        assert time.monotonic() - started < timeout, f"campaign {campaign_id} still exists={not wanted}"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def _offer(cache: CampaignCache, campaign_id: int) -> str | None:
    link = await cache.by_id(campaign_id)
    return None if link is None else link.offer_url


def _with_cache(test: Callable[[CampaignCache], Any]) -> Any:
    async def main() -> Any:
        db = Database(get_settings())
        cache = CampaignCache(db, CHECK_SECONDS, miss_ttl=60)
        try:
            return await test(cache)
        finally:
            cache.close()
            db.close()

    return run_async(main())


def test_deleted_elsewhere__unknown_within_the_check(db: psycopg.Connection[Any], campaign_id: int) -> None:
    async def test(cache: CampaignCache) -> float:
        assert await cache.exists(campaign_id)
        db.execute("UPDATE campaigns SET deleted_at = now() WHERE id = %s", (campaign_id,))  # another host
        return await _until(cache, campaign_id, False, timeout=5)

    assert _with_cache(test) < CHECK_SECONDS + 1


def test_idle_process__never_answers_from_an_old_cache(db: psycopg.Connection[Any], campaign_id: int) -> None:
    """The check runs on a timer: the first request after a quiet spell already sees the deletion."""
    async def test(cache: CampaignCache) -> None:
        assert await cache.exists(campaign_id)
        db.execute("UPDATE campaigns SET deleted_at = now() WHERE id = %s", (campaign_id,))
        await asyncio.sleep(CHECK_SECONDS * 3)  # no request meanwhile
        assert not await cache.exists(campaign_id)

    _with_cache(test)


def test_archived_elsewhere__still_tracked(db: psycopg.Connection[Any], campaign_id: int) -> None:
    async def test(cache: CampaignCache) -> None:
        assert await cache.exists(campaign_id)
        db.execute("UPDATE campaigns SET archived_at = now() WHERE id = %s", (campaign_id,))
        await asyncio.sleep(CHECK_SECONDS * 3)
        for _ in range(3):  # past a check and its reload
            assert await cache.exists(campaign_id)
            await asyncio.sleep(CHECK_SECONDS)

    _with_cache(test)


def test_offer_edited_elsewhere__new_offer_within_the_check(db: psycopg.Connection[Any], campaign_id: int) -> None:
    async def test(cache: CampaignCache) -> None:
        assert await _offer(cache, campaign_id) == "https://offer.example.com/?aff=1"
        db.execute("UPDATE campaigns SET offer_url = 'https://new.example/' WHERE id = %s", (campaign_id,))
        started = time.monotonic()
        while await _offer(cache, campaign_id) != "https://new.example/":
            assert time.monotonic() - started < 5, "the edited offer was not picked up"
            await asyncio.sleep(0.01)

    _with_cache(test)


def test_deleted_then_unknown_id_looked_up__not_found(db: psycopg.Connection[Any], campaign_id: int) -> None:
    """Marked deleted before this process ever saw it: the single look-up skips it too."""
    db.execute("UPDATE campaigns SET deleted_at = now() WHERE id = %s", (campaign_id,))

    async def test(cache: CampaignCache) -> None:
        assert not await cache.exists(campaign_id)
        assert await _offer(cache, campaign_id) is None

    _with_cache(test)


def test_counter_moves_once_per_statement(db: psycopg.Connection[Any], campaign_id: int) -> None:
    def version() -> int:
        row = db.execute("SELECT value FROM change_counters WHERE name = 'campaigns'").fetchone()
        assert row is not None
        return int(row[0])

    before = version()
    db.execute("UPDATE campaigns SET name = name WHERE id = %s", (campaign_id,))
    assert version() == before + 1
