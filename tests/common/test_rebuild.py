"""`tracker rollups rebuild`: corrupted rollups come back equal to tests/checks.py's recount of the events."""
import threading
from typing import Any

import psycopg
import pytest

from common.cli import main as cli
from common.config import get_settings
from common.db import connect
from common.rebuild import REPAIR_LOCK
from common.reports import fold
from tests.checks import assert_rollups_match_recount
from tests.common.mend_data import fill, wire
from tests.events import store


def corrupt(conn: psycopg.Connection[Any], cid: int) -> None:
    """One wrong row of each kind in every rollup: a counter off, a row missing, a row that should not exist."""
    conn.execute("UPDATE domain_stats SET email_clicks = email_clicks + 5, bot_email_clicks = 0, users = 99 "
                 "WHERE campaign_id = %s", (cid,))
    conn.execute("DELETE FROM hourly_stats WHERE campaign_id = %s AND hour = (SELECT min(hour) FROM hourly_stats "
                 "WHERE campaign_id = %s)", (cid, cid))
    conn.execute("INSERT INTO hourly_stats (campaign_id, hour, domain, email_clicks) "
                 "VALUES (%s, '2001-01-01', 'ghost.com', 3)", (cid,))
    conn.execute("UPDATE journeys SET bot_events = 7, revenue = 0, first_seen = last_seen WHERE campaign_id = %s",
                 (cid,))
    conn.execute("INSERT INTO journeys (campaign_id, email, domain, first_seen, last_seen) "
                 "VALUES (%s, 'ghost@x.com', 'ghost.com', now(), now())", (cid,))
    conn.execute("UPDATE daily_stats SET revenue = revenue + 1, unknown_email_clicks = 4 WHERE campaign_id = %s",
                 (cid,))
    settings = get_settings()  # the reports count what the fold has taken from their queue
    fold(conn, timezone=settings.dashboard_timezone, max_values=settings.report_max_values)
    assert conn.execute("UPDATE report_stats SET email_clicks = email_clicks + 2 WHERE campaign_id = %s "
                        "AND dimension = 'domain'", (cid,)).rowcount > 0


def rollups(conn: psycopg.Connection[Any], cid: int) -> list[Any]:
    return [conn.execute(f"SELECT * FROM {t} WHERE campaign_id = %s ORDER BY 2, 3, 4", (cid,)).fetchall()
            for t in ("journeys", "domain_stats", "hourly_stats", "daily_stats", "report_stats")]


def test_rebuild__corrupted_rollups_equal_recount(db: psycopg.Connection, campaign_id: int,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    fill(db, campaign_id)
    corrupt(db, campaign_id)
    assert cli(["rollups", "rebuild", "--campaign", str(campaign_id)]) == 0
    out = capsys.readouterr().out
    assert_rollups_match_recount(db, campaign_id)
    assert "journeys 1 added" not in out and "journeys 0 added, 4 corrected, 1 removed" in out
    assert "report_stats 0 added, " in out and "report_stats 0 added, 0 corrected" not in out
    assert "hourly_stats 1 added, 1 corrected, 1 removed" in out or "hourly_stats 1 added, 0 corrected, 1 removed" in out

    before = rollups(db, campaign_id)
    assert cli(["rollups", "rebuild", "--campaign", str(campaign_id)]) == 0  # idempotent
    assert "every rollup already matched" in capsys.readouterr().out
    assert rollups(db, campaign_id) == before


def test_rebuild__one_campaign_in_another_zone__exit_2(db: psycopg.Connection, campaign_id: int,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """daily_stats counts the days of the zone in rollup_state: one campaign cannot move to another."""
    fill(db, campaign_id)
    corrupt(db, campaign_id)
    before = rollups(db, campaign_id)
    zone = db.execute("SELECT value FROM rollup_state WHERE name = 'daily_timezone'").fetchone()
    db.execute("UPDATE rollup_state SET value = 'Asia/Tokyo' WHERE name = 'daily_timezone'")
    try:
        assert cli(["rollups", "rebuild", "--campaign", str(campaign_id)]) == 2
    finally:
        db.execute("UPDATE rollup_state SET value = %s WHERE name = 'daily_timezone'", zone)
    assert "Asia/Tokyo" in capsys.readouterr().out
    assert rollups(db, campaign_id) == before


def test_rebuild__while_events_are_stored(db: psycopg.Connection, campaign_id: int) -> None:
    """Events stored during a rebuild are counted once: the rebuild holds writes off per campaign."""
    fill(db, campaign_id)
    corrupt(db, campaign_id)
    batches = [wire(db, campaign_id, [("email_click", f"p{n}-{k}@x.c.com", 60.0, {}) for k in range(20)])
               for n in range(10)]

    def ingest() -> None:
        with connect() as conn:
            for batch in batches:
                store(conn, batch)

    writer = threading.Thread(target=ingest)
    writer.start()
    for _ in range(3):
        assert cli(["rollups", "rebuild", "--campaign", str(campaign_id)]) == 0
    writer.join()
    assert_rollups_match_recount(db, campaign_id)


def test_rebuild__unknown_campaign__exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["rollups", "rebuild", "--campaign", "987654321"]) == 2
    assert "no campaign 987654321" in capsys.readouterr().out


def test_rebuild__second_run_refused__changes_nothing(db: psycopg.Connection, campaign_id: int,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fill(db, campaign_id)
    corrupt(db, campaign_id)
    before = rollups(db, campaign_id)
    with connect() as other:
        other.execute("SELECT pg_advisory_lock(%s)", (REPAIR_LOCK,))  # a rebuild running elsewhere
        assert cli(["rollups", "rebuild", "--campaign", str(campaign_id)]) == 2
    assert "is running" in capsys.readouterr().out
    assert rollups(db, campaign_id) == before
