"""/api/event over HTTP against the real web tier, broker and worker."""

import asyncio
from typing import Any

import httpx
import psycopg
import pytest

from tests.checks import assert_rollups_match_recount, event_count, stored_ids
from tests.services import run_async, wait_until

pytestmark = pytest.mark.stock_path  # with LIBRARY_ADAPTERS=off too: FastAPI's route, journal + send_task

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def params(cid: int, **extra: str) -> dict[str, Any]:
    return {"cid": cid, "event": "email_click", "email": "john@gmail.com", "domain": "example1.com", **extra}


def test_event__stored_with_extras_and_enrichment(
    http: httpx.Client, db: psycopg.Connection, campaign_id: int
) -> None:
    r = http.get(
        "/api/event", params=params(campaign_id, utm_source="mail", sub="7"), headers={"User-Agent": CHROME}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and isinstance(body["event_id"], int)
    assert r.headers["access-control-allow-origin"] == "*"

    wait_until(lambda: event_count(db, campaign_id) == 1, message="event stored")
    row = db.execute(
        "SELECT id, event_type, email, domain, ip, user_agent, extra_params FROM events "
        "WHERE campaign_id = %s",
        (campaign_id,),
    ).fetchone()
    assert row is not None
    event_id, event_type, email, domain, ip, ua, extra = row
    assert (event_id, event_type, email, domain, ip, ua) == (
        body["event_id"],
        "email_click",
        "john@gmail.com",
        "example1.com",
        "127.0.0.1",
        CHROME,
    )
    assert extra["utm_source"] == "mail" and extra["sub"] == "7"
    assert extra["_tracker"]["browser"] == "Chrome 120"
    assert extra["_tracker"]["os"] == "Windows 10"
    assert extra["_tracker"]["is_bot"] is False
    assert_rollups_match_recount(db, campaign_id)


def test_forwarded_visitor__enriched_from_forwarded_ip(
    http: httpx.Client, db: psycopg.Connection, campaign_id: int
) -> None:
    r = http.get("/api/event", params=params(campaign_id, ip="8.8.8.8", ua="curl/8.0"))
    assert r.status_code == 200
    wait_until(lambda: event_count(db, campaign_id) == 1, message="event stored")
    ip, ua, extra = db.execute(
        "SELECT ip, user_agent, extra_params FROM events WHERE campaign_id = %s", (campaign_id,)
    ).fetchone()
    assert (ip, ua) == ("8.8.8.8", "curl/8.0")
    assert extra["_tracker"]["country"] == "US"
    assert extra["_tracker"]["asn"] == "GOOGLE"
    assert extra["_tracker"]["is_bot"] is True


@pytest.mark.parametrize("ua", ["curl/8.5.0", "python-httpx/0.28.1", None])
def test_server_side_call_forwarding_nothing__visitor_unknown_counted_with_people(
    http: httpx.Client, db: psycopg.Connection, campaign_id: int, ua: str | None
) -> None:
    """The specification's own example, sent by a landing script from its server: not evidence of a bot."""
    headers = {"User-Agent": ua} if ua else {}
    if ua is None:  # no User-Agent header at all (PHP's curl sends none)
        headers = {"User-Agent": ""}
    assert http.get("/api/event", params=params(campaign_id), headers=headers).status_code == 200
    wait_until(lambda: event_count(db, campaign_id) == 1, message="event stored")
    tracker = db.execute("SELECT extra_params -> '_tracker' FROM events WHERE campaign_id = %s",
                         (campaign_id,)).fetchone()[0]
    assert (tracker["visitor"], tracker["is_bot"], tracker["asn"]) == ("unknown", False, None)
    stats = db.execute("SELECT email_clicks, bot_email_clicks, unknown_email_clicks FROM domain_stats "
                       "WHERE campaign_id = %s", (campaign_id,)).fetchone()
    assert stats == (1, 0, 1)
    assert_rollups_match_recount(db, campaign_id)


def test_tracking_link_fetched_by_a_script__still_a_bot(http: httpx.Client, db: psycopg.Connection,
                                                       campaign_id: int) -> None:
    """A tracking link or pixel is fetched by the visitor's own client: curl there is a script, as before."""
    r = http.get(f"/r/{campaign_id}", params={"email": "a@x.com", "domain": "x.com"},
                 headers={"User-Agent": "curl/8.5.0"}, follow_redirects=False)
    assert r.status_code == 302
    wait_until(lambda: event_count(db, campaign_id) == 1, message="click stored")
    tracker = db.execute("SELECT extra_params -> '_tracker' FROM events WHERE campaign_id = %s",
                         (campaign_id,)).fetchone()[0]
    assert (tracker["is_bot"], tracker["bot_kind"]) == (True, "script") and "visitor" not in tracker


def test_post_json_and_form__accepted(http: httpx.Client, db: psycopg.Connection, campaign_id: int) -> None:
    r1 = http.post("/api/event", json={**params(campaign_id), "event": "landing_click", "price": 9.5})
    r2 = http.post("/api/event", data={**params(campaign_id), "event": "conversion", "txid": "A1"})
    assert (r1.status_code, r2.status_code) == (200, 200), (r1.text, r2.text)
    wait_until(lambda: event_count(db, campaign_id) == 2, message="events stored")
    rows = dict(
        db.execute(
            "SELECT event_type, extra_params FROM events WHERE campaign_id = %s", (campaign_id,)
        ).fetchall()
    )
    assert rows["landing_click"]["price"] == 9.5
    assert rows["conversion"]["txid"] == "A1"


def test_unknown_campaign__404(http: httpx.Client) -> None:
    r = http.get("/api/event", params=params(2_000_000_000))
    assert r.status_code == 404
    assert r.json()["status"] == "error" and "does not exist" in r.json()["error"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("cid={cid}&event=open&email=a@b.com&domain=x.com", 422),
        ("cid={cid}&event=email_click&domain=x.com", 422),
        ("cid=0&event=email_click&email=a@b.com&domain=x.com", 422),
        ("cid={cid}&event=email_click&email=a@b.com&domain=x.com&_tracker=1", 422),
        ("cid={cid}&event=email_click&email=a%00@b.com&domain=x.com", 422),
        ("cid={cid}&event=email_click&email=%ff@b.com&domain=x.com", 422),
        ("cid={cid}&event=email_click&email=a@b.com&domain=x.com&cid={cid}", 422),
        ("cid={cid}&event=email_click&email=a@b.com&domain=x.com&big=" + "x" * 40_000, 413),
    ],
)
def test_refusal__json_error_and_nothing_stored(
    http: httpx.Client, db: psycopg.Connection, campaign_id: int, query: str, status: int
) -> None:
    r = http.get("/api/event?" + query.format(cid=campaign_id))
    assert r.status_code == status
    assert r.json()["status"] == "error" and r.json()["error"]
    # A valid event sent afterwards is stored: once it is, the refused one would have been too.
    assert http.get("/api/event", params=params(campaign_id)).status_code == 200
    wait_until(lambda: event_count(db, campaign_id) >= 1, message="marker event stored")
    assert event_count(db, campaign_id) == 1


def test_bad_bodies__4xx(http: httpx.Client, campaign_id: int) -> None:
    assert (
        http.post("/api/event", content=b"[1,2]", headers={"content-type": "application/json"}).status_code
        == 422
    )
    assert (
        http.post("/api/event", content=b"{bad", headers={"content-type": "application/json"}).status_code
        == 422
    )
    assert http.post("/api/event", content=b"x", headers={"content-type": "image/png"}).status_code == 415


def test_cors_preflight(http: httpx.Client) -> None:
    r = http.options(
        "/api/event", headers={"Origin": "https://landing.example", "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "*"


def test_openapi__documents_event_api(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    op = spec["paths"]["/api/event"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"cid", "event", "email", "domain"}


def test_concurrent_events__distinct_ids_all_stored_once(
    web: str, db: psycopg.Connection, campaign_id: int
) -> None:
    n = 1000

    async def send_all() -> list[int]:
        limits = httpx.Limits(max_connections=64)
        # 30 s for each answer, but no limit on the wait for one of this client's own 64 connections: 1,000
        # requests queue there for as long as the server takes over all of them (a PoolTimeout on a busy box).
        timeout = httpx.Timeout(30, pool=None)
        async with httpx.AsyncClient(base_url=web, limits=limits, timeout=timeout) as client:

            async def one(i: int) -> int:
                r = await client.get(
                    "/api/event",
                    params=params(
                        campaign_id,
                        email=f"user{i % 300}@gmail.com",
                        domain=f"example{i % 3}.com",
                        event=("email_click", "landing_click", "conversion")[i % 3],
                    ),
                )
                assert r.status_code == 200, r.text
                return int(r.json()["event_id"])

            return await asyncio.gather(*(one(i) for i in range(n)))

    ids = run_async(send_all())
    assert len(set(ids)) == n
    # Generous: on a loaded 2-core machine a thousand events can take a while to drain; correctness is the point.
    wait_until(lambda: event_count(db, campaign_id) == n, timeout=180, message=f"{n} events stored")
    assert sorted(stored_ids(db, campaign_id)) == sorted(ids)
    assert_rollups_match_recount(db, campaign_id)
    users = db.execute(
        "SELECT sum(users) FROM domain_stats WHERE campaign_id = %s", (campaign_id,)
    ).fetchone()[0]
    assert users == 300


def test_healthz(http: httpx.Client) -> None:
    r = http.get("/healthz")
    assert r.status_code == 200
    assert r.json() | {"queue_depth": 0} == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "queue_depth": 0,
    }
