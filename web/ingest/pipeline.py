"""The web tier's ingest pipeline: campaign check, id allocation, group commit to the broker."""
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from celery import Celery

from common.adapters import kombu as kombu_adapter
from common.config import Settings
from common.db import Database
from common.event import Batch, Event, to_wire
from common.inflight import InflightBatches
from common.queue import INGEST_TASK, batch_argsrepr, make_celery, queue_depth
from common.store import StoreOptions, store_events
from common.validation import Limits
from web.ingest.campaign_cache import CampaignCache
from web.ingest.ids import IdAllocator
from web.ingest.publisher import BatchPublisher
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
    queue_depth: Callable[[], int]  # batches waiting in the broker (raises when it does not answer)
    store_options: StoreOptions  # for the events this tier stores itself
    retry_after: str  # seconds, for the Retry-After header of a 503

    async def accept(self, event: Event) -> int:
        """Give the event an id and return once it is safely queued; raises on overload/outage."""
        event.id = await self.ids.take()
        await self.publisher.submit(event)
        return event.id

    def close(self) -> None:
        self.publisher.close()
        self.campaigns.close()


def _send_task(celery: Celery, settings: Settings, events: Batch, task_id: str | None = None) -> None:
    """Publish through Celery; the broker confirms the publish (RabbitMQ) or has written it (Redis, AOF)."""
    celery.send_task(
        INGEST_TASK, args=[to_wire(events)], task_id=task_id or uuid.uuid4().hex, queue=settings.ingest_queue, retry=True,
        retry_policy=_PUBLISH_RETRY, argsrepr=batch_argsrepr(len(events)), kwargsrepr="{}",
    )


def _journal_then_send_task(celery: Celery, settings: Settings, journal: InflightBatches, events: Batch) -> None:
    """Redis with the library adapters off: the journal entry first, then Celery's own publish (two round trips).

    In that order a batch is never queued unrecorded; one recorded and then not queued (the publish failed,
    so the caller stores it directly, or the process died before answering) is stored again by `recover`
    to no effect.
    """
    batch_id = uuid.uuid4().hex
    journal.add(batch_id, events)
    _send_task(celery, settings, events, batch_id)


def journaled_publish(settings: Settings, journal: InflightBatches) -> tuple[Callable[[Batch], None],
                                                                           Callable[[], int]]:
    """How the web tier publishes to a Redis broker, and probes the queue's depth: in one round trip while the
    library adapters that write the message are active, else the journal first and then Celery."""
    if kombu_adapter.hand_built_messages(settings):
        redis_publisher = RedisBatchPublisher(settings, journal)
        return redis_publisher.publish, redis_publisher.depth
    celery = make_celery(settings)
    return partial(_journal_then_send_task, celery, settings, journal), partial(queue_depth, celery, settings)


def build_pipeline(settings: Settings, db: Database) -> IngestPipeline:
    publish: Callable[[Batch], None]
    depth: Callable[[], int]
    if settings.uses_redis_broker:
        publish, depth = journaled_publish(settings, InflightBatches(settings))
    else:
        celery = make_celery(settings)
        publish, depth = partial(_send_task, celery, settings), partial(queue_depth, celery, settings)
    store_options = StoreOptions.of(settings)

    async def fallback(events: Batch) -> None:
        await db.run(store_events, events, store_options)

    return IngestPipeline(
        limits=Limits.from_settings(settings),
        campaigns=CampaignCache(db, settings.campaign_check_seconds, settings.campaign_miss_cache_seconds),
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
        queue_depth=depth,
        store_options=store_options,
        retry_after=str(settings.retry_after_seconds),
    )
