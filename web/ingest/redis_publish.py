"""Publishing an ingest batch to a Redis broker in ONE round trip: journal entry and Celery message together.

Through Celery's `send_task`, each publish went through kombu's producer layers and then a second round trip
recorded the batch in the in-flight journal (common/inflight.py): about a sixth of a web process's CPU under
load (docs/performance.md). Here one MULTI/EXEC holds both, so the journal and the queue can no longer
disagree either. The message is the one kombu's Redis transport stores for `send_task`, built by the library
adapters (common/adapters/celery.py, common/adapters/kombu.py), so the worker consumes it unchanged. Used only
while both adapters are active; otherwise, and with RabbitMQ, batches go through Celery (web/ingest/pipeline.py).
"""
import uuid

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from common.adapters import celery as celery_adapter
from common.adapters import kombu as kombu_adapter
from common.config import Settings
from common.event import Batch, encode
from common.inflight import InflightBatches
from common.queue import INGEST_TASK, batch_argsrepr


class RedisBatchPublisher:
    def __init__(self, s: Settings, journal: InflightBatches) -> None:
        self._queue = s.ingest_queue
        self._journal = journal
        self._origin = celery_adapter.origin()
        # As kombu was told (common/queue.py): two quick retries, then the caller stores the batch itself.
        # A retried MULTI whose reply was lost may publish a batch twice: the insert is idempotent.
        self._client = redis.Redis.from_url(
            s.celery_broker_url,
            socket_timeout=s.broker_publish_timeout_seconds,
            socket_connect_timeout=2,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.2), retries=2),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )

    def publish(self, events: Batch) -> None:
        """Record the batch in the journal and queue it as one `ingest_batch` task; raises if Redis refuses."""
        batch_id = uuid.uuid4().hex
        events_json = encode(events)
        with self._client.pipeline(transaction=True) as pipe:
            self._journal.record(pipe, batch_id, events_json)
            pipe.lpush(self._queue, self.message(batch_id, events_json, len(events)))
            pipe.execute()

    def depth(self) -> int:
        """Batches waiting in the queue."""
        return int(self._client.llen(self._queue))

    def message(self, task_id: str, events_json: bytes, count: int) -> bytes:
        """The task message for args `[events]`, as kombu's Redis transport stores it."""
        task = celery_adapter.task_message(INGEST_TASK, task_id, b"[" + events_json + b"]", batch_argsrepr(count),
                                           self._origin)
        return kombu_adapter.redis_message(task, self._queue)
