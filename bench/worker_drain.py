"""Worker throughput in isolation: pre-fill the queue, start one worker, time the drain and count CPU.

    .venv/bin/python bench/worker_drain.py [--events 100000] [--batch 25] [--pool solo|prefork|threads] [--concurrency 1]

Uses its own queue name on the configured broker and database, and publishes as the web tier does (on a Redis
broker: journaled, so the worker may store waiting batches together); reports events/s and CPU microseconds
per event for the worker process tree and for PostgreSQL (all backends, from /proc).
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.campaigns import create_campaign
from common.config import Settings
from common.db import connect, get_session
from common.event import Event, to_wire
from common.inflight import InflightBatches
from common.queue import INGEST_TASK, make_celery
from common.vocabulary import EVENT_TYPE_NAMES
from tests.services import Process, start_worker, wait_until
from web.ingest.pipeline import journaled_publish

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def cpu_seconds(match: str) -> float:
    """utime + stime of every process whose command line contains `match`."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if match not in Path(f"/proc/{pid}/cmdline").read_text():
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> float:
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if "(postgres)" not in stat:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--pool", default="solo")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    queue = f"drain_bench_{os.getpid()}"

    with get_session() as session:
        cid = create_campaign(session=session, name="drain bench", offer_url="https://bench.example/").id
    with connect() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (args.events,)
            )
        ]
    now = time.time()
    events = [
        Event(id=i, campaign_id=cid, event_type=EVENT_TYPE_NAMES[n % len(EVENT_TYPE_NAMES)],
              email=f"user{n % 50_000}@gmail.com", domain=f"example{n % 3 + 1}.com", ip=f"73.{n % 200}.{n % 50}.9",
              user_agent=CHROME, extra_params={"utm_source": "mail", "sub": str(n)}, received_at=now)
        for n, i in enumerate(ids)
    ]
    settings = Settings(ingest_queue=queue)
    celery = make_celery(settings)
    # As the web tier publishes (with LIBRARY_ADAPTERS=off: journal first, then send_task).
    publish = journaled_publish(settings, InflightBatches(settings))[0] if settings.uses_redis_broker else None
    for start in range(0, len(events), args.batch):
        if publish:
            publish(events[start : start + args.batch])
        else:
            celery.send_task(INGEST_TASK, args=[to_wire(events[start : start + args.batch])], queue=queue)
    env = {**os.environ, "INGEST_QUEUE": queue}  # the worker's journal keys follow the queue's name
    worker: Process = start_worker(env, queue, concurrency=args.concurrency, pool=args.pool)
    # Measured from the moment the worker is ready, the whole backlog waiting: neither publishing nor the
    # worker's start-up is counted (a few batches may be stored before the ready line is seen).
    pg_before, worker_before, started = postgres_cpu(), cpu_seconds(queue), time.monotonic()
    wait_until(lambda: count(cid) >= args.events, timeout=600, interval=0.2, message="queue drained")
    elapsed = time.monotonic() - started
    worker_cpu, pg_cpu = cpu_seconds(queue) - worker_before, postgres_cpu() - pg_before
    worker.stop()
    print(f"{args.events:,} events in batches of {args.batch}, pool={args.pool} concurrency={args.concurrency}")
    print(f"stored in {elapsed:.1f}s: {args.events / elapsed:,.0f} events/s")
    print(
        f"worker cpu {worker_cpu:.1f}s = {worker_cpu / args.events * 1e6:.0f} us/event; "
        f"postgres cpu {pg_cpu:.1f}s = {pg_cpu / args.events * 1e6:.0f} us/event"
    )
    return 0


def count(cid: int) -> int:
    with connect() as conn:
        row = conn.execute("SELECT count(*) FROM events WHERE campaign_id = %s", (cid,)).fetchone()
        return int(row[0]) if row else 0


if __name__ == "__main__":
    sys.exit(main())
