"""What the reports' fold costs on realistic traffic (the worker runs it; common/reports.py).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tracker_scratch \\
        .venv/bin/python bench/report_fold.py --campaign 1 --events 10000

On a generated campaign (`tracker generate`; use a scratch database: the events stay): folds what is queued,
then stores EVENTS email clicks copied from the campaign's own events (same recipient, address, user agent and
tags: repeat clicks, whose values are mostly listed already), one in ten under a new address (a new recipient:
the generated campaigns have ~10 events each), with the ingest statement, and times fold() of them.
"""
import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import store
from common.config import get_settings
from common.db import connect
from common.event import Event
from common.reports import fold

BATCH = 500


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--campaign", type=int, required=True)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    settings = get_settings()
    options = store.StoreOptions.of(settings)
    with connect() as conn:
        fold(conn, timezone=settings.dashboard_timezone, max_values=settings.report_max_values)
        sample = conn.execute("SELECT email, domain, ip, user_agent, extra_params - '_tracker' - 'payout' "
                              "FROM events TABLESAMPLE SYSTEM (1) WHERE campaign_id = %s LIMIT %s",
                              (args.campaign, args.events)).fetchall()
        assert sample, f"campaign {args.campaign} has no events to copy"
        stored = 0
        while stored < args.events:
            ids = [r[0] for r in conn.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)",
                                              (BATCH,))]
            batch = []
            for i, event_id in enumerate(ids):
                email, domain, ip, ua, extra = sample[(stored + i) % len(sample)]
                if i % 10 == 0:
                    email = f"new{uuid.uuid4().hex[:12]}@example.com"
                batch.append(Event(campaign_id=args.campaign, event_type="email_click", email=email, domain=domain,
                                   ip=ip, user_agent=ua, received_at=time.time(), id=event_id, extra_params=extra))
            store.store_events(conn, batch, options)
            stored += BATCH
        start = time.perf_counter()
        folded = fold(conn, timezone=settings.dashboard_timezone, max_values=settings.report_max_values)
        seconds = time.perf_counter() - start
    print(f"fold: {folded:,} events in {seconds:.2f} s ({folded / seconds:,.0f} events/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
