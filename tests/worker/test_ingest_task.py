"""The ingest task through a real Celery worker: redelivery is harmless and nothing accepted is dropped.

Also run with LIBRARY_ADAPTERS=off (make test): then the worker stores each batch on its own (no merging) and
batches are published as the web tier then publishes them (the journal first, then send_task).
"""
import signal
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
import redis

from common.adapters import kombu as kombu_adapter
from common.config import Settings, settings
from common.event import from_wire
from common.inflight import InflightBatches
from common.queue import INGEST_TASK, make_celery
from tests.checks import assert_rollups_match_recount, event_count
from tests.conftest import TEST_ENV, service_env
from tests.services import Process, start_worker, wait_until
from web.ingest.pipeline import journaled_publish

pytestmark = pytest.mark.stock_path

# Whether the workers this module starts (same environment) store waiting batches together.
MERGING = kombu_adapter.hand_built_messages(settings)
CELERY = make_celery(settings)


def new_ids(conn: psycopg.Connection[Any], n: int) -> list[int]:
    return [r[0] for r in conn.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (n,))]


def batch(ids: list[int], campaign_id: int) -> list[dict[str, Any]]:
    types = ("email_click", "landing_click", "conversion")
    return [
        {"id": i, "cid": campaign_id, "type": types[n % 3], "email": f"u{n % 7}@example.com",
         "domain": f"d{n % 2}.example.com", "ip": "203.0.113.5", "ua": "Mozilla/5.0", "extra": {"n": n},
         "ts": time.time()}
        for n, i in enumerate(ids)
    ]


def publish(events: list[dict[str, Any]], queue: str = TEST_ENV["INGEST_QUEUE"]) -> None:
    """Queue a batch through Celery as plain JSON: the wire format, as any version of the web tier sends it."""
    CELERY.send_task(INGEST_TASK, args=[events], queue=queue)


def test_same_batch_twice__stored_and_counted_once(worker: Process, db: psycopg.Connection,
                                                   campaign_id: int) -> None:
    events = batch(new_ids(db, 30), campaign_id)
    publish(events)
    publish(events)
    publish(events[:10])  # a partial overlap, as a retried smaller batch would be
    marker = batch(new_ids(db, 1), campaign_id)
    publish(marker)  # the queue is FIFO with one worker: once the marker is stored, the rest was processed
    wait_until(lambda: event_count(db, campaign_id) == 31, message="31 events stored")
    time.sleep(0.5)
    assert event_count(db, campaign_id) == 31
    clicks = db.execute("SELECT sum(email_clicks) FROM domain_stats WHERE campaign_id = %s", (campaign_id,))
    assert clicks.fetchone()[0] == 10 + 1  # ten of the 30 events are email clicks, plus the marker
    assert_rollups_match_recount(db, campaign_id)


def test_unstorable_event__dead_lettered_rest_stored(worker: Process, db: psycopg.Connection,
                                                     campaign_id: int) -> None:
    events = batch(new_ids(db, 5), campaign_id)
    bad_id = events[2]["id"]
    events[2]["email"] = "x" * 300 + "@example.com"  # bypasses the API's validation: too long for the column
    publish(events)
    wait_until(lambda: event_count(db, campaign_id) == 4, message="4 good events stored")
    wait_until(lambda: db.execute("SELECT 1 FROM dead_events WHERE id = %s", (bad_id,)).fetchone(),
               message="bad event in dead_events")
    payload, error = db.execute("SELECT payload, error FROM dead_events WHERE id = %s", (bad_id,)).fetchone()
    assert payload["email"].startswith("xxx") and "too long" in error
    assert_rollups_match_recount(db, campaign_id)


def test_deleted_campaign__events_dropped_not_retried(worker: Process, db: psycopg.Connection) -> None:
    cid = db.execute("INSERT INTO campaigns (name, offer_url) VALUES (%s, 'https://x.example') RETURNING id",
                     (f"gone {uuid.uuid4().hex[:4]}",)).fetchone()[0]
    db.execute("DELETE FROM campaigns WHERE id = %s", (cid,))
    ids = new_ids(db, 3)
    publish(batch(ids, cid))
    queue = TEST_ENV["INGEST_QUEUE"]
    wait_until(lambda: CELERY.connection_for_write().default_channel.client.llen(queue) == 0,
               message="queue drained")
    assert db.execute("SELECT count(*) FROM events WHERE id = ANY(%s)", (ids,)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM dead_events WHERE id = ANY(%s)", (ids,)).fetchone()[0] == 0


def test_batch_blocked_past_the_time_limit__cancelled_requeued_then_stored_once(db: psycopg.Connection,
                                                                            campaign_id: int) -> None:
    """The solo pool cannot kill a task: the worker's statement_timeout (TASK_TIME_LIMIT_SECONDS) does."""
    queue = f"time_limit_{uuid.uuid4().hex[:8]}"
    worker = start_worker(service_env(TASK_TIME_LIMIT_SECONDS="1", INGEST_QUEUE=queue), queue, pool="solo")
    try:
        events = batch(new_ids(db, 6), campaign_id)
        with psycopg.connect(db.info.dsn) as blocker:  # holds the lock in a transaction of its own
            blocker.execute("LOCK TABLE domain_stats IN EXCLUSIVE MODE")
            publish(events, queue)
            wait_until(lambda: "not stored" in worker.log(), timeout=15, message="the statement cancelled")
            assert event_count(db, campaign_id) == 0
        wait_until(lambda: event_count(db, campaign_id) == 6, timeout=30, message="stored after the lock")
        assert "canceling statement due to statement timeout" in worker.log()
        time.sleep(1)
        assert event_count(db, campaign_id) == 6
        assert db.execute("SELECT count(*) FROM dead_events WHERE id = ANY(%s)",
                          ([e["id"] for e in events],)).fetchone() == (0,)
        assert_rollups_match_recount(db, campaign_id)
    finally:
        worker.stop()


def publish_journaled(queue: str, batches: list[list[dict[str, Any]]], visibility: int = 60) -> InflightBatches:
    """Queue batches as the web tier does on a Redis broker: each recorded in the in-flight journal."""
    s = Settings(ingest_queue=queue, broker_url="", broker_visibility_timeout_seconds=visibility)
    journal = InflightBatches(s)
    publish, _ = journaled_publish(s, journal)
    for events in batches:
        publish(from_wire(events))
    return journal


def queue_and_journal_empty(queue: str) -> bool:
    client = redis.Redis.from_url(Settings().celery_broker_url)
    return client.llen(queue) == 0 and client.zcard(f"{queue}.inflight") == 0


def transactions(db: psycopg.Connection, campaign_id: int) -> int:
    """How many transactions stored the campaign's events: one per statement the worker ran."""
    return db.execute("SELECT count(DISTINCT xmin::text) FROM events WHERE campaign_id = %s",
                      (campaign_id,)).fetchone()[0]


@pytest.mark.parametrize(("pool", "concurrency"), [("solo", 1), ("prefork", 2), ("threads", 2)])
def test_batches_waiting__stored_together_once_each(db: psycopg.Connection, campaign_id: int, pool: str,
                                                    concurrency: int) -> None:
    queue = f"merge_{uuid.uuid4().hex[:8]}"
    batches = [batch(new_ids(db, 5), campaign_id) for _ in range(40)]
    batches.insert(7, batches[3])  # published twice (a retried publish): merged into one statement with itself
    publish_journaled(queue, batches)
    # Started after the backlog is there; two pool processes (or threads) take batches side by side.
    worker = start_worker(service_env(INGEST_QUEUE=queue), queue, concurrency=concurrency, pool=pool)
    try:
        wait_until(lambda: queue_and_journal_empty(queue), timeout=30, message="queue drained, journal empty")
        assert event_count(db, campaign_id) == 200
        if MERGING:  # those the worker reserved ahead (4 per pool process) one by one; the others together
            assert transactions(db, campaign_id) < len(batches) / 2
        else:  # each on its own; the second copy of batches[3] inserts nothing
            assert transactions(db, campaign_id) == len(batches) - 1
        assert_rollups_match_recount(db, campaign_id)
    finally:
        worker.stop()


def test_batches_waiting__statement_cancelled__all_put_back_and_stored_once(db: psycopg.Connection,
                                                                           campaign_id: int) -> None:
    """No beat runs here to recover journaled batches: the batches a failed task took must go back."""
    queue = f"merge_fail_{uuid.uuid4().hex[:8]}"
    publish_journaled(queue, [batch(new_ids(db, 10), campaign_id) for _ in range(12)])
    with psycopg.connect(db.info.dsn) as blocker:
        blocker.execute("LOCK TABLE domain_stats IN EXCLUSIVE MODE")
        worker = start_worker(service_env(TASK_TIME_LIMIT_SECONDS="1", INGEST_QUEUE=queue), queue)
        try:
            wait_until(lambda: "not stored" in worker.log(), timeout=15, message="the statement cancelled")
            assert event_count(db, campaign_id) == 0
            blocker.rollback()
            wait_until(lambda: queue_and_journal_empty(queue), timeout=30, message="queue drained, journal empty")
            assert event_count(db, campaign_id) == 120
            if MERGING:
                assert "batch of 10 not stored" not in worker.log()  # what failed was a merged statement
            assert_rollups_match_recount(db, campaign_id)
        finally:
            worker.stop()


def unacked(queue: str) -> int:
    """Messages of `queue` that kombu's Redis transport holds as delivered and not acknowledged."""
    client = redis.Redis.from_url(Settings().celery_broker_url)
    return sum(1 for value in client.hvals("unacked") if orjson.loads(value)[-1] == queue)


_BLOCKED_INSERT = ("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                   "AND query LIKE '%%incoming_events%%' AND datname = current_database()")


def test_worker_killed_holding_merged_batches__the_journal_recovers_them(
    db: psycopg.Connection, campaign_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed worker's own batch comes back through Celery; the batches it took to merge are in no Celery
    message, and only the in-flight journal (the `recover` job) brings them back. Without merging (adapters
    off) the worker holds only what Celery delivered it; the journal recovers those too, and their
    redelivery changes nothing."""
    import worker.tasks

    queue = f"merge_kill_{uuid.uuid4().hex[:8]}"
    env = service_env(INGEST_QUEUE=queue, BROKER_VISIBILITY_TIMEOUT_SECONDS="1")
    journal = publish_journaled(queue, [batch(new_ids(db, 5), campaign_id) for _ in range(12)], visibility=1)
    with psycopg.connect(db.info.dsn, autocommit=True) as admin, psycopg.connect(db.info.dsn) as blocker:
        blocker.execute("LOCK TABLE domain_stats IN EXCLUSIVE MODE")
        first = start_worker(env, queue)
        wait_until(lambda: admin.execute(_BLOCKED_INSERT).fetchone(), timeout=15, message="insert blocked")
        # Merging: all taken. Without: its own batch and those reserved ahead (the prefetch).
        taken = 12 - redis.Redis.from_url(Settings().celery_broker_url).llen(queue)
        assert (taken == 12) if MERGING else (0 < taken < 12)
        first.kill(signal.SIGKILL)
        assert first.popen is not None
        first.popen.wait(10)
        # The crash, database side too: the killed worker's statement must not commit after the lock.
        for (pid,) in admin.execute(_BLOCKED_INSERT).fetchall():
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert event_count(db, campaign_id) == 0

    time.sleep(1.2)  # past the visibility timeout: what beat's `recover` job runs, here in this process
    monkeypatch.setattr(worker.tasks, "inflight", journal)
    assert worker.tasks.recover_dropped_batches() == taken
    assert event_count(db, campaign_id) == 5 * taken
    # A new worker gets the killed one's unacknowledged messages back from Celery: stored already, no change.
    assert unacked(queue) > 0
    second = start_worker(env, queue)
    try:
        wait_until(lambda: unacked(queue) == 0 and queue_and_journal_empty(queue), timeout=30,
                   message="the killed worker's messages redelivered and acknowledged")
        assert event_count(db, campaign_id) == 60
        assert_rollups_match_recount(db, campaign_id)
    finally:
        second.stop()


def test_batch_queued_by_the_previous_version__stored_once(worker: Process, db: psycopg.Connection) -> None:
    """An upgrade finds batches the old web tier queued: today's worker stores them as they were sent."""
    queued = orjson.loads((Path(__file__).parents[1] / "fixtures" / "batch_before_typed_event.json").read_text())
    cid = 1_999_999_999  # the campaign the fixture's events name (tests use 2_000_000_000 as one that is not)
    db.execute("INSERT INTO campaigns (id, name, offer_url) VALUES (%s, 'Queued before the upgrade', "
               "'https://offer.example/') ON CONFLICT (id) DO NOTHING", (cid,))
    queue = TEST_ENV["INGEST_QUEUE"]
    client = redis.Redis.from_url(settings.celery_broker_url)
    client.hset(f"{queue}.inflight.batches", queued["batch_id"], queued["journal"])
    client.zadd(f"{queue}.inflight", {queued["batch_id"]: time.time()})
    client.lpush(queue, queued["message"])

    wait_until(lambda: event_count(db, cid) == 3, message="the old batch stored")
    rows = db.execute("SELECT id, event_type, email, domain, ip, user_agent, extra_params ->> 'utm_source', "
                      "extra_params ->> 'payout', created_at FROM events WHERE campaign_id = %s ORDER BY id",
                      (cid,)).fetchall()
    assert [row[:4] for row in rows] == [
        (9_000_000_000_000_001, "email_click", "ann@gmail.com", "example1.com"),
        (9_000_000_000_000_002, "landing_click", "ann@gmail.com", "example1.com"),
        (9_000_000_000_000_003, "conversion", "bob@yahoo.com", "example1.com"),
    ]
    assert {row[4] for row in rows} == {"73.15.20.10"} and rows[2][5] == "curl/8.5.0"
    assert [row[6:8] for row in rows] == [("newsletter", None), ("newsletter", None), ("newsletter", "12.50")]
    assert rows[0][8] == datetime(2026, 11, 3, 10, 0)  # ts 1793700000, in UTC
    assert_rollups_match_recount(db, cid)
    wait_until(lambda: client.zscore(f"{queue}.inflight", queued["batch_id"]) is None, message="journal forgotten")
