"""Entry point for `celery -A worker.celery_app worker|beat|flower`: the worker tier's settings, its Celery app
(with the tasks of worker/tasks.py registered) and its in-flight journal, made once here."""
import logging

from celery import signals
from celery.schedules import crontab

from common.adapters import kombu as kombu_adapter
from common.config import get_settings
from common.enrich import describe_ip, describe_user_agent
from common.inflight import InflightBatches
from common.queue import RECOVER_TASK, REPORT_FOLD_TASK, RETENTION_TASK, make_celery

settings = get_settings()
celery_app = make_celery(settings)
inflight = InflightBatches(settings)

kombu_adapter.install(settings)  # kombu's Redis transport and JSON decoder fixed, unless off (stock kombu)
celery_app.conf.include = ["worker.tasks"]
celery_app.conf.beat_schedule = {
    # Hourly: cheap when there is nothing to delete (a BRIN index scan), and old data never piles up.
    "retention": {"task": RETENTION_TASK, "schedule": crontab(minute=17)},
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


@signals.worker_init.connect
@signals.worker_process_init.connect
def _warm_up_enrichment(**_: object) -> None:
    """Load the ASN database and compile the user-agent rules before the first batch, not during it.

    Lazily, the first batch after a worker (re)start would stall for seconds while ~100 MB load. In the
    main process (worker_init: the solo pool runs tasks there) and in each prefork pool process.
    """
    describe_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36")
    describe_ip("8.8.8.8")


@signals.worker_ready.connect
def _keep_event_loop_awake(sender: object = None, **_: object) -> None:
    """The worker's event loop (absent for pools without one) runs queued acks before it sleeps."""
    hub = getattr(sender, "hub", None)
    if hub is not None:
        kombu_adapter.keep_hub_awake(hub, settings)


@signals.after_setup_logger.connect
def _quiet_task_lines(**_: object) -> None:
    """One INFO line per batch is noise at thousands of events a second; failures still log.

    `celery.worker.strategy` logs "Task ... received" and `celery.app.trace` "Task ... succeeded": each is a
    line per batch that the worker formats and writes and honcho or the log collector reads back.
    """
    for name in ("celery.app.trace", "celery.worker.strategy"):
        logging.getLogger(name).setLevel(logging.WARNING)
