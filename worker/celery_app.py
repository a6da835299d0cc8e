"""Entry point for `celery -A worker.celery_app worker`: the shared app with the tasks registered."""
import logging

from celery import signals
from celery.schedules import crontab

from common.queue import RETENTION_TASK, celery_app

celery_app.conf.include = ["worker.tasks"]
celery_app.conf.beat_schedule = {
    # Hourly: cheap when there is nothing to delete (a BRIN index scan), and old data never piles up.
    "retention": {"task": RETENTION_TASK, "schedule": crontab(minute=17)},
}

app = celery_app


@signals.after_setup_logger.connect
def _quiet_task_lines(**_: object) -> None:
    """One INFO line per batch is noise at thousands of events a second; failures still log."""
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
