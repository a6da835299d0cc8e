"""Helpers for bench/ingest.sh: prepare the bench database, wait for drain, report counts and peak RSS."""

import argparse
import subprocess
import sys
import time
from pathlib import Path

from common.campaigns import create_campaign
from common.db import connect, get_session
from common.queue import queue_depth


def _events(cid: int, where: str = "") -> int:
    with connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM events WHERE campaign_id = %s {where}", (cid,)).fetchone()
        return int(row[0]) if row else 0


def cmd_campaign(_: argparse.Namespace) -> None:
    with get_session() as session:
        print(create_campaign(session=session, name="bench", offer_url="https://bench.example/").id)


def cmd_drain(args: argparse.Namespace) -> None:
    """Seconds from now until the queue is empty and the events count stops growing."""
    start = time.monotonic()
    last, stable_since = -1, start
    while time.monotonic() - start < args.timeout:
        count = _events(args.cid)
        if queue_depth() == 0 and count == last:
            if time.monotonic() - stable_since >= 0.5:
                print(f"drain_s {stable_since - start:.2f}")
                print(f"stored {count}")
                return
        else:
            last, stable_since = count, time.monotonic()
        time.sleep(0.1)
    print(f"drain_s >{args.timeout}")
    print(f"stored {_events(args.cid)}")


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


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(required=True)
    sub.add_parser("campaign").set_defaults(func=cmd_campaign)
    p = sub.add_parser("drain")
    p.add_argument("cid", type=int)
    p.add_argument("--timeout", type=float, default=120)
    p.set_defaults(func=cmd_drain)
    p = sub.add_parser("exact")
    p.add_argument("cid", type=int)
    p.set_defaults(func=cmd_exact)
    p = sub.add_parser("rss")
    p.add_argument("pid", type=int)
    p.set_defaults(func=cmd_rss)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
