"""What the reports' pairs (`?by=country&then=device`, common/report_slots.py) cost: the fold with pair slots
against none, and the background backfill of a pair over a campaign's stored events.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tracker_pairs_scratch \\
        .venv/bin/python bench/report_pairs.py fold
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tracker_bench_copy \\
        .venv/bin/python bench/report_pairs.py backfill --campaign 1 country,device utm_term,param:sub1

`fold` migrates the database named by DATABASE_URL (use a scratch one), makes three campaigns, one reporting on
PAIRS, one on as many `param:` reports (PARAMS) and one on nothing more than the fixed dimensions, then, ROUNDS times and alternating, stores a batch of
FOLD_EVENTS new events in one campaign and times the fold of exactly that batch. It prints the median time per
batch of each.

`backfill` chooses each `by,then` pair for the campaign (a copy of the benchmark database: it writes), then runs
backfill_step as the worker's fold task does, a day per call, and prints each day's time, then the total.
"""
import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import store
from common.cli import main as cli
from common.config import get_settings
from common.db import connect
from common.event import Event
from common.report_slots import add_pair, add_slot
from common.reports import backfill_step, fold

PAIRS = (("country", "device"), ("utm_source", "utm_campaign"), ("utm_term", "param:sub1"))
PARAMS = ("utm_campaign", "utm_term", "sub1")  # the reference: as many `param:` reports, read off the same keys
FOLD_EVENTS = 2_000  # a fold statement's batch (common/reports.py's FOLD_BATCH)
ROUNDS = 12
UAS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
       "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36")


def _batch(conn: Any, cid: int) -> list[Event]:
    """New recipients' email clicks, with UTM tags and a long-tail sub-id (ids from the events sequence)."""
    ids = [r[0] for r in conn.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (FOLD_EVENTS,))]
    now = time.time()
    return [Event(campaign_id=cid, event_type="email_click", email=f"u{uuid.uuid4().hex[:10]}@x.com",
                  domain=f"d{i % 7}.com", ip=f"{(90, 81, 24)[i % 3]}.{i % 200}.{i % 250}.{i % 251 + 1}",
                  user_agent=UAS[i % 3], received_at=now, id=event_id,
                  extra_params={"utm_source": f"s{i % 6}", "utm_campaign": f"c{i % 40}", "utm_term": f"kw{i % 997}",
                                "sub1": f"pub{i}"})
            for i, event_id in enumerate(ids)]


def fold_cost() -> int:
    assert cli(["migrate"]) == 0
    settings = get_settings()
    options = store.StoreOptions.of(settings)
    fold_options = {"timezone": settings.dashboard_timezone, "max_values": settings.report_max_values}
    times: dict[str, list[float]] = {"no slots": [], f"{len(PARAMS)} params": [], f"{len(PAIRS)} pairs": []}
    with connect() as conn:
        arms = {}
        for name in times:
            (cid,) = conn.execute("INSERT INTO campaigns (name, offer_url) VALUES (%s, 'https://o.example/') "
                                  "RETURNING id", (f"bench {name}",)).fetchone()
            arms[name] = cid
        for by, then in PAIRS:
            add_pair(conn, arms[f"{len(PAIRS)} pairs"], by, then)
        for key in PARAMS:
            add_slot(conn, arms[f"{len(PARAMS)} params"], key)
        while backfill_step(conn, **fold_options):  # no events yet: filled at once
            pass
        for cid in arms.values():  # warm up: plans, caches, the enrichment's databases
            store.store_events(conn, _batch(conn, cid), options)
            fold(conn, **fold_options)
        for _ in range(ROUNDS):
            for name, cid in arms.items():
                store.store_events(conn, _batch(conn, cid), options)
                start = time.perf_counter()
                folded = fold(conn, **fold_options)
                times[name].append(time.perf_counter() - start)
                assert folded == FOLD_EVENTS, folded
    for name, values in times.items():
        print(f"{name:>10}: median {statistics.median(values) * 1000:.0f} ms per {FOLD_EVENTS}-event fold "
              f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f} ms, {ROUNDS} folds)")
    return 0


def backfill(campaign_id: int, pairs: list[str]) -> int:
    settings = get_settings()
    fold_options = {"timezone": settings.dashboard_timezone, "max_values": settings.report_max_values}
    with connect() as conn:
        for pair in pairs:
            first, second = pair.split(",", 1)
            print("chose", add_pair(conn, campaign_id, first, second))
        days: list[float] = []
        started = time.perf_counter()
        while True:
            row = conn.execute("SELECT dimension, filled_through FROM report_slots WHERE campaign_id = %s "
                               "AND NOT filled ORDER BY created_at, dimension LIMIT 1", (campaign_id,)).fetchone()
            start = time.perf_counter()
            if not backfill_step(conn, **fold_options):
                break
            days.append(time.perf_counter() - start)
            if row is not None:
                print(f"  {row[0]} after {row[1]}: {days[-1]:.1f} s", flush=True)
        total = time.perf_counter() - started
    print(f"{len(days)} steps in {total:.0f} s: median {statistics.median(days):.1f} s, max {max(days):.1f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fold")
    filling = commands.add_parser("backfill")
    filling.add_argument("--campaign", type=int, required=True)
    filling.add_argument("pairs", nargs="+", help="by,then, e.g. country,device or utm_term,param:sub1")
    args = parser.parse_args()
    return fold_cost() if args.command == "fold" else backfill(args.campaign, args.pairs)


if __name__ == "__main__":
    sys.exit(main())
