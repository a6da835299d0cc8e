"""What queueing the events for the reports costs the ingest statement (the choice behind common/reports.py).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tracker_bench_rq .venv/bin/python bench/report_queue.py

Migrates the database named by DATABASE_URL (use a scratch one), then stores batches of BATCH new events with
today's statement and with the statement minus its report_queue insert, alternating, and prints the median
time per batch of each. The fold's own cost (off the ingest path) is printed too. Run it on a quiet machine.
"""
import statistics
import sys
import time
import uuid
from typing import Any

from common import store
from common.cli import main as cli
from common.config import get_settings
from common.db import connect
from common.event import Event
from common.reports import fold

BATCH = 500
ROUNDS = 20
UAS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1")
WITH_QUEUE = store._STATEMENT  # batches without a conversion, as here, run this one
WITHOUT_QUEUE = WITH_QUEUE.replace("""), rq AS (
    INSERT INTO report_queue (event_id) SELECT id FROM ins
)""", ")")


def _batch(conn: Any, cid: int) -> list[Event]:
    ids = [r[0] for r in conn.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (BATCH,))]
    now = time.time()
    return [Event(campaign_id=cid, event_type="email_click", email=f"u{uuid.uuid4().hex[:10]}@x.com",
                  domain=f"d{i % 7}.com", ip=f"90.0.{i % 200}.{i % 250 + 1}", user_agent=UAS[i % 2],
                  extra_params={"utm_source": f"s{i % 5}", "sub1": f"{i}"}, received_at=now, id=event_id)
            for i, event_id in enumerate(ids)]


def main() -> int:
    assert WITHOUT_QUEUE != WITH_QUEUE, "the statement no longer has the report_queue insert this compares"
    assert cli(["migrate"]) == 0
    settings = get_settings()
    options = store.StoreOptions.of(settings)
    times: dict[str, list[float]] = {"with queue": [], "without": []}
    with connect() as conn:
        (cid,) = conn.execute("INSERT INTO campaigns (name, offer_url) VALUES ('bench', 'https://o.example/') "
                              "RETURNING id").fetchone()
        for _ in range(3):  # warm up: plans, caches, the enrichment's databases
            store.store_events(conn, _batch(conn, cid), options)
        for _ in range(ROUNDS):
            for name, statement in (("with queue", WITH_QUEUE), ("without", WITHOUT_QUEUE)):
                store._STATEMENT = statement
                batch = _batch(conn, cid)
                start = time.perf_counter()
                store.store_events(conn, batch, options)
                times[name].append(time.perf_counter() - start)
        store._STATEMENT = WITH_QUEUE
        start = time.perf_counter()
        folded = fold(conn, timezone=settings.dashboard_timezone, max_values=settings.report_max_values)
        fold_seconds = time.perf_counter() - start
    for name, values in times.items():
        print(f"{name:>10}: median {statistics.median(values) * 1000:.1f} ms per {BATCH}-event batch "
              f"(min {min(values) * 1000:.1f} ms, {ROUNDS} batches)")
    print(f"fold: {folded} queued events in {fold_seconds:.2f} s ({folded / fold_seconds:,.0f} events/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
