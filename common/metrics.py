"""Prometheus metrics of the web tier and the worker (prometheus_client in its multiprocess mode), served by
`tracker metrics` (common/metrics_server.py) on a bind of its own, never on the public port.

Each process of a tier writes its values to memory-mapped files in METRICS_DIR/<tier>; the metrics server
adds up every process's files when scraped. A process that starts removes the files of its tier's processes
that are gone (a restart, a uvicorn or prefork worker that died): their counters leave the sums, which
Prometheus reads as a counter reset (rate() and increase() allow for it), and their gauges do not linger.

What it costs: an increment in this mode is a lock and a write to the mapped file, 2.4 µs (a histogram
observation 9 µs; `python -m bench.metrics_cost`). So the ingest path counts per batch (the publisher, the
worker), never per accepted request; only refusals, which are not the fast path, are counted one by one.

Call enable() in a composition root (web.main.create_app, the worker's worker_init signal) before anything
records; until then, and with METRICS=false, every function here does nothing.
"""
import os
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from common.config import Settings

TIERS = ("web", "worker")
# Latency buckets in seconds: the ingest statement takes milliseconds, a dashboard page tens of them.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


class _Metrics:
    """The metric objects, created once multiprocess storage is set up."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        # web
        self.accepted = Counter("tracker_events_accepted_total",
                                "Events answered ok, by where their batch went: the broker, or the database "
                                "directly (the broker-down fallback)", ["via"])
        self.refused = Counter("tracker_events_refused_total",
                               "Event requests refused, by reason (503s: reason overloaded or unavailable)",
                               ["reason"])
        self.fallback_batches = Counter("tracker_fallback_batches_total",
                                        "Batches the broker refused that the web tier stored in the database itself")
        self.dashboard_seconds = Histogram("tracker_dashboard_request_seconds",
                                           "Dashboard requests' latency, by route and method",
                                           ["route", "method"], buckets=_BUCKETS)
        # worker
        self.batch_events = Histogram("tracker_batch_events", "Events per ingest statement (batches merged)",
                                      buckets=_BATCH_BUCKETS)
        self.store_seconds = Histogram("tracker_store_seconds", "The ingest statement's latency", buckets=_BUCKETS)
        self.stored = Counter("tracker_events_stored_total", "Events the worker inserted (new rows)")
        self.dead_letters = Counter("tracker_dead_letters_total", "Events the worker kept in dead_events")
        self.recover_runs = Counter("tracker_recover_runs_total", "Runs of the recover job")
        self.recovered = Counter("tracker_recovered_batches_total",
                                 "Batches the recover job stored (dropped by a killed worker)")
        self.via_broker = self.accepted.labels("broker")
        self.via_database = self.accepted.labels("database")


_metrics: _Metrics | None = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_dead(directory: Path) -> None:
    """Removes the files of processes that are gone (names end in _<pid>.db)."""
    for path in directory.glob("*_*.db"):
        pid = path.stem.rsplit("_", 1)[1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with suppress(FileNotFoundError):  # another process of the tier removed it first
                path.unlink()


def enable(settings: Settings, tier: str) -> None:
    """Turns this process's metrics on (once), writing to METRICS_DIR/<tier>."""
    global _metrics
    if _metrics is not None or not settings.metrics:
        return
    directory = settings.metrics_path / tier
    directory.mkdir(parents=True, exist_ok=True)
    remove_dead(directory)
    # prometheus_client's own switch: the folder its values are written to, read when a metric is made...
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    from prometheus_client import values

    # ...and, to choose that storage at all, when it is imported. Celery's command line imports it before any
    # of our code runs (it loads Flower's command), so choose again; metrics look the class up when made.
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    _metrics = _Metrics()


def _on(fn: Callable[[_Metrics], Any]) -> None:
    if _metrics is not None:
        fn(_metrics)


# --- what the tiers record ----------------------------------------------------------------------------------

def accepted(events: int, *, via_broker: bool) -> None:
    """A batch of events answered ok (one call per batch: see the module docstring)."""
    if _metrics is not None:
        (_metrics.via_broker if via_broker else _metrics.via_database).inc(events)
        if not via_broker:
            _metrics.fallback_batches.inc()


def refused(reason: str) -> None:
    _on(lambda m: m.refused.labels(reason).inc())


def dashboard_request(route: str, method: str, seconds: float) -> None:
    _on(lambda m: m.dashboard_seconds.labels(route, method).observe(seconds))


def stored(events: int, inserted: int, seconds: float) -> None:
    """One ingest statement: `events` in it, `inserted` new, in `seconds`."""
    if _metrics is not None:
        _metrics.batch_events.observe(events)
        _metrics.store_seconds.observe(seconds)
        _metrics.stored.inc(inserted)


def dead_lettered() -> None:
    _on(lambda m: m.dead_letters.inc())


def recover_run(recovered: int) -> None:
    if _metrics is not None:
        _metrics.recover_runs.inc()
        _metrics.recovered.inc(recovered)
