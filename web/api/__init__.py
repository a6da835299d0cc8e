"""The read (and write) API under /api/v1: Bearer tokens, JSON, documented in the app's OpenAPI schema."""
from fastapi import FastAPI

from common.config import Settings
from web.api import campaigns, events, journeys, stats
from web.api.ratelimit import TokenRateLimit

PREFIX = "/api/v1"


def install(app: FastAPI, settings: Settings) -> None:
    app.state.api_rate_limit = TokenRateLimit(settings.api_rate_limit, settings.redis_url)
    for router in (campaigns.reader, campaigns.writer, stats.router, journeys.router, events.router):
        app.include_router(router)
