"""The burst rule inside store_events: later clicks of a burst are bots, redelivery changes nothing."""
import time
from datetime import UTC
from typing import Any

import psycopg
import pytest

from common.config import get_settings
from tests.checks import assert_rollups_match_recount
from tests.events import store

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/126.0.0.0 Safari/537.36")
HOME_IP = "73.15.20.10"  # Comcast: the rules call this visitor human
MIMECAST_IP = "205.139.110.30"  # the rules call this a scanner by its network
WINDOW = get_settings().burst_window_seconds


def click(conn: psycopg.Connection[Any], cid: int, ts: float, email: str = "ann@example.com",
          event_type: str = "email_click", ip: str = HOME_IP) -> dict[str, Any]:
    (event_id,) = conn.execute("SELECT nextval('events_id_seq')").fetchone()
    return {"id": event_id, "cid": cid, "type": event_type, "email": email, "domain": "news.example.com",
            "ip": ip, "ua": CHROME, "extra": {}, "ts": ts}


def verdicts(conn: psycopg.Connection[Any], events: list[dict[str, Any]]) -> list[str | None]:
    """bot_kind of each event, in the given order (None: human)."""
    query = "SELECT id, extra_params -> '_tracker' ->> 'bot_kind' FROM events WHERE id = ANY(%s)"
    rows = dict(conn.execute(query, ([e["id"] for e in events],)).fetchall())
    return [rows[e["id"]] for e in events]


def test_window_is_on_by_default() -> None:
    assert WINDOW > 0


def test_clicks_seconds_apart_in_one_batch__later_ones_are_bursts(db: psycopg.Connection,
                                                                  campaign_id: int) -> None:
    t = time.time()
    events = [click(db, campaign_id, t), click(db, campaign_id, t + 1), click(db, campaign_id, t + 2)]
    assert store(db, events) == 3
    assert verdicts(db, events) == [None, "burst", "burst"]
    reason = db.execute("SELECT extra_params -> '_tracker' ->> 'bot_reason' FROM events WHERE id = %s",
                        (events[1]["id"],)).fetchone()[0]
    assert reason.startswith("burst: ")
    stats = "SELECT sum(bot_email_clicks), sum(email_clicks) FROM domain_stats WHERE campaign_id = %s"
    assert tuple(db.execute(stats, (campaign_id,)).fetchone()) == (2, 3)
    assert_rollups_match_recount(db, campaign_id)


def test_click_within_window_of_a_stored_one__burst_across_batches(db: psycopg.Connection,
                                                                  campaign_id: int) -> None:
    t = time.time()
    first, near, far = (click(db, campaign_id, t + dt) for dt in (0, 3, 60))
    store(db, [first])
    store(db, [near])
    store(db, [far])
    assert verdicts(db, [first, near, far]) == [None, "burst", None]
    assert_rollups_match_recount(db, campaign_id)


def test_earlier_click_arriving_late__the_one_stored_second_is_flagged(db: psycopg.Connection,
                                                                       campaign_id: int) -> None:
    t = time.time()
    earlier, later = click(db, campaign_id, t), click(db, campaign_id, t + 2)
    store(db, [later])
    store(db, [earlier])  # never reclassify what is stored: the late arrival carries the verdict
    assert verdicts(db, [earlier, later]) == ["burst", None]
    assert_rollups_match_recount(db, campaign_id)


def test_redelivered_batch__changes_nothing(db: psycopg.Connection, campaign_id: int) -> None:
    t = time.time()
    events = [click(db, campaign_id, t), click(db, campaign_id, t + 1)]
    assert store(db, events) == 2
    stats = "SELECT email_clicks, bot_email_clicks FROM domain_stats WHERE campaign_id = %s"
    assert tuple(db.execute(stats, (campaign_id,)).fetchone()) == (2, 1)
    assert store(db, events) == 0
    assert store(db, [events[1], click(db, campaign_id, t + 500)]) == 1  # partial overlap
    assert verdicts(db, events) == [None, "burst"]
    assert tuple(db.execute(stats, (campaign_id,)).fetchone()) == (3, 1)
    assert_rollups_match_recount(db, campaign_id)


def test_person_clicking_right_after_a_scanner__stays_human(db: psycopg.Connection, campaign_id: int) -> None:
    t = time.time()
    scanner, person = click(db, campaign_id, t, ip=MIMECAST_IP), click(db, campaign_id, t + 1)
    store(db, [scanner, person])
    assert verdicts(db, [scanner, person]) == ["scanner", None]
    assert_rollups_match_recount(db, campaign_id)


def test_other_recipients_and_landing_clicks__not_bursts(db: psycopg.Connection, campaign_id: int) -> None:
    t = time.time()
    events = [click(db, campaign_id, t), click(db, campaign_id, t + 1, email="bob@example.com"),
              click(db, campaign_id, t + 1, event_type="landing_click"),
              click(db, campaign_id, t + 2, event_type="landing_click")]
    store(db, events)
    assert verdicts(db, events) == [None, None, None, None]
    assert_rollups_match_recount(db, campaign_id)


def test_scanner_click_stored_before__a_person_right_after_stays_human(db: psycopg.Connection,
                                                                      campaign_id: int) -> None:
    """Only clicks the rules call human become the recipient's reference (journeys.last_email_click_at)."""
    t = time.time()
    scanner, person, again = (click(db, campaign_id, t, ip=MIMECAST_IP), click(db, campaign_id, t + 1),
                              click(db, campaign_id, t + 2))
    store(db, [scanner])
    store(db, [person])
    store(db, [again])
    assert verdicts(db, [scanner, person, again]) == ["scanner", None, "burst"]
    reference = db.execute("SELECT last_email_click_at FROM journeys WHERE campaign_id = %s",
                           (campaign_id,)).fetchone()[0]
    assert reference.replace(tzinfo=UTC).timestamp() == pytest.approx(t + 2, abs=0.01)  # naive UTC
    assert_rollups_match_recount(db, campaign_id)
