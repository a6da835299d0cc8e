"""What the metrics (common/metrics.py) cost on the ingest path: the reason it counts per batch.

    .venv/bin/python -m bench.metrics_cost

Prints, best of five runs: one increment and one histogram observation in prometheus_client's multiprocess
mode; and the publisher's cost per event (web/ingest/publisher.py, with a publish that does nothing) with
metrics off and on. Run it on a quiet machine; each part runs in a process of its own (metrics are switched on
per process).
"""
import asyncio
import subprocess
import sys
import tempfile
import time
import timeit
from typing import Any

from common.config import Settings
from common.event import Event

EVENTS = 20_000
BATCH = 100
REPEAT = 5


def _best(fn: Any, number: int) -> float:
    """Microseconds per call, best of REPEAT."""
    return min(timeit.repeat(fn, number=number, repeat=REPEAT)) / number * 1e6


def primitives(directory: str) -> None:
    from common import metrics

    metrics.enable(Settings(metrics_dir=directory), "web")
    m = metrics._metrics
    assert m is not None
    print(f"counter increment (multiprocess):     {_best(lambda: m.via_broker.inc(BATCH), 100_000):6.2f} µs")
    print(f"counter increment with labels():      {_best(lambda: m.refused.labels('invalid').inc(), 100_000):6.2f} µs")
    print(f"histogram observation:                {_best(lambda: m.store_seconds.observe(0.004), 100_000):6.2f} µs")


def publisher(directory: str, on: bool) -> None:
    from common import metrics
    from web.ingest.publisher import BatchPublisher

    metrics.enable(Settings(metrics=on, metrics_dir=directory), "web")

    async def run() -> float:
        pub = BatchPublisher(publish=lambda events: None, fallback=None, queue_depth=lambda: 0, max_batch=BATCH,
                             max_pending=EVENTS * 2, max_queue_depth=10**9, depth_check_seconds=3600,
                             linger_seconds=0)
        event = Event(campaign_id=1, event_type="email_click", email="a@b.com", domain="b.com", received_at=1.0)
        started = time.perf_counter()
        await asyncio.gather(*(pub.submit(event) for _ in range(EVENTS)))
        elapsed = time.perf_counter() - started
        pub.close()
        return elapsed

    best = min(asyncio.run(run()) for _ in range(REPEAT))
    print(f"publisher, per event, metrics {'on ' if on else 'off'}:     {best / EVENTS * 1e6:6.2f} µs")


def main() -> None:
    if len(sys.argv) > 1:
        part, directory = sys.argv[1], sys.argv[2]
        {"primitives": lambda: primitives(directory), "off": lambda: publisher(directory, False),
         "on": lambda: publisher(directory, True)}[part]()
        return
    with tempfile.TemporaryDirectory() as directory:
        for part in ("primitives", "off", "on"):
            subprocess.run([sys.executable, "-m", "bench.metrics_cost", part, directory], check=True)


if __name__ == "__main__":
    main()
