"""The ingest hot path: what landing scripts, emails and offer networks call.

An event reads top to bottom: a route (`api`, `fastpath` for GET /api/event, `pixel`, `redirect`, `postback`)
validates it (common.validation), the `pipeline` checks its campaign (`campaign_cache`), gives it an id
(`ids`) and hands it to the `publisher`, which sends a batch to the broker as one task (`redis_publish`), or,
with the broker down, stores it directly (common.store). The worker takes it from there.
"""
