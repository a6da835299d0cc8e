"""Scanner clicks end to end: /api/event, the Celery worker's enrichment, the stored flag and the rollups."""
from typing import Any

import httpx
import psycopg

from tests.checks import assert_rollups_match_recount, event_count
from tests.services import wait_until

# A Safe Links check as reported publicly: an ordinary Chrome UA from Microsoft's mail network.
SAFE_LINKS = {"ip": "40.94.16.12", "ua": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                        "(KHTML, like Gecko) Chrome/72.0.3626.109 Safari/537.36"}
PERSON = {"ip": "73.15.20.10", "ua": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"}


def send(http: httpx.Client, campaign_id: int, email: str, visitor: dict[str, str]) -> None:
    r = http.get("/api/event", params={"cid": campaign_id, "event": "email_click", "email": email,
                                       "domain": "news.example.com", **visitor})
    assert r.status_code == 200, r.text


def test_safe_links_click__stored_as_bot_and_counted(http: httpx.Client, db: psycopg.Connection[Any],
                                                     campaign_id: int) -> None:
    send(http, campaign_id, "ann@corp.example", SAFE_LINKS)
    send(http, campaign_id, "bob@home.example", PERSON)
    wait_until(lambda: event_count(db, campaign_id) == 2, message="both clicks stored")
    stored = dict(db.execute("SELECT email, extra_params -> '_tracker' FROM events WHERE campaign_id = %s",
                             (campaign_id,)).fetchall())
    scanner, person = stored["ann@corp.example"], stored["bob@home.example"]
    assert (scanner["is_bot"], scanner["bot_kind"]) == (True, "scanner")
    assert scanner["asn"] == "MICROSOFT-CORP-MSN-AS-BLOCK" and "Microsoft" in scanner["bot_reason"]
    assert (person["is_bot"], person["bot_kind"], person["asn"]) == (False, None, "COMCAST-7922")
    stats = db.execute("SELECT email_clicks, bot_email_clicks FROM domain_stats WHERE campaign_id = %s",
                       (campaign_id,)).fetchone()
    assert tuple(stats) == (2, 1)
    assert_rollups_match_recount(db, campaign_id)
