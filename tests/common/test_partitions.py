"""Events partitioned by month: the store stays exactly-once with the key (id, created_at), and retention by
detached months keeps the rollups equal to a recount.

Converting `events` changes the schema, so these tests run on a database of their own: the test database's
schema copied into it (pg_dump), dropped afterwards.
"""

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from common.db import libpq_dsn
from common.partitions import (
    attached_months,
    create_months,
    detach_before,
    is_partitioned,
    month_start,
    partition_events,
    retired_tables,
)
from common.retention import subtract_retired_batch
from tests.checks import assert_rollups_match_recount, stored_ids
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
    after = _batch(parts_db, [("landing_click", "old@x.com", now - 69 * DAY), ("conversion", "new@x.com", now)])
    assert store(parts_db, after) == 2
    # Redelivered batches, from before the switch and after it: nothing new, in whichever month they fall.
    assert store(parts_db, before) == 0
    assert store(parts_db, after) == 0
    assert store(parts_db, before + after) == 0
    assert sorted(stored_ids(parts_db, 1)) == sorted(e["id"] for e in before + after)
    assert_rollups_match_recount(parts_db, 1)


def test_partitioned_retention__old_months_dropped__rollups_equal_recount(parts_db: psycopg.Connection[Any]) -> None:
    now = time.time()
    partition_events(parts_db, ahead=1, progress=lambda done, total: None)
    this_month = month_start(datetime.now(UTC).date())
    cutoff = datetime.combine(this_month, datetime.min.time()) - timedelta(days=31)  # inside last month
    cutoff = datetime.combine(month_start(cutoff.date()), datetime.min.time())  # ...at its start
    old = cutoff.replace(tzinfo=UTC).timestamp() - 20 * DAY  # the month before last, or earlier
    create_months(parts_db, datetime.fromtimestamp(old - 40 * DAY, UTC).date(), this_month)
    specs = [("email_click", "gone@x.com", old), ("landing_click", "gone@x.com", old + 60),  # all old: goes
             ("email_click", "mixed@x.com", old - 40 * DAY), ("conversion", "mixed@x.com", now),  # first_seen moves
             ("email_click", "fresh@x.com", now)]
    specs += [("email_click", f"many{n}@x.com", old + n) for n in range(7)]
    assert store(parts_db, _batch(parts_db, specs)) == len(specs)

    detached = detach_before(parts_db, cutoff)
    assert detached and retired_tables(parts_db) == sorted(detached)
    assert parts_db.execute("SELECT count(*) FROM events").fetchone() == (2,)  # the detached months left `events` at once...
    for table in retired_tables(parts_db):
        while subtract_retired_batch(parts_db, table=table, batch=3, timezone="UTC") == 3:
            pass
    assert retired_tables(parts_db) == []  # ...and their tables are dropped once subtracted
    journeys = parts_db.execute("SELECT email, first_seen > %s FROM journeys ORDER BY email", (cutoff,)).fetchall()
    assert journeys == [("fresh@x.com", True), ("mixed@x.com", True)]
    assert_rollups_match_recount(parts_db, 1)
    # The next run finds nothing more to detach.
    assert detach_before(parts_db, cutoff) == []
