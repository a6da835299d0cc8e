"""The web tier's ingest pipeline: campaign check, id allocation, group commit to the broker."""
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from common.config import Settings
from common.db import Database
from common.inflight import InflightBatches
from common.queue import INGEST_TASK, batch_argsrepr, celery_app, queue_depth
from common.store import store_events
from common.validation import Limits
from web.ingest.campaign_cache import CampaignCache
from web.ingest.ids import IdAllocator
from web.ingest.publisher import Batch, BatchPublisher
from web.ingest.redis_publish import RedisBatchPublisher

# Kombu (RabbitMQ) retries a failed publish this way before the batch goes to the database instead.
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


@dataclass
class IngestPipeline:
    limits: Limits
    campaigns: CampaignCache
    ids: IdAllocator
    publisher: BatchPublisher
    db: Database
    retry_after: str  # seconds, for the Retry-After header of a 503

    async def accept(self, event: dict[str, Any]) -> int:
        """Give the event an id and return once it is safely queued; raises on overload/outage."""
        event["id"] = await self.ids.take()
        await self.publisher.submit(event)
        return int(event["id"])

    def close(self) -> None:
        self.publisher.close()


def _send_task(settings: Settings, events: Batch) -> None:
    """Publish through Celery: the broker is RabbitMQ, which confirms the publish (no journal needed)."""
    celery_app.send_task(
        INGEST_TASK, args=[events], task_id=uuid.uuid4().hex, queue=settings.ingest_queue, retry=True,
        retry_policy=_PUBLISH_RETRY, argsrepr=batch_argsrepr(len(events)), kwargsrepr="{}",
    )


def build_pipeline(settings: Settings, db: Database) -> IngestPipeline:
    publish: Callable[[Batch], None]
    if settings.uses_redis_broker:
        redis_publisher = RedisBatchPublisher(settings, InflightBatches(settings))
        publish, depth = redis_publisher.publish, redis_publisher.depth
    else:
        publish, depth = partial(_send_task, settings), queue_depth

    async def fallback(events: Batch) -> None:
        await db.run(store_events, events)

    return IngestPipeline(
        limits=Limits.from_settings(settings),
        campaigns=CampaignCache(db, settings.campaign_cache_seconds, settings.campaign_miss_cache_seconds),
        ids=IdAllocator(db, settings.id_block_size),
        publisher=BatchPublisher(
            publish=publish,
            fallback=fallback,
            queue_depth=depth,
            max_batch=settings.batch_max_events,
            max_pending=settings.max_pending_events,
            max_queue_depth=settings.max_queue_depth,
            depth_check_seconds=settings.queue_depth_check_seconds,
            linger_seconds=settings.batch_linger_ms / 1000,
        ),
        db=db,
        retry_after=str(settings.retry_after_seconds),
    )
