"""What one fold statement costs against the length of the reports' queue (common/reports.py's _FOLD).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tracker_bench_fold \\
        .venv/bin/python bench/fold_backlog.py [--queued 6000,20000,100000] [--rounds 3]

After a burst the queue holds every event stored during it (10,000 a second at the bench's load), and the fold
works through it FOLD_BATCH at a time: a statement that costs more the longer the queue is makes the backlog
quadratic. For each queue length this queues that many stored events of the database's largest campaign,
runs the fold statement `--rounds` times (each takes FOLD_BATCH off the queue), and rolls everything back, so
the database is left as it was. Needs a database with stored events: `tracker generate --events 200000`.
"""
import argparse
import statistics
import time

from common.config import get_settings
from common.db import connect
from common.reports import _FOLD, FOLD_BATCH, lock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queued", default="6000,20000,100000",
                        help="queue lengths, comma-separated; each at least rounds x FOLD_BATCH, so every round folds a full batch")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = get_settings()
    params = {"tz": settings.dashboard_timezone, "cap": settings.report_max_values, "batch": FOLD_BATCH}
    with connect() as conn:
        (campaign,) = conn.execute("SELECT campaign_id FROM events GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()
        for queued in (int(n) for n in args.queued.split(",")):
            if queued < args.rounds * FOLD_BATCH:
                parser.error(f"--queued {queued}: at least --rounds x {FOLD_BATCH:,}, so that every round folds a full batch")
            with conn.transaction(force_rollback=True):
                conn.execute("INSERT INTO report_queue SELECT id FROM events WHERE campaign_id = %s ORDER BY id "
                             "LIMIT %s", (campaign, queued))
                conn.execute("ANALYZE report_queue")
                lock(conn)
                times = []
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    conn.execute(_FOLD, params).fetchone()
                    times.append(time.perf_counter() - started)
            print(f"queued {queued:>7,}: fold statement of {FOLD_BATCH:,} events  "
                  f"median {statistics.median(times) * 1000:7.1f} ms  min {min(times) * 1000:7.1f} ms  "
                  f"({statistics.median(times) / FOLD_BATCH * 1e6:.0f} us per event)", flush=True)


if __name__ == "__main__":
    main()
