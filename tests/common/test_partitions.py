"""Events partitioned by month: the store stays exactly-once with the key (id, created_at), and retention by
detached months keeps the rollups equal to a recount.

Converting `events` changes the schema, so these tests run on a database of their own: the test database's
schema copied into it (pg_dump), dropped afterwards.
"""

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from common.config import Settings
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
from common.queue import INGEST_TASK, make_celery, queue_depth
from common.repartition import converting, copy, partition_events, start
from common.retention import retention_batch
from tests.checks import assert_rollups_match_recount, stored_ids
from tests.conftest import TEST_ENV, service_env
from tests.events import CHROME, store
from tests.services import start_worker, wait_until

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


def test_partitioned_retention_while_a_worker_stores_the_same_campaign__no_deadlock_rollups_exact(
    parts_db: psycopg.Connection[Any],
) -> None:
    """Retention and ingest write the same rollup rows (domain_stats, and the journeys of returning recipients):
    each locks them in key order, so neither waits on the other in a cycle. Before, retention's UPDATEs locked
    domain_stats in join order and deadlocked with ingest within seconds (issue #19)."""
    partition_events(parts_db, ahead=1, progress=lambda done, total: None)
    old = time.time() - 100 * DAY
    create_months(parts_db, datetime.fromtimestamp(old, UTC).date(), datetime.now(UTC).date())
    for hour in range(6):
        specs = [("email_click", f"r{n}@x.com", old + hour * 3600) for n in range(hour * 500, hour * 500 + 500)]
        assert store(parts_db, _on_domains(_batch(parts_db, specs))) == 500
    cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)
    deadlocks = _deadlocks(parts_db)

    queue = f"{TEST_ENV['INGEST_QUEUE']}_parts"
    # Two processes: two ingest transactions at once, as a busy install runs.
    worker = start_worker(service_env(DATABASE_URL=_url(parts_db), INGEST_QUEUE=queue), queue, concurrency=2,
                          pool="prefork")
    settings = Settings(database_url=_url(parts_db), ingest_queue=queue)
    celery = make_celery(settings)
    sent: list[int] = []
    stop = threading.Event()

    def publish() -> None:
        """Batches of 40 clicks over every domain, half of them from recipients whose old events go, a few
        always waiting: both worker processes store all the time."""
        with psycopg.connect(libpq_dsn().rsplit("/", 1)[0] + "/" + parts_db.info.dbname, autocommit=True) as conn:
            while not stop.is_set():
                if queue_depth(celery, settings) >= 4:
                    time.sleep(0.01)
                    continue
                n = len(sent)
                emails = [f"r{(n + k) * 7 % 3000}@x.com" if k % 2 else f"new{n + k}@x.com" for k in range(40)]
                rows = _on_domains(_batch(conn, [("landing_click", email, time.time()) for email in emails]))
                celery.send_task(INGEST_TASK, args=[rows], queue=queue)
                sent.extend(row["id"] for row in rows)

    def fallback() -> None:
        """The web tier's broker-down fallback meanwhile: the same statement, stored directly, back to back."""
        with psycopg.connect(libpq_dsn().rsplit("/", 1)[0] + "/" + parts_db.info.dbname, autocommit=True) as conn:
            while not stop.is_set():
                emails = [f"new{n}@x.com" for n in range(len(direct), len(direct) + 20)]
                rows = _on_domains(_batch(conn, [("email_click", email, time.time()) for email in emails]))
                try:
                    store(conn, rows)
                except psycopg.errors.DeadlockDetected:
                    continue  # counted by the server; the web tier would answer 503 and the client retry
                direct.extend(row["id"] for row in rows)

    direct: list[int] = []
    publisher = threading.Thread(target=publish)
    storers = [threading.Thread(target=fallback) for _ in range(2)]
    publisher.start()
    for t in storers:
        t.start()
    try:
        deleted, more = 0, True
        while more:
            n, more = retention_batch(parts_db, cutoff=cutoff, batch=200, timezone="UTC")  # a deadlock raises
            deleted += n
        stop.set()
        publisher.join()
        wait_until(lambda: parts_db.execute("SELECT count(*) FROM events WHERE id = ANY(%s)", (sent,)).fetchone()
                   == (len(sent),), timeout=60, message="every published event stored")
    finally:
        stop.set()
        for t in (publisher, *storers):
            t.join()
        worker.stop()
    assert deleted == 3000
    assert len(sent) >= 400 and len(direct) >= 400, "ingest ran throughout"
    assert _deadlocks(parts_db) == deadlocks, "no deadlock on the server, retention's or ingest's"
    assert "deadlock" not in worker.log().lower()
    assert_rollups_match_recount(parts_db, 1)


def _on_domains(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each recipient on one of 20 domains, by the number in their address (r17@ and new17@: mail17), named as
    `tracker generate` names them (the order a hash join yields them in decided whether the old code
    deadlocked)."""
    for row in rows:
        row["domain"] = f"mail{int(''.join(filter(str.isdigit, row['email']))) % 20}.sender-example.com"
    return rows


def _url(conn: psycopg.Connection[Any]) -> str:
    return TEST_ENV["DATABASE_URL"].rsplit("/", 1)[0] + "/" + conn.info.dbname


def _deadlocks(conn: psycopg.Connection[Any]) -> int:
    """The server's count of deadlocks in this database (any backend's: the worker's too), once flushed."""
    time.sleep(1.5)  # a backend reports its counters to pg_stat within a second of going idle
    conn.execute("SELECT pg_stat_clear_snapshot()")
    row = conn.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0
