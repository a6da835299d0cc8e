"""The worker survives losing its Redis connection (kombu's closed-channel AttributeError, see worker/kombu_patches.py)."""

import pytest
import redis
from kombu import Connection

import worker.celery_app  # noqa: F401  (installs the fix)
from common.config import settings


def test_channel_of_a_collected_connection__connection_error_not_attribute_error() -> None:
    with Connection(settings.celery_broker_url) as conn:
        channel = conn.default_channel
        conn.collect()  # what Celery does with a connection it lost: the transport forgets its connection info
        # Acking or restoring on this channel needs a new Redis client; a connection error is recoverable.
        with pytest.raises(redis.exceptions.ConnectionError):
            channel.qos.ack("some-delivery-tag")
