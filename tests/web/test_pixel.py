"""/api/event.gif: the event API as a 1x1 GIF, for pages that cannot run a script."""
from typing import Any

import httpx
import psycopg
import pytest

from tests.checks import assert_rollups_match_recount, event_count
from tests.services import wait_until
from web.ingest.pixel import GIF

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def params(cid: int, **extra: str) -> dict[str, Any]:
    return {"cid": cid, "event": "landing_click", "email": "ann@gmail.com", "domain": "example1.com", **extra}


def assert_gif(r: httpx.Response) -> None:
    assert r.headers["content-type"] == "image/gif"
    assert r.content == GIF
    assert "no-store" in r.headers["cache-control"] and r.headers["pragma"] == "no-cache"


def test_gif__a_transparent_1x1_image() -> None:
    assert GIF[:6] == b"GIF89a" and GIF[6:10] == b"\x01\x00\x01\x00"  # width 1, height 1
    gce = GIF.index(b"\x21\xf9\x04")  # graphic control extension
    assert GIF[gce + 3] & 1 == 1  # with a transparent colour
    assert GIF.endswith(b"\x3b")


def test_event__stored_like_api_event(http: httpx.Client, db: psycopg.Connection, campaign_id: int) -> None:
    r = http.get("/api/event.gif", params=params(campaign_id, utm_source="pixel"), headers={"User-Agent": CHROME})
    assert r.status_code == 200
    assert_gif(r)
    assert "x-tracker-error" not in r.headers
    wait_until(lambda: event_count(db, campaign_id) == 1, message="event stored")
    row = db.execute("SELECT event_type, email, domain, user_agent, extra_params FROM events "
                     "WHERE campaign_id = %s", (campaign_id,)).fetchone()
    assert row is not None
    assert row[:4] == ("landing_click", "ann@gmail.com", "example1.com", CHROME)
    assert row[4]["utm_source"] == "pixel"
    assert_rollups_match_recount(db, campaign_id)


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("cid={cid}&event=open&email=a@b.com&domain=x.com", 422, "event must be one of"),
        ("cid={cid}&event=landing_click&domain=x.com", 422, "missing required parameter(s): email"),
        ("cid=2000000000&event=landing_click&email=a@b.com&domain=x.com", 404, "campaign 2000000000 does not"),
        ("cid={cid}&event=landing_click&email=%ff@b.com&domain=x.com", 422, "parameters must be valid UTF-8"),
        ("cid={cid}&event=landing_click&email=a@b.com&domain=x.com&big=" + "x" * 40_000, 413, "query string"),
    ],
)
def test_refused__still_a_gif_with_the_status_and_why(http: httpx.Client, db: psycopg.Connection,
                                                       campaign_id: int, query: str, status: int,
                                                       error: str) -> None:
    r = http.get("/api/event.gif?" + query.format(cid=campaign_id))
    assert r.status_code == status
    assert_gif(r)
    assert r.headers["x-tracker-error"].startswith(error)
    assert http.get("/api/event.gif", params=params(campaign_id)).status_code == 200  # marker
    wait_until(lambda: event_count(db, campaign_id) >= 1, message="marker event stored")
    assert event_count(db, campaign_id) == 1


def test_overloaded__503_gif_with_retry_after(overloaded_web: str, campaign_id: int) -> None:
    with httpx.Client(base_url=overloaded_web, timeout=30) as client:
        r = client.get("/api/event.gif", params=params(campaign_id))
    assert r.status_code == 503
    assert_gif(r)
    assert r.headers["retry-after"].isdigit() and r.headers["x-tracker-error"] == "overloaded, retry later"


def test_openapi__documents_the_pixel(http: httpx.Client) -> None:
    assert "get" in http.get("/openapi.json").json()["paths"]["/api/event.gif"]
