"""Dashboard latency at scale: times every page and fragment over HTTP, and EXPLAINs the queries behind them.

    tracker generate --events 10000000 --users 1000000 --domains 20 \
        --report 'country|device' --report 'utm_term|param:sub1'       # once: prints the campaign id
    .venv/bin/python bench/dashboard.py --campaign ID [--requests 50] [--explain]

Starts its own uvicorn (1 worker) on the configured DATABASE_URL unless --base-url is given, signs in as a
bench user (created if missing), then requests each target N times in sequence and prints p50/p95/max.
--explain also prints EXPLAIN (ANALYZE, BUFFERS) of every SQL statement each target runs.
"""

import argparse
import logging
import re
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.config import get_settings
from common.db import get_engine, get_session
from common.users import upsert_user
from tests.services import Process, free_port, start_web

BENCH_USER, BENCH_PASSWORD = "bench", "bench-password-123"


def load_more_url(cid: int, shown: int) -> str:
    """The URL the Load more button requests after `shown` rows: offset plus the keyset cursor."""
    from sqlalchemy import text

    from web.dashboard.queries import JourneyCursor

    with get_session() as session:
        row = session.execute(
            text(
                "SELECT first_seen, email, domain FROM journeys WHERE campaign_id = :c "
                "ORDER BY first_seen DESC, email, domain OFFSET :n LIMIT 1"
            ),
            {"c": cid, "n": shown - 1},
        ).one()
    return f"/campaign/{cid}/users?offset={shown}&after={JourneyCursor(*row).encode()}"


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).date().isoformat()


# A URL no page links to ("Load more" carries a cursor): shows what the cursor saves, not a goal of its own.
_NOT_A_TARGET = "bare ?offset=100000 (no cursor)"


def targets(cid: int, domain: str, term: str, address: str) -> dict[str, str]:
    base = f"/campaign/{cid}"
    return {
        "home": "/",
        "home table (fragment)": "/campaigns",
        "campaign page": base,
        "overall stats": f"{base}/stats",
        "stats by domain": f"{base}/domains",
        "journeys page 1": f"{base}/users",
        "load more after 1,000 rows": load_more_url(cid, 1_000),
        "load more after 100,000 rows": load_more_url(cid, 100_000),
        _NOT_A_TARGET: f"{base}/users?offset=100000",
        "domain filter": f"{base}/users?domain={domain}",
        "event filter (conversion)": f"{base}/users?event=conversion",
        "email search (rare)": f"{base}/users?q={term}",
        "email search (common)": f"{base}/users?q=gmail",
        "email search (full address)": f"{base}/users?q={address}",
        "domain + event + search": f"{base}/users?domain={domain}&event=landing_click&q=user1",
        "home, all traffic": "/?counts=all",
        "campaign page, all traffic": f"{base}?counts=all",
        "overall stats, all traffic": f"{base}/stats?counts=all",
        "stats by domain, all traffic": f"{base}/domains?counts=all",
        "journeys, all traffic": f"{base}/users?counts=all",
        "chart, all time": f"{base}/chart",
        "campaign page, today": f"{base}?range=today",
        "campaign page, 7 days": f"{base}?range=7d",
        "overall stats, 7 days": f"{base}/stats?range=7d",
        "overall stats, 30 days": f"{base}/stats?range=30d",
        "stats by domain, today": f"{base}/domains?range=today",
        "stats by domain, 30 days": f"{base}/domains?range=30d",
        "chart, today (per hour)": f"{base}/chart?range=today",
        "chart, 30 days (per day)": f"{base}/chart?range=30d",
        "journeys, 7 days": f"{base}/users?range=7d",
        "journeys, 30 days + event filter": f"{base}/users?range=30d&event=conversion",
        "journeys, 7 days + domain filter": f"{base}/users?range=7d&domain={domain}",
        "journeys, custom week + search": f"{base}/users?range=custom&from={_days_ago(14)}&to={_days_ago(8)}&q=gmail",
        "archived campaigns": "/?archived=1",
        "home, sorted by ROI": "/?sort=roi&dir=desc",
        "home table, sorted by ROI": "/campaigns?sort=roi&dir=desc",
        "home table, by revenue, 2nd page": "/campaigns?sort=revenue&dir=desc&page=2",
        "home, 30 days, by ROI": "/?range=30d&sort=roi&dir=desc",
        "home table, 7 days, by profit": "/campaigns?range=7d&sort=profit&dir=asc",
        "home table, all traffic, by EPC": "/campaigns?counts=all&sort=epc&dir=desc",
        "home table, search": "/campaigns?q=campaign+01",
        # The Reports tab (report_stats): a 30-day range reads 30 days of one dimension's rows.
        "report by country, 30 days": f"{base}/reports?by=country&range=30d",
        "report by device, all time": f"{base}/reports?by=device",
        "report by utm_term (long tail), 30 days": f"{base}/reports?by=utm_term&range=30d",
        "report by browser, all traffic, by EPC": f"{base}/reports?by=browser&counts=all&sort=epc&dir=desc",
        "report by hour of day, 7 days": f"{base}/reports?by=hour&range=7d",
        "report CSV by utm_term, 30 days": f"{base}/reports.csv?by=utm_term&range=30d",
        "report drill-down: journeys of a country": f"{base}/users?by=country&value=US",
        "report drill-down: journeys of a rare keyword": f"{base}/users?by=utm_term&value=kw4999",
        # Pairs (report slots: `tracker generate --report` as above, or on a campaign generated without them
        # `bench/report_pairs.py backfill --campaign ID country,device utm_term,param:sub1` first; a pair not
        # reported on is a notice, which the run refuses to time).
        "report pair country then device, 30 days": f"{base}/reports?by=country&then=device&range=30d",
        "report pair utm_term then sub1 (capped), 30 days": f"{base}/reports?by=utm_term&then=param:sub1&range=30d",
        "report pair country then device, by then": f"{base}/reports?by=country&then=device&sort=then&dir=desc",
        "report pair CSV utm_term then sub1, 30 days": f"{base}/reports.csv?by=utm_term&then=param:sub1&range=30d",
        "report pair drill-down: US on mobile": f"{base}/users?by=country&value=US&then=device&then_value=mobile",
        # ~0.26 % of the generated recipients: listed and sorted (below the break-even, web/dashboard/drill_down.py)
        "report drill-down: journeys of a mid keyword": f"{base}/users?by=utm_term&value=kw20",
        # a sub-id (`param:sub1`, read from events unless the campaign's sub1 report is chosen and filled)
        "report drill-down: journeys of a sub-id": f"{base}/users?by=param:sub1&value=pub4321",
        "edit page": f"{base}/edit",
        "delete confirmation": f"{base}/delete",
        "webhook delivery log": f"{base}/webhook/deliveries",
    }


def add_campaigns(wanted: int) -> None:
    """Campaigns up to `wanted`, each a small generated one (100 recipients over 3 domains, 30 days), with a
    cost and a currency of its own (dollars, euros and pounds), so the home page has something to compare."""
    from common.campaigns import Money, create_campaign
    from common.db import connect
    from common.generate import Shape, analyze_tables, generate

    with get_session() as session:
        have = session.execute(__import__("sqlalchemy").text(
            "SELECT count(*) FROM campaigns WHERE deleted_at IS NULL AND archived_at IS NULL")).scalar() or 0
    missing = wanted - int(have)
    if missing <= 0:
        return
    print(f"adding {missing} campaigns so that the home page compares {wanted}")
    started = time.perf_counter()
    with connect() as conn:
        for n in range(missing):
            money = Money(("USD", "EUR", "GBP")[n % 3], f"{50 + n % 200}", f"0.0{n % 10}")
            with get_session() as session:
                cid = create_campaign(session=session, name=f"Bench campaign {n:04d}",
                                      offer_url="https://offer.example.com/", money=money).id
            generate(conn, campaign_id=cid, shape=Shape(events=1_000, users=100, domains=3), chunk_users=100,
                     analyze=False, timezone=get_settings().dashboard_timezone,
                     max_values=get_settings().report_max_values)
        analyze_tables(conn)  # all of them: report_stats' stale statistics cost a long-tail report 296 ms
    print(f"  took {time.perf_counter() - started:.0f} s")


def _memory_kb(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def export(client: httpx.Client, cid: int, domain: str, pid: int | None) -> None:
    """Download each CSV export once, whole: time to the first byte, total time, lines, and the server's
    memory (its peak only grows if a download is held in memory instead of streamed)."""
    print(f"{'export':32} {'first ms':>8} {'total s':>8} {'lines':>10} {'MB':>7} {'rss MB':>7} {'peak MB':>7}")
    base = f"/campaign/{cid}/export"
    for name, path in (("journeys.csv, one domain", f"{base}/journeys.csv?domain={domain}"),
                       ("journeys.csv, all", f"{base}/journeys.csv"),
                       ("events.csv, one domain", f"{base}/events.csv?domain={domain}"),
                       ("events.csv, all", f"{base}/events.csv")):
        started, first, lines, size = time.perf_counter(), 0.0, 0, 0
        with client.stream("GET", path, headers={"Accept-Encoding": "identity"}) as r:
            assert r.status_code == 200, f"{path}: {r.status_code}"
            for chunk in r.iter_bytes():
                if not first:
                    first = time.perf_counter() - started
                lines += chunk.count(b"\n")
                size += len(chunk)
        total = time.perf_counter() - started
        rss = f"{_memory_kb(pid, 'VmRSS') / 1024:7.0f} {_memory_kb(pid, 'VmHWM') / 1024:7.0f}" if pid else ""
        print(f"{name:32} {first * 1000:8.1f} {total:8.1f} {lines:10,} {size / 2**20:7.0f} {rss}")


def sign_in(client: httpx.Client) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    r = client.post(
        "/login",
        data={"username": BENCH_USER, "password": BENCH_PASSWORD, "csrf_token": token.group(1), "next": "/"},
    )
    assert r.status_code == 303, f"sign-in failed: {r.status_code}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextmanager
def server(base_url: str | None) -> Iterator[tuple[str, int | None]]:
    """The base URL, and the pid of the server when this script started it."""
    if base_url:
        yield base_url, None
        return
    import os

    proc: Process
    proc, url = start_web(dict(os.environ), port=free_port())
    try:
        yield url, proc.pid
    finally:
        proc.stop()


def explain(cid: int, path: str, client: httpx.Client) -> None:
    """Capture the SQL one request runs (through an in-process app) and EXPLAIN ANALYZE each statement."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    captured: list[tuple[str, object]] = []

    def capture(conn: object, cursor: object, statement: str, parameters: object, *_: object) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):  # the reports read through CTEs
            captured.append((statement, parameters))

    engine = get_engine()
    event.listen(Engine, "before_cursor_execute", capture)  # every engine: the app builds its own (common/db.py)
    try:
        from fastapi.testclient import TestClient

        from web.main import app

        with TestClient(app) as local:
            for cookie in client.cookies.jar:  # the same session, without the original host's domain
                local.cookies.set(cookie.name, cookie.value or "")
            assert local.get(path).status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
    with engine.connect() as conn:
        for statement, params in captured:
            if "FROM sessions" in statement or "FROM users" in statement:
                continue  # the sign-in check: a primary-key lookup on every request
            plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", params).fetchall()  # type: ignore[arg-type]
            print(f"    -- {' '.join(statement.split())[:300]}")
            for (line,) in plan:
                print(f"       {line}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--campaign", type=int, required=True)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--base-url")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--only", help="just the targets whose name contains this (e.g. report)")
    parser.add_argument("--export", action="store_true", help="also download each CSV export once, whole")
    parser.add_argument("--campaigns", type=int, default=1000,
                        help="make sure the home page compares this many campaigns (adds small ones)")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    add_campaigns(args.campaigns)

    with get_session() as session:
        upsert_user(session=session, username=BENCH_USER, password=BENCH_PASSWORD)
        row = session.execute(
            __import__("sqlalchemy").text(
                "SELECT domain FROM domain_stats WHERE campaign_id = :c ORDER BY domain LIMIT 1"
            ),
            {"c": args.campaign},
        )
        domain = row.scalar() or "example.com"
        journeys = session.execute(
            __import__("sqlalchemy").text("SELECT sum(users) FROM domain_stats WHERE campaign_id = :c"),
            {"c": args.campaign},
        ).scalar()
        # One recipient's whole address, as a marketer would paste it (the primary key's order: no sort).
        address = session.execute(
            __import__("sqlalchemy").text(
                "SELECT email FROM journeys WHERE campaign_id = :c ORDER BY campaign_id, email LIMIT 1 OFFSET 12345"
            ),
            {"c": args.campaign},
        ).scalar() or "someone@example.com"
    print(f"campaign {args.campaign}: {int(journeys or 0):,} recipients; {args.requests} requests per target")
    print(f"{'target':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'KB':>6}")
    worst = 0.0
    with server(args.base_url) as (url, pid), httpx.Client(base_url=url, timeout=60) as client:
        sign_in(client)
        for name, path in targets(args.campaign, domain, "user12345@", address).items():
            if args.only and args.only not in name:
                continue
            client.get(path)  # warm-up: connections, template compilation
            times, size = [], 0
            for _ in range(args.requests):
                started = time.perf_counter()
                r = client.get(
                    path, headers={"HX-Request": "true"} if "/users" in path or path.count("/") > 2 else {}
                )
                times.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200, f"{path}: {r.status_code}"
                assert b'id="report-pair-missing"' not in r.content, f"{path}: the campaign does not report on it"
                size = len(r.content)
            p95 = percentile(times, 95)
            if name != _NOT_A_TARGET:
                worst = max(worst, p95)
            print(
                f"{name:32} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f} {size / 1024:6.1f}"
            )
            if args.explain:
                explain(args.campaign, path, client)
        print(f"worst p95 {worst:.1f} ms (of the targets; not counting the {_NOT_A_TARGET!r} reference)")
        if args.export:
            export(client, args.campaign, domain, pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
