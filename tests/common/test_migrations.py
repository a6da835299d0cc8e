"""Migrations on a database of their own: 0006 fills hourly_stats from the events an install already has; 0015
reshapes report slots (a `param:` slot kept, a pair taken out on the way down);
a fresh install plans the ingest statement well before any statistics exist."""
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, pool
from sqlalchemy.engine import make_url

from common import store
from common.config import settings
from common.db import libpq_dsn
from tests.checks import assert_hours_match_recount, assert_reports_match_recount

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"

_EVENTS = """
INSERT INTO events (id, campaign_id, event_type, email, domain, extra_params, created_at) VALUES
 (1, 1, 'email_click', 'a@x.com', 'd1.com', '{"_tracker": {"is_bot": true}}', '2026-11-01 10:05'),
 (2, 1, 'email_click', 'a@x.com', 'd1.com', '{"_tracker": {"is_bot": false}}', '2026-11-01 10:59:59'),
 (3, 1, 'landing_click', 'a@x.com', 'd1.com', NULL, '2026-11-01 11:00'),
 (4, 1, 'conversion', 'b@y.com', 'd2.com', '{}', '2026-11-02 23:30'),
 (5, 1, 'email_click', 'b@y.com', 'd2.com', '{"_tracker": {"is_bot": true}}', '2026-11-02 23:31')
"""

# What 0005's ingest kept for those events.
_JOURNEYS = """
INSERT INTO journeys (campaign_id, email, domain, first_seen, last_seen, email_clicks, landing_clicks, conversions)
SELECT campaign_id, email, domain, min(created_at), max(created_at),
       count(*) FILTER (WHERE event_type = 'email_click'), count(*) FILTER (WHERE event_type = 'landing_click'),
       count(*) FILTER (WHERE event_type = 'conversion')
FROM events GROUP BY campaign_id, email, domain
"""


@pytest.fixture
def scratch() -> Iterator[Connection]:
    """An empty database of this test's own, dropped afterwards; yields a SQLAlchemy connection to it."""
    name = f"tracker_migrations_{uuid.uuid4().hex[:8]}"
    admin = libpq_dsn().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(make_url(settings.database_url).set(database=name), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    config = Config(str(ALEMBIC_INI))
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)
    connection.commit()


def _psycopg(connection: Connection) -> Any:
    return connection.connection.driver_connection


def _old_install(scratch: Connection) -> Any:
    """A database at 0005 with one campaign's events and journeys, then migrated to head; its psycopg conn."""
    _migrate(scratch, "0005")
    raw = _psycopg(scratch)
    raw.execute("INSERT INTO campaigns (id, name, offer_url) VALUES (1, 'Old', 'https://o.example/')")
    raw.execute(_EVENTS)
    raw.execute(_JOURNEYS)
    raw.commit()
    _migrate(scratch, "head")
    return raw


def test_0011_fills_report_stats_from_stored_events(scratch: Connection) -> None:
    raw = _old_install(scratch)
    rows = raw.execute("SELECT value, email_clicks, bot_email_clicks, email_click_users FROM report_stats "
                       "WHERE dimension = 'domain' ORDER BY day, value").fetchall()
    assert rows == [("d1.com", 2, 1, 1), ("d2.com", 1, 1, 1)]
    raw.commit()
    assert_reports_match_recount(raw, 1)


def test_0015_keeps_param_slots_and_their_rows_and_takes_pairs_back_out(scratch: Connection) -> None:
    _migrate(scratch, "0005")
    raw = _psycopg(scratch)
    raw.execute("INSERT INTO campaigns (id, name, offer_url) VALUES (1, 'Old', 'https://o.example/')")
    raw.execute(_EVENTS.replace("'{}'", """'{"sub1": "x"}'"""))
    raw.execute(_JOURNEYS)
    raw.commit()
    _migrate(scratch, "0014")
    raw.execute("INSERT INTO report_slots (campaign_id, key) VALUES (1, 'sub1')")
    raw.commit()
    options = {"timezone": settings.dashboard_timezone, "max_values": settings.report_max_values}
    _migrate(scratch, "head")
    from common.report_slots import add_pair, slots
    from common.reports import backfill_step

    assert [(s.dimension, s.key, s.then) for s in slots(raw, 1)] == [("param:sub1", "sub1", None)]
    add_pair(raw, 1, "param:sub1", "domain")
    while backfill_step(raw, **options):
        pass
    raw.commit()
    assert_reports_match_recount(raw, 1)
    raw.commit()
    _migrate(scratch, "0014", down=True)
    assert raw.execute("SELECT key, filled FROM report_slots").fetchall() == [("sub1", True)]
    assert raw.execute("SELECT DISTINCT dimension FROM report_stats WHERE dimension LIKE 'param:%'"
                       ).fetchall() == [("param:sub1",)]
    raw.commit()


def test_0006_fills_hourly_stats_from_stored_events(scratch: Connection) -> None:
    raw = _old_install(scratch)

    rows = raw.execute("SELECT hour::text, domain, email_clicks, bot_email_clicks, landing_clicks, conversions, "
                       "users, landing_click_users FROM hourly_stats ORDER BY hour, domain").fetchall()
    assert rows == [  # a@x.com first seen at 10:05 (and landed later), b@y.com at 23:30
        ("2026-11-01 10:00:00", "d1.com", 2, 1, 0, 0, 1, 1),
        ("2026-11-01 11:00:00", "d1.com", 0, 0, 1, 0, 0, 0),
        ("2026-11-02 23:00:00", "d2.com", 1, 1, 0, 1, 1, 0),
    ]
    assert_hours_match_recount(raw, 1)
    raw.commit()


def test_every_migration_downgrades_and_upgrades_again(scratch: Connection) -> None:
    _migrate(scratch, "head")
    _migrate(scratch, "base", down=True)
    tables = _psycopg(scratch).execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'").fetchone()
    assert tables == (0,)
    _migrate(scratch, "head")
    assert _psycopg(scratch).execute("SELECT to_regclass('hourly_stats') IS NOT NULL").fetchone() == (True,)


def test_fresh_install__burst_probe_reads_the_journey_by_its_primary_key(scratch: Connection) -> None:
    """Without statistics (autovacuum off, nothing analyzed yet) the planner picked the journeys index on
    (campaign, domain, first_seen, email) for the burst rule's probe: a scan of the whole domain per email
    click. (On a few hundred rows both indexes still cost the same, see common/burst.py.)"""
    _migrate(scratch, "head")
    raw = _psycopg(scratch)
    raw.execute("INSERT INTO campaigns (id, name, offer_url) VALUES (1, 'New', 'https://n.example/')")
    raw.execute("INSERT INTO journeys (campaign_id, email, domain, first_seen, last_seen) "
                "SELECT 1, 'u' || g || '@x.com', 'd' || g % 3 || '.com', now(), now() "
                "FROM generate_series(1, 5000) g")
    assert raw.execute("SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables "
                       "WHERE relname = 'journeys'").fetchone() == (None, None)
    click = {"id": 1, "cid": 1, "type": "email_click", "email": "u1@x.com", "domain": "d1.com", "extra": {},
             "ts": 1.8e9}
    plan = [line for (line,) in raw.execute("EXPLAIN " + store._MERGE,
                                           {"rows": orjson.dumps([click]).decode(),
                                            **store.StoreOptions(10, "UTC").params()})]
    probes = [line.strip() for line in plan if " on journeys r " in line]
    assert len(probes) == 1 and probes[0].startswith("->  Index Scan using pk_journeys on journeys r "), plan
    raw.rollback()


def test_0007_replaces_the_email_search_index_and_back(scratch: Connection) -> None:
    def indexes() -> set[str]:
        rows = _psycopg(scratch).execute("SELECT indexname FROM pg_indexes WHERE tablename = 'journeys' "
                                         "AND indexname LIKE '%trgm'").fetchall()
        return {name for (name,) in rows}

    _migrate(scratch, "head")
    assert indexes() == {"ix_journeys_domain_email_trgm"}
    _migrate(scratch, "0006", down=True)
    assert indexes() == {"ix_journeys_email_trgm"}
