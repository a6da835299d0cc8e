"""The API's per-token rate limit: a fixed window per token, counted in Redis by the `limits` library, so every
web process shares the count (one INCR per request)."""
import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)

NAMESPACE = "api"


class TokenRateLimit:
    def __init__(self, limit: str, redis_url: str) -> None:
        self._items: list[RateLimitItem] = parse_many(limit)
        self._limiter = FixedWindowRateLimiter(storage_from_string(redis_url))

    def retry_after(self, key: str) -> int | None:
        """Count a request for `key`; the seconds until it may retry when over a limit, else None. If Redis
        cannot be reached the request is let through (logged): the API stays up without its limit."""
        try:
            for item in self._items:
                if not self._limiter.hit(item, NAMESPACE, key):
                    reset = self._limiter.get_window_stats(item, NAMESPACE, key).reset_time
                    return max(1, math.ceil(reset - time.time()))
        except Exception:  # a Redis outage: any of redis-py's errors
            log.warning("API rate limit not checked: Redis unreachable", exc_info=True)
        return None
