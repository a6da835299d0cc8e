"""Events partitioned by month: the store stays exactly-once with the key (id, created_at), and retention by
detached months keeps the rollups equal to a recount.

Converting `events` changes the schema, so these tests run on a database of their own: the test database's
schema copied into it (pg_dump), dropped afterwards.
"""

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from common.db import libpq_dsn
from common.maintenance import INGEST_TABLES, Policy, maintain, read_stats
from common.partitions import (
    attached_months,
    create_months,
    create_months_ahead,
    is_partitioned,
    month_name,
    month_of,
    month_start,
    months_before,
)
from common.repartition import converting, copy, partition_events, start
from common.retention import retention_batch
from tests.checks import assert_rollups_match_recount, stored_ids
from tests.conftest import TEST_ENV, service_env
from tests.events import CHROME, store

DAY = 86_400


@pytest.fixture
def parts_db(database: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to a fresh copy of the test database's schema, with one campaign (id 1)."""
    source = libpq_dsn()
    server, name = source.rsplit("/", 1)
    copy = f"{name}_parts"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        admin.execute(f'CREATE DATABASE "{copy}"')
        schema = subprocess.run(["pg_dump", "--schema-only", "--no-owner", source], check=True,
                                capture_output=True, text=True).stdout
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", f"{server}/{copy}"], input=schema, check=True,
                       capture_output=True, text=True)
        with psycopg.connect(f"{server}/{copy}", autocommit=True) as conn:
            conn.execute("INSERT INTO campaigns (id, name, offer_url) VALUES (1, 'Partitioned', 'https://o.example/')")
            yield conn
        admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


def _batch(conn: psycopg.Connection[Any], specs: list[tuple[str, str, float]]) -> list[dict[str, Any]]:
    ids = [r[0] for r in conn.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (len(specs),))]
    return [{"id": i, "cid": 1, "type": t, "email": e, "domain": "a.com", "ip": "198.51.100.1", "ua": CHROME,
             "extra": {}, "ts": ts} for i, (t, e, ts) in zip(ids, specs, strict=True)]


def test_partitioned_events__every_batch_stored_once__before_and_after_the_switch(
    parts_db: psycopg.Connection[Any],
) -> None:
    now = time.time()
    before = _batch(parts_db, [("email_click", "old@x.com", now - 70 * DAY), ("email_click", "new@x.com", now)])
    assert store(parts_db, before) == 2
    assert partition_events(parts_db, ahead=2, progress=lambda done, total: None) == 2
    assert is_partitioned(parts_db)
    assert len(attached_months(parts_db)) >= 5  # from the oldest event's month to two months ahead
    assert len(create_months_ahead(parts_db, 3)) == 1  # the daily job's: only the month missing
    assert create_months_ahead(parts_db, 3) == []
    after = _batch(parts_db, [("landing_click", "old@x.com", now - 69 * DAY), ("conversion", "new@x.com", now)])
    assert store(parts_db, after) == 2
    # Redelivered batches, from before the switch and after it: nothing new, in whichever month they fall.
    assert store(parts_db, before) == 0
    assert store(parts_db, after) == 0
    assert store(parts_db, before + after) == 0
    assert sorted(stored_ids(parts_db, 1)) == sorted(e["id"] for e in before + after)
    assert_rollups_match_recount(parts_db, 1)


def test_partitioned_retention__old_months_dropped_the_rest_deleted__rollups_equal_recount(
    parts_db: psycopg.Connection[Any],
) -> None:
    now = time.time()
    partition_events(parts_db, ahead=1, progress=lambda done, total: None)
    this_month = datetime.combine(month_start(datetime.now(UTC).date()), datetime.min.time())
    last_month = datetime.combine(month_start((this_month - timedelta(days=1)).date()), datetime.min.time())
    cutoff = last_month + timedelta(days=10)  # months before last are detached; last month is only partly past
    last = last_month.replace(tzinfo=UTC).timestamp()
    old = last - 20 * DAY
    create_months(parts_db, datetime.fromtimestamp(old - 40 * DAY, UTC).date(), this_month.date())
    specs = [("email_click", "gone@x.com", old), ("landing_click", "gone@x.com", old + 60),  # all old: goes
             ("email_click", "mixed@x.com", old - 40 * DAY), ("conversion", "mixed@x.com", now),  # first_seen moves
             ("email_click", "part@x.com", last + 2 * DAY),  # in the month the cutoff cuts: deleted...
             ("landing_click", "part@x.com", last + 15 * DAY),  # ...and kept
             ("email_click", "fresh@x.com", now)]
    specs += [("email_click", f"many{n}@x.com", old + n) for n in range(7)]
    assert store(parts_db, _batch(parts_db, specs)) == len(specs)

    past = months_before(parts_db, cutoff)
    assert past and all(month_of(name) < last_month.date() for name in past)  # type: ignore[operator]
    while retention_batch(parts_db, cutoff=cutoff, batch=3, timezone="UTC")[1]:
        pass
    assert months_before(parts_db, cutoff) == []  # emptied, then dropped
    assert not set(past) & {month_name(m) for m in attached_months(parts_db)}
    assert parts_db.execute("SELECT count(*) FROM events").fetchone() == (3,)
    journeys = parts_db.execute("SELECT email, first_seen > %s FROM journeys ORDER BY email", (cutoff,)).fetchall()
    assert journeys == [("fresh@x.com", True), ("mixed@x.com", True), ("part@x.com", True)]
    assert_rollups_match_recount(parts_db, 1)
    assert retention_batch(parts_db, cutoff=cutoff, batch=3, timezone="UTC") == (0, False)  # nothing more


class _Interrupted(Exception):
    pass


def _interrupt(done: int, total: int) -> None:
    raise _Interrupted


def test_conversion__events_stored_while_it_runs_and_an_interrupted_copy__each_event_once(
    parts_db: psycopg.Connection[Any],
) -> None:
    now = time.time()
    sent = _batch(parts_db, [("email_click", f"u{n}@x.com", now - n * DAY) for n in range(10)])
    late, early = sent[:3], sent[3:]  # the lowest ids are stored last (ids come in blocks per web process)
    assert store(parts_db, early) == 7
    start(parts_db, ahead=1)
    assert converting(parts_db)
    with pytest.raises(_Interrupted):
        copy(parts_db, batch=4, progress=_interrupt)  # one range copied, then the command is stopped
    assert store(parts_db, late) == 3  # below the copied range: the trigger takes them into the twin
    assert store(parts_db, early) == 0  # a redelivery meanwhile
    partition_events(parts_db, ahead=1, progress=lambda done, total: None, batch=4)  # resumes, then swaps
    assert is_partitioned(parts_db) and not converting(parts_db)
    assert sorted(stored_ids(parts_db, 1)) == sorted(e["id"] for e in sent)
    assert store(parts_db, sent) == 0
    assert_rollups_match_recount(parts_db, 1)
    # The sequence went with the table: the next ids follow on.
    assert store(parts_db, _batch(parts_db, [("email_click", "next@x.com", now)])) == 1


def test_cli_events_partition__converts_then_says_it_is_done(parts_db: psycopg.Connection[Any]) -> None:
    now = time.time()
    assert store(parts_db, _batch(parts_db, [("email_click", "a@x.com", now - 40 * DAY)])) == 1
    env = service_env(DATABASE_URL=TEST_ENV["DATABASE_URL"].rsplit("/", 1)[0] + "/" + parts_db.info.dbname)
    run = [sys.executable, "-m", "common.cli", "events", "partition", "--batch", "1"]
    first = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "partitioned by month (1 copied" in first.stderr + first.stdout
    assert is_partitioned(parts_db)
    again = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "already partitioned" in again.stderr + again.stdout


def test_maintenance__tends_the_months_of_partitioned_events(parts_db: psycopg.Connection[Any]) -> None:
    """A partitioned table has no statistics row of its own: the job analyses its months instead."""
    now = time.time()
    assert store(parts_db, _batch(parts_db, [("email_click", f"m{n}@x.com", now - n) for n in range(50)])) == 50
    partition_events(parts_db, ahead=1, progress=lambda done, total: None)
    months = {m for m in (r[0] for r in parts_db.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'events'::regclass"))}
    stats = {t.name: t for t in read_stats(parts_db, INGEST_TABLES)}
    assert months and months <= set(stats), "every month of events is watched"
    holding = {m for m in months if parts_db.execute(f'SELECT count(*) FROM "{m}"').fetchone() != (0,)}
    assert holding
    done: set[str] = set()
    deadline = time.monotonic() + 10  # a backend's table statistics reach pg_stat within a second or so
    while not holding <= done and time.monotonic() < deadline:
        parts_db.execute("SELECT pg_stat_force_next_flush()")
        done |= {a.table for a in maintain(parts_db, Policy(0, 0.0, 1000, 0.2))}
        time.sleep(0.2)
    assert holding <= done, "the months holding events were analysed"
