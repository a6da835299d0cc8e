"""The broker-down paths of the web tier, each with a web process of its own pointed at a dead broker."""

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests.checks import assert_rollups_match_recount, event_count
from tests.conftest import service_env
from tests.services import free_port, start_web

pytestmark = pytest.mark.stock_path  # with LIBRARY_ADAPTERS=off too: the stock publish fails the same way


@pytest.fixture
def web_without_broker() -> Iterator[str]:
    proc, base_url = start_web(service_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"))
    yield base_url
    proc.stop()


@pytest.fixture
def web_without_anything() -> Iterator[str]:
    dead = free_port()
    proc, base_url = start_web(
        service_env(
            REDIS_URL=f"redis://127.0.0.1:{dead}/0",
            DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{dead}/x",
        )
    )
    yield base_url
    proc.stop()


def test_broker_down__events_stored_directly(
    web_without_broker: str, db: psycopg.Connection, campaign_id: int
) -> None:
    with httpx.Client(base_url=web_without_broker, timeout=30) as client:
        ids = []
        for i in range(20):
            r = client.get(
                "/api/event",
                params={
                    "cid": campaign_id,
                    "event": "email_click",
                    "email": f"u{i}@x.com",
                    "domain": "a.com",
                },
            )
            assert r.status_code == 200, r.text
            ids.append(r.json()["event_id"])
        health = client.get("/healthz").json()
    # Stored synchronously by the fallback: no worker involved, so they are there already.
    assert event_count(db, campaign_id) == 20
    assert sorted(ids) == sorted(
        r[0] for r in db.execute("SELECT id FROM events WHERE campaign_id = %s", (campaign_id,))
    )
    extra = db.execute(
        "SELECT extra_params FROM events WHERE campaign_id = %s LIMIT 1", (campaign_id,)
    ).fetchone()[0]
    assert "browser" in extra["_tracker"]  # enriched like the worker does
    assert_rollups_match_recount(db, campaign_id)
    assert health["status"] == "ok" and health["broker"].startswith("error")


def test_broker_and_database_down__503_retry_after(web_without_anything: str) -> None:
    r = httpx.get(
        f"{web_without_anything}/api/event",
        params={"cid": 1, "event": "email_click", "email": "a@x.com", "domain": "a.com"},
        timeout=30,
    )
    assert r.status_code == 503
    assert r.headers["retry-after"].isdigit()
    assert r.json()["status"] == "error"
    assert httpx.get(f"{web_without_anything}/healthz", timeout=30).status_code == 503
