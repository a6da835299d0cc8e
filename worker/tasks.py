"""Celery tasks. An ingest batch arrives as the events' plain JSON (common/event.py) and is stored as Events.

Nothing a task was given may be lost: a transient database error puts the batch back on the queue after a
back-off; any other error isolates the offending events into `dead_events` and stores the rest.
"""
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import psycopg
import redis
from celery import Task
from celery.exceptions import Reject

from common import metrics
from common.db import Conn, connect
from common.event import Batch, from_wire
from common.inflight import QueuedBatches
from common.maintenance import INGEST_TABLES, Policy, maintain, read_stats
from common.partitions import MONTHS_AHEAD, create_months_ahead, is_partitioned
from common.queue import (
    INGEST_TASK,
    MAINTAIN_TASK,
    MONTHS_TASK,
    RECOVER_TASK,
    REPORT_FOLD_TASK,
    RETENTION_TASK,
)
from common.repartition import converting
from common.reports import backfill_step, fold
from common.retention import retention_batch
from common.store import StoreOptions, store_events
from worker.celery_app import celery_app, inflight, settings
from worker.pressure import IngestPressure

log = logging.getLogger(__name__)
_STORE_OPTIONS = StoreOptions.of(settings)
_POLICY = Policy.of(settings)
# How often the worker reads its tables' statistics to choose how the ingest statement is planned: one catalog
# query (well under a millisecond) every few seconds, never once per batch.
_PLAN_CHECK_SECONDS = 2.0
# Batches found waiting behind the one being stored: the fold's cue to give way (worker/pressure.py).
_pressure = IngestPressure()

TRANSIENT = (
    psycopg.OperationalError,  # includes QueryCanceled: statement_timeout (see _Database.get) or an admin cancel
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.AdminShutdown,
)


class _Database(threading.local):
    """One connection per pool thread (or process), reopened after any failure, with a back-off while it fails.

    Thread-local because the threads pool runs batches side by side: a psycopg connection runs one statement
    at a time, and the dead-letter path's transactions must not interleave.
    """

    def __init__(self, statement_timeout: bool = True) -> None:
        self.conn: Conn | None = None
        self.failures = 0
        self.statement_timeout = statement_timeout
        self.custom_plans: bool | None = None  # plan_cache_mode = force_custom_plan on this connection
        self.plans_checked_at = 0.0

    def get(self) -> Conn:
        if self.conn is None or self.conn.closed or self.conn.broken:
            self.conn = connect()
            # The solo pool (the default) cannot enforce task_time_limit: a statement stuck behind a lock
            # is cancelled here instead, and its batch re-queued like any transient failure.
            if self.statement_timeout:
                self.conn.execute("SELECT set_config('statement_timeout', %s, false)",
                                  (f"{settings.task_time_limit_seconds}s",))
            self.custom_plans, self.plans_checked_at = None, 0.0
        return self.conn

    def plan_for_statistics(self, conn: Conn) -> None:
        """Plan the ingest statement afresh at every run while its tables' statistics are missing or outgrown
        (common/maintenance.py, Policy.plans_are_stale).

        psycopg prepares the statement after five runs, and PostgreSQL may then keep a generic plan. One made
        on tables without statistics probes the journeys of a whole campaign and domain for every email click
        (ix_journeys_campaign_domain_first_seen instead of pk_journeys): its cost grows with the table, ~30 to
        ~700 ms per 200 events within 40,000 events. Custom plans follow the tables' real sizes but cost ~2 ms
        more per statement, so only until the maintain_tables job has analysed them (common/maintenance.py);
        that ANALYZE also makes PostgreSQL drop the cached plan.
        """
        now = time.monotonic()
        if now - self.plans_checked_at < _PLAN_CHECK_SECONDS:
            return
        self.plans_checked_at = now
        stale = _POLICY.plans_are_stale(read_stats(conn, INGEST_TABLES))
        if stale != self.custom_plans:
            conn.execute("SELECT set_config('plan_cache_mode', %s, false)",
                         ("force_custom_plan" if stale else "auto",))
            if self.custom_plans is not None or stale:
                log.info("ingest statement: %s", "planned at every run until its tables are analysed" if stale
                         else "its tables are analysed; its plan may be kept again")
            self.custom_plans = stale

    def failed(self) -> float:
        """Forget the connection; returns how long to wait before the batch is tried again."""
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.failures += 1
        return float(min(settings.db_retry_max_backoff_seconds, 0.25 * 2 ** min(self.failures, 8)))

    def succeeded(self) -> None:
        self.failures = 0


_db = _Database()


def _store(conn: Conn, events: Batch) -> int:
    return store_events(conn, events, _STORE_OPTIONS)


def _store_or_dead_letter(conn: Conn, events: Batch) -> int:
    """Store what can be stored one event at a time; record each event that cannot, with the reason."""
    inserted = 0
    for event in events:
        try:
            inserted += _store(conn, [event])
        except TRANSIENT:
            raise
        except Exception as exc:
            log.exception("event %s cannot be stored; kept in dead_events", event.id)
            metrics.dead_lettered()
            with conn.transaction():
                conn.execute(
                    "INSERT INTO dead_events (id, payload, error) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING",
                    (event.id, msgspec.json.encode(event).decode(), repr(exc)[:2000]),
                )
    return inserted


@celery_app.task(name=INGEST_TASK, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def ingest_batch(self: Task[Any, int], events: list[dict[str, Any]]) -> int:
    """Store one batch of events, with any batches waiting behind it; idempotent, so a redelivered batch
    changes nothing."""
    return store_batch(from_wire(events), self.request.id)


def store_batch(events: Batch, task_id: str | None = None) -> int:
    """Store a batch (the task `task_id` delivered, if any) and, for a task, the batches waiting behind it."""
    own = [task_id] if task_id else []
    queued = _take_queued(len(events)) if own else QueuedBatches()
    if queued.ids:
        _pressure.saw_backlog()
        # A batch redelivered while its first delivery is stored may be among them: one row per event.
        events = list({event.id: event for event in events + queued.events}.values())
    try:
        conn = _db.get()
        _db.plan_for_statistics(conn)
        try:
            started = time.perf_counter()
            inserted = _store(conn, events)
            metrics.stored(len(events), inserted, time.perf_counter() - started)
        except TRANSIENT:
            raise
        except Exception:
            log.exception("batch of %d failed; storing its events one by one", len(events))
            inserted = _store_or_dead_letter(conn, events)
    except TRANSIENT as exc:
        _put_back(queued)
        delay = _db.failed()
        log.warning("batch of %d not stored (%s); back on the queue in %.1fs", len(events), exc, delay)
        # Blocking is right here: while Postgres is down no other batch can be stored either.
        time.sleep(delay)
        raise Reject(reason=str(exc), requeue=True) from exc
    _db.succeeded()
    _forget(*own, *queued.ids)
    return inserted


def _take_queued(batch_size: int) -> QueuedBatches:
    """Batches waiting in the queue, to store with this one: under a backlog, fewer and larger statements.

    Each statement has a fixed cost (planning, executor start-up, this task's Redis round trips) that at ~30
    events a batch was about a third of the worker's and Postgres's time per event (docs/performance.md).
    Taking only what already waits adds no latency when the queue is short. Safe because only journaled
    batches are taken (common/inflight.py): one taken by a worker killed before storing it is recovered.
    """
    most = settings.worker_merge_max_events // max(batch_size, 1) - 1
    try:
        return inflight.take_queued(most)
    except redis.RedisError as exc:  # whatever was taken is still journaled, and recovered
        log.warning("could not look for batches waiting in the queue: %s", exc)
        return QueuedBatches()


def _put_back(queued: QueuedBatches) -> None:
    try:
        inflight.put_back(queued)
    except redis.RedisError as exc:
        log.warning("%d batches taken to store stay journaled only (recovered later): %s", len(queued.ids), exc)


def _forget(*batch_ids: str) -> None:
    try:
        inflight.forget(*batch_ids)
    except redis.RedisError as exc:  # the recover job will store the batches again, to no effect
        log.warning("stored batches %s still recorded as in flight: %s", ", ".join(batch_ids), exc)


@celery_app.task(name=RECOVER_TASK, ignore_result=True)
def recover_dropped_batches() -> int:
    """Store the batches a killed worker took off the queue without storing them (see common.inflight)."""
    recovered = 0
    for batch_id, events in inflight.stale():
        try:
            store_batch(events)
        except Reject:
            break  # the database is down; the next run tries again
        _forget(batch_id)
        recovered += 1
    metrics.recover_run(recovered)
    if recovered:
        log.warning("stored %d batches in flight for longer than the visibility timeout", recovered)
    return recovered


@celery_app.task(name=RETENTION_TASK, ignore_result=True, acks_late=True)
def apply_retention() -> int:
    """Delete events older than RETENTION_DAYS for a bounded time; re-queue itself if more remain. With events
    partitioned by month, whole months past the cutoff go first and their partitions are dropped
    (common/partitions.py); while `tracker events partition` runs, retention waits."""
    if settings.retention_days <= 0:
        return 0
    cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=settings.retention_days)
    deadline = time.monotonic() + settings.retention_run_seconds
    total = 0
    while True:
        try:
            if converting(_db.get()):
                log.info("retention waits for `tracker events partition` to finish")
                return total
            deleted, more = retention_batch(_db.get(), cutoff=cutoff, batch=settings.retention_batch_size,
                                            timezone=settings.dashboard_timezone)
        except TRANSIENT as exc:
            _db.failed()
            log.warning("retention paused after %d events: %s", total, exc)
            break  # the next scheduled run carries on
        total += deleted
        if not more:
            if total:  # an hourly run that found nothing says nothing
                log.info("retention: deleted %d events older than %s", total, cutoff)
            return total
        if time.monotonic() > deadline:
            apply_retention.apply_async()
            log.info("retention: deleted %d events so far; continuing in a new task", total)
            return total
    return total


class _JobThread:
    """Runs one background job on a thread and a connection of its own, one run at a time.

    For the jobs that may take seconds: an ANALYZE of a million-event table took 1.4-2.5 s on the development
    machine (docs/operations.md), and the reports' fold of a backlog longer still. Run in the task itself, they
    would hold up every batch behind them on the solo pool; on a thread (their time is spent in PostgreSQL,
    without the GIL) the worker keeps storing meanwhile. A request while a run is under way is folded into one
    more run after it. `work(conn)` returns the lines worth logging (none when it found nothing to do).
    """

    def __init__(self, name: str, work: Callable[[Conn], list[str]], *, statement_timeout: bool) -> None:
        self._name = name
        self._work = work
        self._due = threading.Event()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self._db = _Database(statement_timeout=statement_timeout)  # thread-local: this thread's connection alone

    def request(self) -> None:
        with self._starting:  # started on first use: in each prefork pool process, after the fork
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
        self._due.set()

    def _loop(self) -> None:
        while True:
            self._due.wait()
            self._due.clear()
            self._run_once()

    def _run_once(self) -> None:
        try:
            lines = self._work(self._db.get())
        except TRANSIENT as exc:
            self._db.failed()
            log.warning("%s skipped (the next run tries again): %s", self._name, exc)
            return
        except Exception:
            log.exception("%s failed", self._name)
            return
        self._db.succeeded()
        for line in lines:
            log.info("%s", line)


def _maintain(conn: Conn) -> list[str]:
    return [f"maintenance: {action}" for action in maintain(conn, _POLICY)]


def _fold_reports(conn: Conn) -> list[str]:
    """While batches queue up behind the store, the fold takes at most REPORT_FOLD_SHARE of its thread's time
    and leaves backfills for later: reports may lag a burst by seconds; the event API's latency may not."""
    timezone, max_values, share = settings.dashboard_timezone, settings.report_max_values, settings.report_fold_share
    fold(conn, timezone=timezone, max_values=max_values, pace=lambda worked: _pressure.pace(worked, share))
    if not _pressure.busy():
        backfill_step(conn, timezone=timezone, max_values=max_values)
    return []


# No statement timeout for maintenance: a VACUUM of a large table cancelled after TASK_TIME_LIMIT_SECONDS would
# start over at every run.
_maintenance = _JobThread("table maintenance", _maintain, statement_timeout=False)
_report_fold = _JobThread("reports fold", _fold_reports, statement_timeout=True)


@celery_app.task(name=MAINTAIN_TASK, ignore_result=True)
def maintain_tables() -> None:
    """Analyse and vacuum the hot tables that need it (common/maintenance.py), on the maintenance thread."""
    _maintenance.request()


@celery_app.task(name=REPORT_FOLD_TASK, ignore_result=True)
def fold_reports() -> None:
    """Count the events ingest queued for the reports into report_stats, then fill one more day of a `param:`
    report or a pair still filling (common/reports.py), on the fold's thread."""
    _report_fold.request()


@celery_app.task(name=MONTHS_TASK, ignore_result=True, acks_late=True)
def create_months() -> list[str]:
    """With events partitioned by month: the partitions of this month and the next MONTHS_AHEAD, if missing."""
    try:
        created = create_months_ahead(_db.get(), MONTHS_AHEAD) if is_partitioned(_db.get()) else []
    except TRANSIENT as exc:
        _db.failed()
        log.warning("months not created (the next daily run retries): %s", exc)
        return []
    if created:
        log.info("created event partitions %s", ", ".join(created))
    return created
