"""The Celery app as both tiers configure it from their settings. The web tier publishes by task name (over
RabbitMQ, or with the library adapters off); only worker/ registers the tasks (worker/celery_app.py)."""
from typing import Any

from celery import Celery

from common.config import Settings

INGEST_TASK = "tracker.ingest_batch"
RETENTION_TASK = "tracker.apply_retention"
RECOVER_TASK = "tracker.recover_dropped_batches"
MAINTAIN_TASK = "tracker.maintain_tables"
WEBHOOK_TASK = "tracker.send_webhooks"
REPORT_FOLD_TASK = "tracker.fold_reports"
MONTHS_TASK = "tracker.create_months"
WEBHOOK_LOG_TASK = "tracker.prune_webhook_log"


def batch_argsrepr(count: int) -> str:
    """What Flower shows as an ingest task's arguments: Celery would repr() the whole batch on every publish."""
    return f"[<{count} events>]"


def _transport_options(s: Settings) -> dict[str, Any]:
    if s.uses_redis_broker:
        # An unacked message (worker killed mid-batch) is redelivered after this many seconds. Kombu only
        # looks for such messages every interval x throttle seconds (10 x 10 by default, so a batch could wait
        # ~100 s more): sweep every fifth of the timeout instead (one ZRANGE), and let the sweep's lock left
        # by a killed worker expire with the timeout rather than after 5 minutes.
        timeout = s.broker_visibility_timeout_seconds
        return {
            "visibility_timeout": timeout,
            "unacked_restore_interval": max(1, timeout // 5),
            "unacked_restore_throttle": 1,
            "unacked_mutex_expire": timeout,
            "socket_timeout": s.broker_publish_timeout_seconds,
            "socket_connect_timeout": 2,
        }
    # RabbitMQ: wait for the broker's publisher confirm before answering "ok".
    return {"confirm_publish": True}


def make_celery(s: Settings) -> Celery:
    app = Celery("tracker", broker=s.celery_broker_url)
    app.conf.update(
        task_default_queue=s.ingest_queue,
        task_routes={INGEST_TASK: {"queue": s.ingest_queue}, RETENTION_TASK: {"queue": s.maintenance_queue},
                     RECOVER_TASK: {"queue": s.maintenance_queue}, MAINTAIN_TASK: {"queue": s.maintenance_queue},
                     REPORT_FOLD_TASK: {"queue": s.maintenance_queue},
                     MONTHS_TASK: {"queue": s.maintenance_queue}, WEBHOOK_TASK: {"queue": s.webhook_queue},
                     WEBHOOK_LOG_TASK: {"queue": s.webhook_queue}},
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        # At-least-once: ack after the batch is committed; requeue if the worker process dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=False,
        worker_prefetch_multiplier=s.worker_prefetch_multiplier,
        task_time_limit=s.task_time_limit_seconds,
        broker_transport_options=_transport_options(s),
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        # Task events cost three broker publishes per batch; Flower switches them on while it runs.
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    return app


def queue_depth(app: Celery, s: Settings) -> int:
    """Batches waiting in the ingest queue (not counting those a worker holds unacked).

    Fails fast (one connection attempt) when the broker is down: callers are health checks and
    backpressure probes, which must not hang.
    """
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        channel: Any = conn.default_channel  # the transport's own channel: Redis's has `client`, AMQP's
        if s.uses_redis_broker:
            return int(channel.client.llen(s.ingest_queue))
        return int(channel.queue_declare(queue=s.ingest_queue, passive=True).message_count)
