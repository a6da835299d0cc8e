"""/api/v1 latency at scale: times every read route over HTTP with a token, as bench/dashboard.py times the
pages (same campaign, same server set-up), and the NDJSON stream of all events once.

    tracker generate --events 10000000 --users 1000000 --domains 20     # once: prints the campaign id
    .venv/bin/python bench/api.py --campaign ID [--requests 50] [--stream]

The rate limit is lifted for the run (API_RATE_LIMIT of the server it starts); a bench user and a read token
are created. Prints p50/p95/max per route and the worst p95.
"""
import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dashboard import add_campaigns, percentile
from common.db import get_session
from common.tokens import create_token
from common.users import upsert_user
from tests.services import free_port, start_web

BENCH_USER, BENCH_PASSWORD = "bench-api", "bench-password-123"


def targets(cid: int, domain: str) -> dict[str, str]:
    base = f"/api/v1/campaigns/{cid}"
    return {
        "campaigns": "/api/v1/campaigns",
        "campaigns, 30 days, by ROI": "/api/v1/campaigns?range=30d&sort=roi&dir=desc",
        "campaigns, search": "/api/v1/campaigns?q=campaign+01",
        "campaign": base,
        "stats": f"{base}/stats",
        "stats, 7 days, all traffic": f"{base}/stats?range=7d&counts=all",
        "stats per domain": f"{base}/stats/domains",
        "stats per domain, 30 days": f"{base}/stats/domains?range=30d",
        "timeline, all time": f"{base}/stats/timeline",
        "timeline, today": f"{base}/stats/timeline?range=today",
        "report by country, 30 days": f"{base}/stats/reports/country?range=30d",
        "report by hour": f"{base}/stats/reports/hour?sort=value",
        "journeys, 100": f"{base}/journeys",
        "journeys, 1000, conversions": f"{base}/journeys?limit=1000&event=conversion",
        "journeys, one domain": f"{base}/journeys?domain={domain}",
        "journeys, search": f"{base}/journeys?q=user12345@",
        "events today (ndjson)": f"{base}/events?range=today",
    }


def stream_all(client: httpx.Client, cid: int) -> None:
    """Every event of the campaign as NDJSON, once: time to first byte, total, lines."""
    started, first, lines = time.perf_counter(), 0.0, 0
    with client.stream("GET", f"/api/v1/campaigns/{cid}/events", headers={"Accept-Encoding": "identity"}) as r:
        assert r.status_code == 200, r.status_code
        for chunk in r.iter_bytes():
            first = first or time.perf_counter() - started
            lines += chunk.count(b"\n")
    print(f"events, all (ndjson): first byte {first * 1000:.1f} ms, {time.perf_counter() - started:.1f} s, "
          f"{lines:,} lines")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--campaign", type=int, required=True)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--campaigns", type=int, default=1000,
                        help="make sure the campaign list compares this many campaigns (adds small ones)")
    parser.add_argument("--stream", action="store_true", help="also stream every event once as NDJSON")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    add_campaigns(args.campaigns)
    with get_session() as session:
        user, _ = upsert_user(session=session, username=BENCH_USER, password=BENCH_PASSWORD, role="viewer")
        _, token = create_token(session=session, user=user, scope="read", name="bench")
        domain = session.execute(__import__("sqlalchemy").text(
            "SELECT domain FROM domain_stats WHERE campaign_id = :c ORDER BY domain LIMIT 1"),
            {"c": args.campaign}).scalar() or "example.com"
    proc, url = start_web({**os.environ, "API_RATE_LIMIT": "1000000/minute"}, port=free_port())
    worst = 0.0
    try:
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
            print(f"{'target':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'KB':>6}")
            for name, path in targets(args.campaign, domain).items():
                client.get(path)  # warm-up
                times, size = [], 0
                for _ in range(args.requests):
                    started = time.perf_counter()
                    r = client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:200]}"
                    size = len(r.content)
                p95 = percentile(times, 95)
                worst = max(worst, p95)
                print(f"{name:32} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f} {size / 1024:6.1f}")
            print(f"worst p95 {worst:.1f} ms")
            if args.stream:
                stream_all(client, args.campaign)
    finally:
        proc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
