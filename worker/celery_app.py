"""Entry point for `celery -A worker.celery_app worker|beat|flower`: the worker tier's settings, its Celery app
(with the tasks of worker/tasks.py registered) and its in-flight journal, made once here."""
import logging

from celery import signals
from celery.schedules import crontab

from common import metrics
from common.adapters import kombu as kombu_adapter
from common.config import get_settings
from common.enrich import describe_ip, describe_user_agent
from common.heap import freeze_startup_heap
from common.inflight import InflightBatches
from common.logs import REQUEST_ID, configure_logging
from common.maintenance import BEAT_ENTRY as MAINTAIN_ENTRY
from common.queue import (
    MAINTAIN_TASK,
    MONTHS_TASK,
    RECOVER_TASK,
    REPORT_FOLD_TASK,
    RETENTION_TASK,
    WEBHOOK_LOG_TASK,
    WEBHOOK_TASK,
    make_celery,
)

settings = get_settings()
celery_app = make_celery(settings)
inflight = InflightBatches(settings)

kombu_adapter.install(settings)  # kombu's Redis transport and JSON decoder fixed, unless off (stock kombu)
celery_app.conf.include = ["worker.tasks", "worker.webhooks"]
# Each run claimed in the database before it is sent: a second beat on another host sends nothing twice.
celery_app.conf.beat_scheduler = "worker.beat:ClaimingScheduler"
celery_app.conf.beat_schedule = {
    # Hourly: cheap when there is nothing to delete (a BRIN index scan), and old data never piles up.
    "retention": {"task": RETENTION_TASK, "schedule": crontab(minute=17)},
    # Daily: events partitioned by month need next month's partition before its first event (a no-op on the
    # unpartitioned table; see common/partitions.py).
    "months": {"task": MONTHS_TASK, "schedule": crontab(minute=7, hour=3)},
    # A few catalog rows when nothing needs doing (common/maintenance.py). No expiry: while a backlog of batches
    # holds up the solo worker is exactly when the tables grow fastest, and runs given an expiry were dropped
    # then (a fresh trial went 28 s without one). Runs that wait pile up harmlessly: each only wakes the
    # maintenance thread (worker/tasks.py), and requests made while it works are folded into one more run.
    MAINTAIN_ENTRY: {"task": MAINTAIN_TASK, "schedule": settings.maintenance_interval_seconds},
    # One indexed query when nothing is due; a tick the webhook worker has not taken by the next one is dropped.
    "webhooks": {"task": WEBHOOK_TASK, "schedule": settings.webhook_poll_seconds,
                 "options": {"expires": settings.webhook_poll_seconds}},
    # Hourly, on the webhook worker: the delivery log's finished rows past WEBHOOK_LOG_DAYS.
    "webhook-log": {"task": WEBHOOK_LOG_TASK, "schedule": crontab(minute=41)},
    # The reports' queue into report_stats (common/reports.py); a run that waited longer than the period is
    # dropped, the next one folds everything.
    "reports": {"task": REPORT_FOLD_TASK, "schedule": settings.report_fold_seconds,
                "options": {"expires": settings.report_fold_seconds}},
}
if inflight.enabled:
    # Two Redis reads when there is nothing to recover; a run that waited longer than the period is dropped.
    _recover_every = max(1, settings.broker_visibility_timeout_seconds // 5)
    celery_app.conf.beat_schedule["recover"] = {
        "task": RECOVER_TASK, "schedule": _recover_every, "options": {"expires": _recover_every},
    }

app = celery_app


def _not_a_due_task(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Scheduler: Sending due task")


# Beat says "Sending due task" at INFO for every run of every job (recover every 12 s, maintain_tables every
# 10 s): noise that buries what matters. The jobs themselves log when they find or do something.
logging.getLogger("celery.beat").addFilter(_not_a_due_task)


@signals.worker_init.connect
def _enable_metrics(**_: object) -> None:
    """The worker's metrics (common/metrics.py): in the worker command only, not beat's or Flower's; prefork pool
    processes inherit them and write files of their own."""
    metrics.enable(settings, "worker")


@signals.worker_init.connect
@signals.worker_process_init.connect
def _warm_up_enrichment(**_: object) -> None:
    """Load the ASN database and compile the user-agent rules before the first batch, not during it.

    Lazily, the first batch after a worker (re)start would stall for seconds while ~100 MB load. In the
    main process (worker_init: the solo pool runs tasks there) and in each prefork pool process.
    """
    describe_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36")
    describe_ip("8.8.8.8")


@signals.worker_init.connect
@signals.worker_process_init.connect
def _freeze_heap(**_: object) -> None:
    """After the warm-up (receivers run in the order connected): the enrichment tables and the libraries stay
    out of full collections, which otherwise paused a batch's store for 100 ms and more (common/heap.py)."""
    freeze_startup_heap()


@signals.worker_ready.connect
def _keep_event_loop_awake(sender: object = None, **_: object) -> None:
    """The worker's event loop (absent for pools without one) runs queued acks before it sleeps."""
    hub = getattr(sender, "hub", None)
    if hub is not None:
        kombu_adapter.keep_hub_awake(hub, settings)


@signals.worker_ready.connect
def _warn_when_autovacuum_is_off(**_: object) -> None:
    """One warning at start-up when the server leaves table maintenance to the tracker alone."""
    from common.db import connect
    from common.maintenance import AUTOVACUUM_OFF_WARNING, autovacuum_on

    try:
        with connect() as conn:
            if autovacuum_on(conn):
                return
    except Exception as exc:  # the database may be down at start-up: the worker waits for it batch by batch
        logging.getLogger(__name__).warning("could not read the server's autovacuum setting: %s", exc)
        return
    logging.getLogger(__name__).warning(AUTOVACUUM_OFF_WARNING.format(interval=settings.maintenance_interval_seconds))


@signals.after_setup_logger.connect
def _quiet_task_lines(**_: object) -> None:
    """One INFO line per batch is noise at thousands of events a second; failures still log.

    `celery.worker.strategy` logs "Task ... received" and `celery.app.trace` "Task ... succeeded": each is a
    line per batch that the worker formats and writes and honcho or the log collector reads back.
    """
    for name in ("celery.app.trace", "celery.worker.strategy"):
        logging.getLogger(name).setLevel(logging.WARNING)


if settings.log_format == "json":
    @signals.setup_logging.connect
    def _json_logs(loglevel: int | str | None = None, **_: object) -> None:
        """LOG_FORMAT=json: Celery leaves logging to us once this signal has a receiver (worker and beat)."""
        configure_logging(settings, loglevel or logging.INFO)
        _quiet_task_lines()

    @signals.task_prerun.connect
    def _task_id_in_logs(task_id: str | None = None, **_: object) -> None:
        """A task's lines carry its id (for a batch: the id Flower shows) as their request_id."""
        REQUEST_ID.set(task_id)

    @signals.task_postrun.connect
    def _task_done(**_: object) -> None:
        REQUEST_ID.set(None)
