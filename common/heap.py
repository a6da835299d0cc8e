"""The start-up heap kept out of the garbage collector's full collections.

A web or worker process imports FastAPI, SQLAlchemy, Celery, pydantic and the enrichment tables: 100-160 k
long-lived objects that CPython's full (generation 2) collection walks every time it runs. Under load one ran
every few seconds and paused the process for 100-230 ms on this 2-core box, long enough to be the ingest's p99
by itself (a web process under `wrk -c64` for 10 s: 4 full collections, max 233 ms, p99 192 ms; frozen after
start-up: 6, max 1.4 ms, p99 25 ms; docs/performance.md). `gc.freeze()` moves every object alive now to a
permanent generation the collector skips; objects created later are collected as before.
"""
import gc


def freeze_startup_heap() -> None:
    """Call once the process has loaded what it keeps for its lifetime (after its start-up work)."""
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
