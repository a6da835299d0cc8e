"""Micro-benchmark of the campaign check every event makes (web/ingest/campaign_cache.py: `exists()` for a
known campaign), in ns per call, best of 5 rounds of 200,000.

    python bench/campaign_cache.py                       # this checkout's cache
    git show main:web/ingest/campaign_cache.py > /tmp/cc.py && python bench/campaign_cache.py /tmp/cc.py

Needs a migrated DATABASE_URL; adds one campaign and removes it.
"""
import asyncio
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

from common.config import get_settings
from common.db import Database, connect

CALLS, ROUNDS = 200_000, 5


def _module(path: str | None) -> ModuleType:
    path = path or str(Path(__file__).resolve().parent.parent / "web" / "ingest" / "campaign_cache.py")
    spec = importlib.util.spec_from_file_location("campaign_cache_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def main(path: str | None) -> None:
    db = Database(get_settings())
    cache = _module(path).CampaignCache(db, 1.0, 2.0)
    with connect() as conn:
        row = conn.execute("INSERT INTO campaigns (name, offer_url) VALUES ('bench', 'https://x.example/') "
                           "RETURNING id").fetchone()
    assert row is not None
    campaign_id = int(row[0])
    try:
        assert await cache.exists(campaign_id)
        best = float("inf")
        for _ in range(ROUNDS):
            started = time.perf_counter()
            for _ in range(CALLS):
                await cache.exists(campaign_id)
            best = min(best, (time.perf_counter() - started) / CALLS)
        print(f"{path or 'this checkout'}: exists() {best * 1e9:.0f} ns per call")
    finally:
        if hasattr(cache, "close"):
            cache.close()
        with connect() as conn:
            conn.execute("DELETE FROM campaigns WHERE id = %s", (campaign_id,))
        db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
