"""store_events directly against Postgres: idempotence and rollup arithmetic."""
import time
from typing import Any

import psycopg

from tests.checks import assert_rollups_match_recount
from tests.events import store


def _event(conn: psycopg.Connection[Any], cid: int, event_type: str, email: str, domain: str,
           ua: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0") -> dict[str, Any]:
    (event_id,) = conn.execute("SELECT nextval('events_id_seq')").fetchone()
    return {"id": event_id, "cid": cid, "type": event_type, "email": email, "domain": domain,
            "ip": "198.51.100.7", "ua": ua, "extra": {}, "ts": time.time()}


def test_store_twice__inserts_once(db: psycopg.Connection, campaign_id: int) -> None:
    events = [_event(db, campaign_id, "email_click", f"u{i}@x.com", "a.com") for i in range(5)]
    assert store(db, events) == 5
    assert store(db, events) == 0
    assert_rollups_match_recount(db, campaign_id)


def test_unique_users_per_type(db: psycopg.Connection, campaign_id: int) -> None:
    store(db, [_event(db, campaign_id, "email_click", "a@x.com", "a.com"),
                      _event(db, campaign_id, "email_click", "a@x.com", "a.com")])
    store(db, [_event(db, campaign_id, "email_click", "a@x.com", "a.com"),
                      _event(db, campaign_id, "conversion", "a@x.com", "a.com"),
                      _event(db, campaign_id, "email_click", "b@x.com", "a.com"),
                      _event(db, campaign_id, "landing_click", "c@x.com", "b.com",
                             ua="Mozilla/5.0 (compatible; Googlebot/2.1)")])
    stats = {r[0]: r[1:] for r in db.execute(
        "SELECT domain, email_clicks, users, email_click_users, conversion_users, bot_landing_clicks "
        "FROM domain_stats WHERE campaign_id = %s", (campaign_id,))}
    assert stats == {"a.com": (4, 2, 2, 1, 0), "b.com": (0, 1, 0, 0, 1)}
    assert_rollups_match_recount(db, campaign_id)


def test_hourly_rollup__a_late_older_event_moves_the_recipient_to_its_hour(
        db: psycopg.Connection, campaign_id: int) -> None:
    """Recipients are counted in the hour of their first event, even when it arrives after later ones, and
    gain a per-type count in that hour when their first event of the type comes in a later batch."""
    noon = 1_764_072_000.0  # 2025-11-25 12:00 UTC
    first = _event(db, campaign_id, "email_click", "late@x.com", "a.com") | {"ts": noon + 1800}  # 12:30
    store(db, [first])
    earlier = _event(db, campaign_id, "landing_click", "late@x.com", "a.com") | {"ts": noon - 3 * 3600}  # 09:00
    store(db, [earlier])
    later = _event(db, campaign_id, "conversion", "late@x.com", "a.com") | {"ts": noon + 7200}  # 14:00
    store(db, [later])
    rows = db.execute("SELECT extract(hour FROM hour)::int, users, email_click_users, landing_click_users, "
                      "conversion_users, email_clicks FROM hourly_stats WHERE campaign_id = %s ORDER BY hour",
                      (campaign_id,)).fetchall()
    assert rows == [(9, 1, 1, 1, 1, 0), (12, 0, 0, 0, 0, 1), (14, 0, 0, 0, 0, 0)]
    assert_rollups_match_recount(db, campaign_id)
