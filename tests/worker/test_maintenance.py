"""Self-maintenance on brand-new, never-analysed databases: the maintain_tables job analyses and vacuums, the
ingest statement's generic plan uses pk_journeys after it, and a worker started on empty tables plans afresh
until then. The server here runs with autovacuum off, as the issue's measurements did."""
import time
import uuid
from typing import Any

import psycopg
import pytest
import redis

from common import store
from common.config import Settings
from common.db import connect
from common.event import encode, from_wire
from common.maintenance import (
    AUTOVACUUM_OFF_WARNING,
    INGEST_TABLES,
    Policy,
    autovacuum_on,
    maintain,
    read_stats,
)
from common.queue import INGEST_TASK, MAINTAIN_TASK, make_celery
from tests.conftest import TEST_ENV, service_env
from tests.services import start_worker, wait_until
from tests.worker.test_ingest_task import batch, new_ids

POLICY = Policy.of(Settings())
OPTIONS = store.StoreOptions(10, "UTC")


def _clicks(conn: psycopg.Connection[Any], cid: int, n: int) -> list[dict[str, Any]]:
    """Email clicks of `n` recipients never seen before, over three domains: one journey each."""
    return [{**event, "type": "email_click", "email": f"r{event['id']}@example.com",
             "domain": f"d{event['id'] % 3}.example.com"} for event in batch(new_ids(conn, n), cid)]


def _fill(conn: psycopg.Connection[Any], events: int) -> int:
    """A campaign with `events` events stored as the worker stores them; returns its id."""
    cid = conn.execute("INSERT INTO campaigns (name, offer_url) VALUES ('Fresh', 'https://o.example/') "
                       "RETURNING id").fetchone()[0]
    for _ in range(0, events, 100):
        store.store_events(conn, from_wire(_clicks(conn, cid, 100)), OPTIONS)
    conn.execute("SELECT pg_stat_force_next_flush()")  # the counters reach pg_stat_user_tables at once
    return int(cid)


def _generic_probe(url: str, cid: int) -> str:
    """The burst rule's probe of journeys in the ingest statement's generic plan: the plan a prepared statement
    may keep whatever the values (PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN): prepare, then EXPLAIN EXECUTE)."""
    with connect(url) as conn:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        click = encode(from_wire(_clicks(conn, cid, 1))).decode()
        conn.execute(store._MERGE, {"rows": click, **OPTIONS.params()}, prepare=True)
        name, types = conn.execute("SELECT name, parameter_types FROM pg_prepared_statements").fetchone()
        nulls = ", ".join(f"NULL::{t}" for t in types)
        plan = [line for (line,) in conn.execute(f"EXPLAIN EXECUTE {name}({nulls})")]
    probes = [line.strip() for line in plan if " on journeys r " in line]
    assert len(probes) == 1, plan
    return probes[0]


def _analysed(conn: psycopg.Connection[Any]) -> dict[str, bool]:
    return {t.name: t.analysed for t in read_stats(conn, INGEST_TABLES)}


def test_maintain__never_analysed_database__analyses_and_the_plan_uses_pk_journeys(fresh_database: str) -> None:
    with connect(fresh_database) as conn:
        cid = _fill(conn, 600)
        assert not any(_analysed(conn).values())
        # The cause, on this server: without statistics the generic plan probes by campaign and domain.
        assert "pk_journeys" not in _generic_probe(fresh_database, cid)

        actions = maintain(conn, POLICY)

        assert {a.table for a in actions} >= set(INGEST_TABLES)
        assert all(a.command == "ANALYZE" for a in actions)
        assert all(_analysed(conn).values())
        assert _generic_probe(fresh_database, cid).startswith("->  Index Scan using pk_journeys on journeys r ")
        assert maintain(conn, POLICY) == []  # nothing changed since: nothing to do


def test_maintain__dead_rows__vacuums_them(fresh_database: str) -> None:
    with connect(fresh_database) as conn:
        _fill(conn, 300)
        maintain(conn, POLICY)
        conn.execute("UPDATE journeys SET last_seen = last_seen")  # every journey row leaves a dead version
        conn.execute("SELECT pg_stat_force_next_flush()")
        policy = Policy(analyze_threshold=10**9, analyze_scale=0, vacuum_threshold=50, vacuum_scale=0.2)

        actions = maintain(conn, policy)

        assert [(a.table, a.command) for a in actions] == [("journeys", "VACUUM")]
        conn.execute("SELECT pg_stat_force_next_flush()")
        dead = conn.execute("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'journeys'").fetchone()
        assert dead == (0,)


def test_policy__analyses_by_changes_since_the_last_analyse() -> None:
    from common.maintenance import TableStats

    policy = Policy(analyze_threshold=1000, analyze_scale=0.1, vacuum_threshold=1000, vacuum_scale=0.2)
    fresh = TableStats("events", analysed_rows=-1, live=0, dead=0, changed=0, analysed=False)
    assert not policy.needs_analyze(fresh)  # empty: statistics would say nothing
    assert policy.needs_analyze(TableStats("events", -1, 5, 0, 5, False))
    assert not policy.needs_analyze(TableStats("events", 100_000, 101_000, 0, 10_999, True))
    assert policy.needs_analyze(TableStats("events", 100_000, 111_000, 0, 11_000, True))
    assert policy.needs_vacuum(TableStats("journeys", 10_000, 10_000, 3_000, 0, True))
    assert not policy.needs_vacuum(TableStats("journeys", 10_000, 10_000, 2_999, 0, True))
    assert policy.plans_are_stale([fresh])
    assert not policy.plans_are_stale([TableStats("events", 50_000, 90_000, 0, 40_000, True)])
    assert policy.plans_are_stale([TableStats("events", 50_000, 110_000, 0, 60_000, True)])


def test_worker_on_empty_tables__plans_afresh_until_analysed_then_warns_once(fresh_database: str) -> None:
    queue = f"fresh_{uuid.uuid4().hex[:8]}"
    env = service_env(DATABASE_URL=fresh_database, INGEST_QUEUE=queue, MAINTENANCE_QUEUE=queue)
    worker = start_worker(env, queue)
    celery = make_celery(Settings(ingest_queue=queue, maintenance_queue=queue))
    try:
        with connect(fresh_database) as conn:
            cid = conn.execute("INSERT INTO campaigns (name, offer_url) VALUES ('Fresh', 'https://o.example/') "
                               "RETURNING id").fetchone()[0]

            def stored() -> int:
                return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])

            for _ in range(3):
                celery.send_task(INGEST_TASK, args=[batch(new_ids(conn, 50), cid)], queue=queue)
            wait_until(lambda: stored() == 150, message="150 events stored on empty tables")
            assert "planned at every run until its tables are analysed" in worker.log()

            def analysed_by_the_job() -> bool:
                # As beat sends it, again and again: the worker's backend reports its changes to
                # pg_stat_user_tables a few seconds late (PostgreSQL flushes statistics at most every second).
                celery.send_task(MAINTAIN_TASK, queue=queue)
                return all(_analysed(conn).values())

            wait_until(analysed_by_the_job, interval=1, message="the job analysed the ingest tables")
            time.sleep(2.1)  # the worker reads the statistics every 2 s
            celery.send_task(INGEST_TASK, args=[batch(new_ids(conn, 50), cid)], queue=queue)
            wait_until(lambda: stored() == 200, message="200 events stored")
            log = worker.log()
            assert "its tables are analysed; its plan may be kept again" in log
            assert "maintenance: ANALYZE events" in log
            warning = AUTOVACUUM_OFF_WARNING.split(":")[0]
            assert log.count(warning) == (0 if autovacuum_on(conn) else 1)
    finally:
        worker.stop()
        redis.Redis.from_url(TEST_ENV["REDIS_URL"]).delete(queue, f"{queue}.inflight", f"{queue}.inflight.batches")


def test_beat__due_task_lines_are_dropped(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    import worker.celery_app  # noqa: F401  (installs the filter)

    beat = logging.getLogger("celery.beat")
    with caplog.at_level("INFO", logger="celery.beat"):
        beat.info("Scheduler: Sending due task %s (%s)", "recover", "tracker.recover_dropped_batches")
        beat.info("beat: Starting...")
    assert [r.getMessage() for r in caplog.records] == ["beat: Starting..."]


def test_beat_schedule__maintain_tables_every_interval_on_the_maintenance_queue() -> None:
    from common.config import settings
    from worker.celery_app import app

    entry = app.conf.beat_schedule["maintain-tables"]
    assert entry["task"] == MAINTAIN_TASK and entry["schedule"] == settings.maintenance_interval_seconds
    assert app.amqp.router.route({}, MAINTAIN_TASK)["queue"].name == settings.maintenance_queue
