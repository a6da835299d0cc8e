"""The webhook delivery log is pruned: finished deliveries past WEBHOOK_LOG_DAYS go, by the hourly job the real
worker runs; pending ones stay whatever their age, and recent ones stay."""
from typing import Any

import psycopg

from common.config import get_settings
from common.queue import WEBHOOK_LOG_TASK, make_celery
from common.webhooks import prune_log
from tests.conftest import TEST_ENV
from tests.services import Process, wait_until
from worker.celery_app import celery_app

_ADD = """INSERT INTO webhook_deliveries (campaign_id, event_id, status, created_at, last_attempt_at)
VALUES (%s, %s, %s, (now() AT TIME ZONE 'UTC') - make_interval(days => %s),
        (now() AT TIME ZONE 'UTC') - make_interval(days => %s)) RETURNING id"""


def _deliveries(db: psycopg.Connection[Any], cid: int, rows: dict[str, tuple[str, int, int]]) -> dict[str, int]:
    """name -> id for rows (status, days since created, days since the last attempt)."""
    ids = {}
    for name, (status, created, attempted) in rows.items():
        (event_id,) = db.execute("SELECT nextval('events_id_seq')").fetchone()
        (ids[name],) = db.execute(_ADD, (cid, event_id, status, created, attempted)).fetchone()
    db.commit()
    return ids


def _left(db: psycopg.Connection[Any], ids: dict[str, int]) -> set[str]:
    kept = {r[0] for r in db.execute("SELECT id FROM webhook_deliveries WHERE id = ANY(%s)", (list(ids.values()),))}
    return {name for name, i in ids.items() if i in kept}


_ROWS = {
    "old delivered": ("delivered", 100, 100),
    "old failed": ("failed", 95, 94),
    "old pending": ("pending", 120, 1),  # redelivered: whatever its age, it is still to be sent
    "redelivered lately": ("delivered", 120, 3),
    "recent": ("delivered", 2, 2),
}


def test_prune_log__finished_past_the_window_go_in_batches(db: psycopg.Connection[Any], campaign_id: int) -> None:
    ids = _deliveries(db, campaign_id, _ROWS)
    assert prune_log(db, keep_days=90, batch=1) == 2  # one row a transaction: the loop goes on until none is left
    assert _left(db, ids) == {"old pending", "redelivered lately", "recent"}
    assert prune_log(db, keep_days=90) == 0  # idempotent


def test_prune_task__run_by_the_worker_on_the_beat_schedule(worker: Process, db: psycopg.Connection[Any],
                                                            campaign_id: int) -> None:
    entry = celery_app.conf.beat_schedule["webhook-log"]
    assert entry["task"] == WEBHOOK_LOG_TASK and get_settings().webhook_log_days == 90
    ids = _deliveries(db, campaign_id, _ROWS)
    make_celery(get_settings()).send_task(WEBHOOK_LOG_TASK, queue=TEST_ENV["INGEST_QUEUE"])
    wait_until(lambda: _left(db, ids) == {"old pending", "redelivered lately", "recent"}, timeout=30,
               message="the worker pruned the old finished deliveries")
