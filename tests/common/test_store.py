"""store_events directly against Postgres: idempotence and rollup arithmetic."""
import time
from typing import Any

import psycopg

from common.store import store_events
from tests.checks import assert_rollups_match_recount


def _event(conn: psycopg.Connection[Any], cid: int, event_type: str, email: str, domain: str,
           ua: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0") -> dict[str, Any]:
    (event_id,) = conn.execute("SELECT nextval('events_id_seq')").fetchone()
    return {"id": event_id, "cid": cid, "type": event_type, "email": email, "domain": domain,
            "ip": "198.51.100.7", "ua": ua, "extra": {}, "ts": time.time()}


def test_store_twice__inserts_once(db: psycopg.Connection, campaign_id: int) -> None:
    events = [_event(db, campaign_id, "email_click", f"u{i}@x.com", "a.com") for i in range(5)]
    assert store_events(db, events) == 5
    assert store_events(db, events) == 0
    assert_rollups_match_recount(db, campaign_id)


def test_unique_users_per_type(db: psycopg.Connection, campaign_id: int) -> None:
    store_events(db, [_event(db, campaign_id, "email_click", "a@x.com", "a.com"),
                      _event(db, campaign_id, "email_click", "a@x.com", "a.com")])
    store_events(db, [_event(db, campaign_id, "email_click", "a@x.com", "a.com"),
                      _event(db, campaign_id, "conversion", "a@x.com", "a.com"),
                      _event(db, campaign_id, "email_click", "b@x.com", "a.com"),
                      _event(db, campaign_id, "landing_click", "c@x.com", "b.com",
                             ua="Mozilla/5.0 (compatible; Googlebot/2.1)")])
    stats = {r[0]: r[1:] for r in db.execute(
        "SELECT domain, email_clicks, users, email_click_users, conversion_users, bot_landing_clicks "
        "FROM domain_stats WHERE campaign_id = %s", (campaign_id,))}
    assert stats == {"a.com": (4, 2, 2, 1, 0), "b.com": (0, 1, 0, 0, 1)}
    assert_rollups_match_recount(db, campaign_id)
