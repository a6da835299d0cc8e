"""Helpers for bench/ingest.sh: prepare the bench database, wait for drain, report counts and peak RSS."""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from common import store
from common.campaigns import create_campaign
from common.config import get_settings
from common.db import connect, get_session
from common.event import Event, encode
from common.queue import make_celery, queue_depth


def _events(cid: int, where: str = "") -> int:
    with connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM events WHERE campaign_id = %s {where}", (cid,)).fetchone()
        return int(row[0]) if row else 0


def cmd_campaign(_: argparse.Namespace) -> None:
    with get_session() as session:
        print(create_campaign(session=session, name="bench", offer_url="https://bench.example/").id)


def cmd_analyze(args: argparse.Namespace) -> None:
    """Fresh statistics, then the access path Postgres picks for the burst rule's lookup of earlier clicks.

    That lookup runs once per email click and no index matches it exactly, so its plan follows the statistics:
    through the campaign index it reads every event of the campaign per click, and a bench campaign grows to
    ~40,000 events in a run (the worker then slowed to ~300 events/s and the queue took a minute to drain).
    Autovacuum keeps statistics fresh in a deployment, but it is off on some test machines: analyze here, and
    print the plan so that a run can be compared with another. (Since the burst rule reads the journey row
    instead, the plan printed is that probe's: it should use pk_journeys.)
    """
    with connect() as conn:
        conn.autocommit = True
        # Not on empty tables: "analyzed, 0 rows" makes the planner pick sequential scans, which the worker's
        # prepared statement keeps while the tables grow (a fresh bench database drained in 24 s instead of 3).
        if conn.execute("SELECT EXISTS (SELECT 1 FROM events)").fetchone() == (True,):
            for table in ("events", "journeys", "domain_stats"):
                conn.execute(f"ANALYZE {table}")
        rows = encode([_probe(args.cid)]).decode()
        params = store.StoreOptions.of(get_settings()).params()
        plan = [r[0] for r in conn.execute("EXPLAIN " + store._MERGE, {"rows": rows, **params})]
    probe = next((line.strip() for line in plan if " on journeys r " in line), None)
    print("plan     burst probe: " + (re.sub(r"^->\s+|\s+\(cost=.*", "", probe) if probe else "none (rule off)"))


def _probe(cid: int) -> Event:
    return Event(campaign_id=cid, event_type="email_click", email="probe@example.com", domain="example.com",
                 received_at=1.8e9)


def cmd_drain(args: argparse.Namespace) -> None:
    """Seconds from now until the queue is empty and the events count stops growing."""
    start = time.monotonic()
    last, stable_since = -1, start
    settings = get_settings()
    celery = make_celery(settings)
    while time.monotonic() - start < args.timeout:
        count = _events(args.cid)
        if queue_depth(celery, settings) == 0 and count == last:
            if time.monotonic() - stable_since >= 0.5:
                print(f"drain_s {stable_since - start:.2f}")
                print(f"stored {count}")
                return
        else:
            last, stable_since = count, time.monotonic()
        time.sleep(0.1)
    print(f"drain_s >{args.timeout}")
    print(f"stored {_events(args.cid)}")


def cmd_reports(args: argparse.Namespace) -> None:
    """Seconds from now until the reports' queue is empty: how long the Reports tab lags the end of a drain."""
    start = time.monotonic()
    with connect() as conn:
        while time.monotonic() - start < args.timeout:
            (queued,) = conn.execute("SELECT count(*) FROM report_queue").fetchone()
            if queued == 0:
                print(f"reports_caught_up_s {time.monotonic() - start:.2f}")
                return
            time.sleep(0.2)
    print(f"reports_caught_up_s >{args.timeout} ({queued} events still queued)")


def cmd_exact(args: argparse.Namespace) -> None:
    exact = _events(args.cid, "AND extra_params->>'run' = 'exact'")
    print(f"stored_exact {exact}")


def _tree(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid, *(p for child in out for p in _tree(int(child)))]


def cmd_rss(args: argparse.Namespace) -> None:
    """Peak RSS (VmHWM) of every process under the given pid."""
    for pid in _tree(args.pid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        except FileNotFoundError:
            continue
        hwm = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")), None)
        if hwm and ("python" in cmdline or "uvicorn" in cmdline or "celery" in cmdline):
            name = "web" if "uvicorn" in cmdline or "multiprocessing" in cmdline else "worker"
            print(f"rss_peak_mb {name} pid={pid} {int(hwm) / 1024:.0f}  ({cmdline[:80].strip()})")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backends(database: str) -> list[int]:
    """PostgreSQL's backends connected to `database` (their titles: "postgres: user database host ...")."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_text()
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                pids.append(int(entry.name))
    return pids


def cmd_cpu(args: argparse.Namespace) -> None:
    """CPU seconds used so far by the web and the worker processes under the given pid, and by the PostgreSQL
    backends connected to the stack's database (less noisy than req/s on a shared machine: divide the
    difference between two calls by the events stored in between; a backend that disconnects in between takes
    its seconds with it, so the pools' long-lived connections are what this counts)."""
    totals = {"web": 0.0, "worker": 0.0}
    for pid in _tree(args.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_text()
        except FileNotFoundError:
            continue
        if "uvicorn" in cmdline or "multiprocessing" in cmdline:
            totals["web"] += _cpu_seconds(pid)
        elif "celery" in cmdline:
            totals["worker"] += _cpu_seconds(pid)
    database = make_url(get_settings().database_url).database or ""
    postgres = sum(_cpu_seconds(pid) for pid in _backends(database))
    print(f"{totals['web']:.2f} {totals['worker']:.2f} {postgres:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(required=True)
    sub.add_parser("campaign").set_defaults(func=cmd_campaign)
    p = sub.add_parser("analyze")
    p.add_argument("cid", type=int)
    p.set_defaults(func=cmd_analyze)
    p = sub.add_parser("drain")
    p.add_argument("cid", type=int)
    p.add_argument("--timeout", type=float, default=120)
    p.set_defaults(func=cmd_drain)
    p = sub.add_parser("reports")
    p.add_argument("--timeout", type=float, default=300)
    p.set_defaults(func=cmd_reports)
    p = sub.add_parser("exact")
    p.add_argument("cid", type=int)
    p.set_defaults(func=cmd_exact)
    p = sub.add_parser("cpu")
    p.add_argument("pid", type=int)
    p.set_defaults(func=cmd_cpu)
    p = sub.add_parser("rss")
    p.add_argument("pid", type=int)
    p.set_defaults(func=cmd_rss)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
