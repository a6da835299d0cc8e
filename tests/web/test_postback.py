"""/api/postback: conversions from the offer's server, attributed to a tracking-link click, stored once."""
import asyncio
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from common.campaigns import create_campaign
from common.config import get_settings
from common.db import connect, get_session
from common.event import Event
from common.store import StoreOptions
from tests.checks import assert_rollups_match_recount, event_count
from tests.events import events
from tests.services import run_async, wait_until
from web.ingest.postback import store_once

OPTIONS = StoreOptions.of(get_settings())

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def new_campaign() -> tuple[int, str]:
    """(id, postback secret) of a new campaign whose offer receives the click id as `sub1`."""
    with get_session() as session:
        campaign = create_campaign(session=session, name=f"Postback {uuid.uuid4().hex[:6]}",
                                   offer_url="https://offer.example.com/?sub1={click_id}")
        return campaign.id, campaign.postback_secret


def click(http: httpx.Client, cid: int, email: str = "ann@gmail.com", domain: str = "example1.com") -> int:
    """A recipient's click on the tracking link; returns the click id the offer received."""
    r = http.get(f"/r/{cid}", params={"email": email, "domain": domain}, headers={"User-Agent": CHROME})
    assert r.status_code == 302 and "x-tracker-error" not in r.headers, r.headers
    return int(parse_qs(urlsplit(r.headers["location"]).query)["sub1"][0])


def conversions(db: psycopg.Connection, cid: int) -> list[tuple[Any, ...]]:
    return db.execute("SELECT id, email, domain, ip, user_agent, extra_params FROM events "
                      "WHERE campaign_id = %s AND event_type = 'conversion' ORDER BY id", (cid,)).fetchall()


@pytest.fixture
def clicked(http: httpx.Client, db: psycopg.Connection) -> tuple[int, str, int]:
    """(campaign id, secret, click id) of a stored click."""
    cid, secret = new_campaign()
    click_id = click(http, cid)
    wait_until(lambda: event_count(db, cid) == 1, message="click stored")
    return cid, secret, click_id


def test_conversion__attributed_to_the_click(http: httpx.Client, db: psycopg.Connection,
                                             clicked: tuple[int, str, int]) -> None:
    cid, secret, click_id = clicked
    r = http.get("/api/postback", params={"cid": cid, "secret": secret, "click_id": click_id, "payout": "12.50",
                                          "txid": "T-1", "offer": "dog-food"},
                 headers={"User-Agent": "NetworkBot/1.0"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and isinstance(body["event_id"], int)

    [row] = conversions(db, cid)  # stored before the answer: no waiting
    event_id, email, domain, ip, ua, extra = row
    assert (event_id, email, domain, ip, ua) == (body["event_id"], "ann@gmail.com", "example1.com", "127.0.0.1",
                                                 CHROME)  # the visitor's, not the network server's
    assert (extra["click_id"], extra["payout"], extra["txid"], extra["offer"]) == (click_id, "12.50", "T-1",
                                                                                    "dog-food")
    assert "secret" not in extra and extra["_tracker"]["is_bot"] is False
    stats = db.execute("SELECT email_clicks, conversions, conversion_users FROM domain_stats "
                       "WHERE campaign_id = %s", (cid,)).fetchone()
    assert stats == (1, 1, 1)
    assert_rollups_match_recount(db, cid)


def test_click_still_queued__waited_for(http: httpx.Client, db: psycopg.Connection) -> None:
    """The network may call back within milliseconds of the click: the postback finds it once it is stored."""
    cid, secret = new_campaign()
    click_id = click(http, cid)
    r = http.get("/api/postback", params={"cid": cid, "secret": secret, "click_id": click_id})
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text
    assert len(conversions(db, cid)) == 1
    assert_rollups_match_recount(db, cid)


def test_post_form_and_json__accepted(http: httpx.Client, db: psycopg.Connection,
                                      clicked: tuple[int, str, int]) -> None:
    cid, secret, click_id = clicked
    r1 = http.post("/api/postback", data={"cid": cid, "secret": secret, "click_id": click_id, "txid": "F"})
    r2 = http.post("/api/postback", json={"cid": cid, "secret": secret, "click_id": click_id, "txid": "J",
                                          "payout": 7})
    assert (r1.status_code, r2.status_code) == (200, 200), (r1.text, r2.text)
    assert {row[5]["txid"]: row[5].get("payout") for row in conversions(db, cid)} == {"F": None, "J": "7"}


@pytest.mark.parametrize("secret", [None, "", "wrong", "x" * 64])
def test_secret__missing_or_wrong__403_nothing_stored(http: httpx.Client, db: psycopg.Connection,
                                                      clicked: tuple[int, str, int], secret: str | None) -> None:
    cid, _, click_id = clicked
    params: dict[str, Any] = {"cid": cid, "click_id": click_id, "txid": "T"}
    if secret is not None:
        params["secret"] = secret
    r = http.get("/api/postback", params=params)
    assert r.status_code == 403
    assert r.json() == {"status": "error", "error": "secret is missing or wrong", "field": "secret"}
    assert conversions(db, cid) == []
    assert db.execute("SELECT count(*) FROM postbacks WHERE campaign_id = %s", (cid,)).fetchone() == (0,)


def test_secret__of_another_campaign__403(http: httpx.Client, clicked: tuple[int, str, int]) -> None:
    cid, _, click_id = clicked
    _, other_secret = new_campaign()
    r = http.get("/api/postback", params={"cid": cid, "secret": other_secret, "click_id": click_id})
    assert r.status_code == 403


def test_secrets__random_per_campaign(db: psycopg.Connection) -> None:
    secrets = [new_campaign()[1] for _ in range(3)]
    assert len(set(secrets)) == 3 and all(len(s) == 64 for s in secrets)
    # A campaign inserted without one (SQL by hand, an old process mid-deploy) gets its own from the database.
    row = db.execute("INSERT INTO campaigns (name, offer_url) VALUES ('raw', 'https://x.example') "
                     "RETURNING postback_secret").fetchone()
    assert row is not None and len(row[0]) == 64 and row[0] not in secrets


def test_unknown_campaign__404(http: httpx.Client) -> None:
    r = http.get("/api/postback", params={"cid": 2_000_000_000, "secret": "x", "click_id": 1})
    assert r.status_code == 404 and r.json()["field"] == "cid"


def test_click_of_another_campaign__404_after_waiting(http: httpx.Client, db: psycopg.Connection,
                                                      clicked: tuple[int, str, int]) -> None:
    _, _, click_id = clicked
    cid, secret = new_campaign()
    r = http.get("/api/postback", params={"cid": cid, "secret": secret, "click_id": click_id})
    assert r.status_code == 404
    assert r.json()["field"] == "click_id" and "retry later" in r.json()["error"]
    assert conversions(db, cid) == []


def test_conversion_id_as_click_id__422(http: httpx.Client, clicked: tuple[int, str, int]) -> None:
    cid, secret, click_id = clicked
    conversion_id = http.get("/api/postback", params={"cid": cid, "secret": secret, "click_id": click_id}
                             ).json()["event_id"]
    r = http.get("/api/postback", params={"cid": cid, "secret": secret, "click_id": conversion_id})
    assert r.status_code == 422 and "not a click" in r.json()["error"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"payout": "-1"}, "payout"),
        ({"payout": "1e3"}, "payout"),
        ({"payout": "12,50"}, "payout"),
        ({"payout": "NaN"}, "payout"),
        ({"payout": "1.1234567"}, "payout"),
        ({"txid": "t" * 256}, "txid"),
        ({"click_id": "abc"}, "click_id"),
        ({"click_id": "0"}, "click_id"),
        ({"click_id": "99999999999999999999"}, "click_id"),
        ({"click_id": ""}, "click_id"),
        ({"email": "other@gmail.com"}, "email"),
        ({"event": "conversion"}, "event"),
        ({"_tracker": "x"}, "_tracker"),
    ],
)
def test_invalid_parameter__422_nothing_stored(http: httpx.Client, db: psycopg.Connection,
                                               clicked: tuple[int, str, int], extra: dict[str, str],
                                               field: str) -> None:
    cid, secret, click_id = clicked
    r = http.get("/api/postback", params={"cid": cid, "secret": secret, "click_id": click_id, **extra})
    assert r.status_code == 422, r.text
    assert r.json()["status"] == "error" and r.json()["field"] == field
    assert conversions(db, cid) == []


def test_empty_payout_and_txid__as_if_not_sent(http: httpx.Client, db: psycopg.Connection,
                                                clicked: tuple[int, str, int]) -> None:
    """A network macro with nothing to put in it sends `payout=&txid=`."""
    cid, secret, click_id = clicked
    r = http.get("/api/postback", params={"cid": cid, "secret": secret, "click_id": click_id, "payout": "",
                                          "txid": ""})
    assert r.status_code == 200, r.text
    [row] = conversions(db, cid)
    assert "payout" not in row[5] and "txid" not in row[5]


def test_duplicate_txid__one_conversion_and_the_first_id(http: httpx.Client, db: psycopg.Connection,
                                                         clicked: tuple[int, str, int]) -> None:
    cid, secret, click_id = clicked
    params: dict[str, Any] = {"cid": cid, "secret": secret, "click_id": click_id, "txid": "ORDER-1", "payout": "5"}
    first = http.get("/api/postback", params=params).json()
    again = http.get("/api/postback", params={**params, "payout": "6"}).json()
    assert first["status"] == "ok"
    assert again == {"status": "duplicate", "event_id": first["event_id"]}
    other = http.get("/api/postback", params={**params, "txid": "ORDER-2"}).json()  # an upsell: counted
    assert other["status"] == "ok" and other["event_id"] != first["event_id"]
    assert [row[0] for row in conversions(db, cid)] == sorted([first["event_id"], other["event_id"]])
    assert_rollups_match_recount(db, cid)


def test_no_txid__one_conversion_per_click(http: httpx.Client, db: psycopg.Connection,
                                           clicked: tuple[int, str, int]) -> None:
    """Without a txid a network's retry cannot be told from a second sale: one conversion per click."""
    cid, secret, click_id = clicked
    params: dict[str, Any] = {"cid": cid, "secret": secret, "click_id": click_id}
    first = http.get("/api/postback", params=params).json()
    assert http.get("/api/postback", params=params).json() == {"status": "duplicate",
                                                                "event_id": first["event_id"]}
    second_click = click(http, cid, email="bob@gmail.com")
    other = http.get("/api/postback", params={**params, "click_id": second_click}).json()
    assert other["status"] == "ok"
    assert len(conversions(db, cid)) == 2
    assert_rollups_match_recount(db, cid)


@pytest.mark.parametrize("txid", ["RACE-1", None])
def test_concurrent_duplicates__exactly_one_conversion(web: str, db: psycopg.Connection,
                                                       clicked: tuple[int, str, int], txid: str | None) -> None:
    cid, secret, click_id = clicked
    params: dict[str, Any] = {"cid": cid, "secret": secret, "click_id": click_id, "payout": "3.10"}
    if txid:
        params["txid"] = txid

    async def send_all() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=web, timeout=30, limits=httpx.Limits(max_connections=20)) as client:
            responses = await asyncio.gather(*(client.get("/api/postback", params=params) for _ in range(20)))
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
        return [r.json() for r in responses]

    bodies = run_async(send_all())
    assert sorted(b["status"] for b in bodies).count("ok") == 1
    assert len({b["event_id"] for b in bodies}) == 1
    [row] = conversions(db, cid)
    assert row[0] == bodies[0]["event_id"]
    assert db.execute("SELECT count(*) FROM postbacks WHERE campaign_id = %s", (cid,)).fetchone() == (1,)
    assert_rollups_match_recount(db, cid)


def test_openapi__documents_the_postback(http: httpx.Client) -> None:
    op = http.get("/openapi.json").json()["paths"]["/api/postback"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"cid", "secret", "click_id", "payout", "txid"}


# --- the transaction itself, as several web processes would run it -------------------------------------------

def _conversion(db: psycopg.Connection, cid: int, click_id: int, **overrides: Any) -> Event:
    row = db.execute("SELECT nextval('events_id_seq')").fetchone()
    assert row is not None
    return events([{"id": row[0], "cid": cid, "type": "conversion", "email": "ann@gmail.com",
                    "domain": "example1.com", "ip": "127.0.0.1", "ua": CHROME, "extra": {"click_id": click_id},
                    "ts": time.time(), **overrides}])[0]


def teststore_once__concurrent_connections__one_conversion(db: psycopg.Connection,
                                                            clicked: tuple[int, str, int]) -> None:
    cid, _, click_id = clicked
    events = [_conversion(db, cid, click_id) for _ in range(8)]
    start = threading.Barrier(len(events))

    def one(event: Event) -> tuple[str, int]:
        with connect() as conn:
            start.wait()
            return store_once(conn, event, click_id, "PAR-1", OPTIONS)

    with ThreadPoolExecutor(len(events)) as pool:
        results = list(pool.map(one, events))
    assert sorted(status for status, _ in results).count("ok") == 1
    assert len({event_id for _, event_id in results}) == 1
    assert len(conversions(db, cid)) == 1
    assert_rollups_match_recount(db, cid)


def teststore_once__a_failed_store_leaves_no_dedupe_key(db: psycopg.Connection,
                                                         clicked: tuple[int, str, int]) -> None:
    """The key and the event commit together: a failure (or a crash) in between leaves neither, and the
    network's retry stores the conversion."""
    cid, _, click_id = clicked
    with connect() as conn:
        with pytest.raises(psycopg.errors.StringDataRightTruncation):
            store_once(conn, _conversion(db, cid, click_id, ip="x" * 100), click_id, "CRASH-1", OPTIONS)
        assert db.execute("SELECT count(*) FROM postbacks WHERE campaign_id = %s", (cid,)).fetchone() == (0,)
        # The failed transaction was rolled back: the same connection stores the network's retry.
        status, event_id = store_once(conn, _conversion(db, cid, click_id), click_id, "CRASH-1", OPTIONS)
    assert status == "ok" and [row[0] for row in conversions(db, cid)] == [event_id]
    assert_rollups_match_recount(db, cid)
