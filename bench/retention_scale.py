"""Retention at scale: drop the oldest ~30 % of a 10 M-event database two ways, under a steady ingest load.

  delete      today's retention (common/retention.py: batches of RETENTION_BATCH_SIZE deleted from `events`,
              each found through the BRIN index in the window of the oldest hours hourly_stats says hold a
              batch, and folded out of the rollups), then the VACUUM it leaves owing
  partitions  `events` partitioned by month (common/partitions.py): the old months detached CONCURRENTLY,
              their rows folded out of the rollups in the same batches, the emptied tables dropped

Each arm runs on its own copy of the base database (CREATE DATABASE ... TEMPLATE), back to back (or, with
--side-by-side, at the same time: each prepares its copy, then both retentions start together), with the
stack (`honcho start web worker`, as bench/ingest.sh) taking a steady load of email clicks for the same
campaign, so ingest contends for the same rollup rows. Recorded per arm: elapsed time, WAL written (the
cluster's pg_current_wal_lsn: other activity on the server counts too, so the WAL of a baseline window with
the load alone is printed next to it, and one batch's own WAL, from EXPLAIN (ANALYZE, WAL), times the
batches), deadlocks the server counted in the arm's database, table and index sizes and bloat afterwards (pgstattuple), ingest
latency p50/p99/max and answered rate before and during retention, the deepest queue seen and the drain time.
The cutoff is the month boundary nearest the wanted share, the same for both arms, so both drop the same rows.

Base database: `tracker generate --events 10000000 --users 1000000 --domains 20 --days 300` into an empty
database migrated to head (300 days: monthly partitions need several months to drop); migrate it again
after a pull that adds migrations. Usage:
  DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
    python bench/retention_scale.py --base tracker_retention_base [--arms delete,partitions] [--rate 100] \\
      [--prepare | --side-by-side] [--budget 3600]
(`honcho`, `uvicorn` and `celery` on PATH: the venv's bin.)
"""

import argparse
import asyncio
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.synchronize import Event as StopFlag
from typing import Any

import httpx
import psycopg

from common import reports, retention
from common.config import Settings
from common.partitions import months_before
from common.queue import make_celery, queue_depth
from common.repartition import partition_events
from common.retention import month_deletion, retention_batch

SERVER = "postgresql://postgres@127.0.0.1:5432"


def _dsn(db: str) -> str:
    return f"{SERVER}/{db}"


def _admin(sql: str) -> None:
    with psycopg.connect(_dsn("postgres"), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _wal(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
    return int(row[0]) if row else 0


def pick_cutoff(base: str, share: float) -> datetime:
    """The month boundary before which the share of events is nearest `share`."""
    with psycopg.connect(_dsn(base)) as conn:
        rows = conn.execute("SELECT date_trunc('month', created_at)::date, count(*) FROM events GROUP BY 1 ORDER BY 1"
                            ).fetchall()
    total, before, shares = sum(n for _, n in rows), 0, []
    for month, n in rows:
        shares.append((abs(before / total - share), month))
        before += n
    return datetime.combine(min(shares)[1], datetime.min.time())


# The generator writes recipient after recipient, each with events at random times over `--days`, so its
# events lie in random time order on disk and their ids too, where ingest writes them in time order: the BRIN
# index that today's retention relies on would then match every block. The base is rewritten once in time
# order, ids renumbered the same way, as a tracker that had received them would hold them.
_PREPARE = [
    "SET work_mem = '512MB'",
    "SET maintenance_work_mem = '1GB'",
    "CREATE TABLE events_by_time AS SELECT (row_number() OVER (ORDER BY created_at, id))::bigint AS id, "
    "campaign_id, event_type, email, domain, ip, user_agent, extra_params, created_at, payout "
    "FROM events ORDER BY created_at, id",
    "ALTER TABLE events DROP CONSTRAINT pk_events",
    "DROP INDEX idx_events_campaign, idx_events_email, idx_events_domain, ix_events_created_at_brin",
    "TRUNCATE events",
    "INSERT INTO events SELECT * FROM events_by_time ORDER BY id",
    "DROP TABLE events_by_time",
    "ALTER TABLE events ADD CONSTRAINT pk_events PRIMARY KEY (id)",
    "CREATE INDEX idx_events_campaign ON events (campaign_id)",
    "CREATE INDEX idx_events_email ON events (email)",
    "CREATE INDEX idx_events_domain ON events (domain)",
    "CREATE INDEX ix_events_created_at_brin ON events USING brin (created_at) WITH (pages_per_range = 32)",
    "SELECT setval('events_id_seq', (SELECT max(id) FROM events))",
]


def prepare(base: str) -> None:
    with psycopg.connect(_dsn(base), autocommit=True) as conn:
        with conn.transaction():
            for sql in _PREPARE:
                t = time.monotonic()
                conn.execute(sql)  # type: ignore[arg-type]
                print(f"{time.monotonic() - t:6.0f} s  {sql[:90]}")
        conn.execute("VACUUM (ANALYZE)")


# --- the load: steady email clicks, every answer's latency recorded ---------------------------------------


def _load(url: str, cid: int, rate: float, stop: StopFlag, out: "mp.Queue[list[tuple[float, float, bool]]]") -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not main()'s handler: the parent stops it with `stop`

    async def run() -> list[tuple[float, float, bool]]:
        samples: list[tuple[float, float, bool]] = []  # (sent at, seconds, ok)
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            async def one(n: int) -> None:
                sent = time.monotonic()
                try:
                    r = await client.get("/api/event", params={
                        "cid": cid, "event": "email_click", "email": f"load{n}@gmail.com",
                        "domain": f"mail{n % 20}.sender-example.com"})
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                samples.append((sent, time.monotonic() - sent, ok))

            tasks, n, start = set(), 0, time.monotonic()
            while not stop.is_set():
                n += 1
                task = asyncio.create_task(one(n))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            await asyncio.gather(*tasks)
        return samples

    out.put(asyncio.run(run()))


def _latency(samples: list[tuple[float, float, bool]], since: float, until: float) -> str:
    window = [s for s in samples if since <= s[0] < until]
    if not window:
        return "no requests"
    lat = sorted(s[1] * 1000 for s in window)
    ok = sum(1 for s in window if s[2])
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return (f"{ok / (until - since):7.1f} ok/s ({ok}/{len(window)} ok)  p50 {statistics.median(lat):6.1f} ms  "
            f"p99 {p99:7.1f} ms  max {lat[-1]:7.1f} ms")


@contextmanager
def stack(db: str) -> Iterator[tuple[str, Settings]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tag = f"retention_bench_{os.getpid()}"
    env = {**os.environ, "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}", "PORT": str(port),
           "WEB_WORKERS": "1", "ENVIRONMENT": "development", "INGEST_QUEUE": tag, "MAINTENANCE_QUEUE": tag + "_m"}
    proc = subprocess.Popen(["honcho", "start", "web", "worker"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        time.sleep(3)  # the worker's own start-up
        yield url, Settings(database_url=env["DATABASE_URL"], ingest_queue=tag)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)


def _sizes(conn: psycopg.Connection[Any]) -> list[str]:
    """Table, index and free/dead space of `events` (all its partitions) and of journeys."""
    out = []
    found = conn.execute("SELECT coalesce((SELECT array_agg(inhrelid::regclass::text) FROM pg_inherits "
                         "WHERE inhparent = 'events'::regclass), ARRAY['events'])").fetchone()
    assert found is not None
    parts: list[str] = found[0]
    heap = idx = free = dead = 0
    for part in parts:
        row = conn.execute("SELECT table_len, dead_tuple_len, free_space FROM pgstattuple(%s)", (part,)).fetchone()
        assert row is not None
        heap += row[0]
        dead += row[1]
        free += row[2]
        idx += conn.execute("SELECT pg_indexes_size(%s)", (part,)).fetchone()[0]  # type: ignore[index]
    out.append(f"events heap {heap / 2**20:8.0f} MiB (dead tuples {dead / 2**20:.0f} MiB, free {free / 2**20:.0f} "
               f"MiB = {100 * (dead + free) / max(heap, 1):.0f} % reusable-not-returned); indexes "
               f"{idx / 2**20:.0f} MiB over {len(parts)} table(s)")
    # The primary key and the email index of the table (or of the oldest month kept, whose neighbours went).
    kept = [p for p in sorted(parts) if conn.execute(f"SELECT EXISTS (SELECT FROM {p})").fetchone() == (True,)]
    for cond in ("i.indisprimary", "pg_get_indexdef(i.indexrelid) LIKE '%%(email)'"):
        for (name,) in conn.execute(f"SELECT i.indexrelid::regclass::text FROM pg_index i WHERE i.indrelid = "
                                    f"%s::regclass AND {cond}", (kept[0],)).fetchall():
            st = conn.execute("SELECT index_size, avg_leaf_density, leaf_fragmentation FROM pgstatindex(%s)",
                              (name,)).fetchone()
            assert st is not None
            out.append(f"{name}: {st[0] / 2**20:.0f} MiB, leaf density {st[1]:.0f} %, fragmentation {st[2]:.0f} %")
    j = conn.execute("SELECT pg_total_relation_size('journeys'), pg_total_relation_size('hourly_stats')").fetchone()
    assert j is not None
    out.append(f"journeys {j[0] / 2**20:.0f} MiB, hourly_stats {j[1] / 2**20:.0f} MiB (with indexes)")
    return out


def _check(conn: psycopg.Connection[Any], cid: int) -> str:
    """Cheap exactness: the event counters of domain_stats against a count of `events`, the recipients against
    the journeys."""
    stats = conn.execute("SELECT sum(email_clicks + landing_clicks + conversions), sum(users) FROM domain_stats "
                         "WHERE campaign_id = %s", (cid,)).fetchone()
    events = conn.execute("SELECT count(*) FROM events WHERE campaign_id = %s", (cid,)).fetchone()
    users = conn.execute("SELECT count(*) FROM journeys WHERE campaign_id = %s", (cid,)).fetchone()
    assert stats and events and users
    ok = stats[0] == events[0] and stats[1] == users[0]
    return f"{'OK' if ok else 'MISMATCH'}: events {events[0]:,} (rollups {stats[0]:,}), recipients {users[0]:,} (rollups {stats[1]:,})"


_DEADLOCKS = [0]  # retention batches run again after a deadlock (none since the lock order was fixed)


def _server_deadlocks(conn: psycopg.Connection[Any]) -> int:
    """Deadlocks the server counted in this database, retention's and ingest's alike (ingest's are retried by
    the worker, so they show only as latency)."""
    conn.execute("SELECT pg_stat_clear_snapshot()")
    row = conn.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def _sample(conn: psycopg.Connection[Any], deletion: Any, params: dict[str, Any]) -> tuple[str, int]:
    """One whole batch (finding it, then forget, the journeys' lock and the delete-and-subtract statement,
    each under EXPLAIN ANALYZE), rolled back: its WAL is its own (nothing else on the server counts), where
    the server-wide LSN counts the other arm and other engineers' runs too. Full-page images depend on when
    the last checkpoint was (max_wal_size, checkpoint_timeout)."""
    while True:
        try:
            with conn.transaction(force_rollback=True):
                t = time.monotonic()
                ids = deletion.find(conn, params)
                found = time.monotonic() - t
                reports.lock(conn)
                plans = [conn.execute("EXPLAIN (ANALYZE, WAL, BUFFERS, FORMAT JSON) " + sql,
                                      {**params, "ids": ids, "cap": 0}).fetchone()[0][0]  # type: ignore[index]
                         for sql in (reports._forget(deletion.table), retention._lock_journeys(deletion.table),
                                     retention._delete_batch(deletion.table))]
            break
        except psycopg.errors.DeadlockDetected:
            _DEADLOCKS[0] += 1
    ms = [p["Execution Time"] for p in plans]
    wal = sum(p["Plan"]["WAL Bytes"] for p in plans)
    return (f"one batch alone ({len(ids):,} events): finding it {1000 * found:.0f} ms; forget {ms[0]:.0f} ms, lock "
            f"{ms[1]:.0f} ms, delete {ms[2]:.0f} ms; WAL {wal / 2**20:.1f} MiB "
            f"({sum(p['Plan']['WAL Records'] for p in plans):,} records, "
            f"{sum(p['Plan']['WAL FPI'] for p in plans):,} full-page images)"), wal


def _retrying(batch: Callable[[], int]) -> int:
    """A batch that deadlocked with ingest is run again, as the worker's retention task does at its next run;
    the count is printed."""
    while True:
        try:
            return batch()
        except psycopg.errors.DeadlockDetected:
            _DEADLOCKS[0] += 1


def _retention(arm: str, conn: psycopg.Connection[Any], cutoff: datetime, batch: int, tick: Callable[[], None],
               budget: float, say: Callable[[str], None]) -> tuple[int, int]:
    """Either arm's retention (common/retention.py's retention_batch: the one-table job, or whole months first)
    to the end or for `budget` seconds; progress every minute. Returns the events deleted and the WAL one batch
    of it writes alone (sampled at the start)."""
    params = {"cutoff": cutoff, "batch": batch, "tz": "UTC"}
    deletion = retention._RETENTION if arm == "delete" else month_deletion(months_before(conn, cutoff)[0])
    line, batch_wal = _sample(conn, deletion, params)
    say("sample         " + line)
    total, batches, start, said = 0, 0, time.monotonic(), time.monotonic()
    more = [True]

    def one() -> int:
        n, more[0] = retention_batch(conn, cutoff=cutoff, batch=batch, timezone="UTC")
        return n

    while more[0]:
        total += _retrying(one)
        batches += 1
        tick()
        now = time.monotonic()
        if now - said > 60:
            said = now
            say(f"progress       {now - start:5.0f} s: {total:,} events in {batches} batches "
                f"({total / (now - start):,.0f}/s), load {os.getloadavg()[0]:.1f}")
        if now - start > budget:
            break
    return total, batch_wal


def run_arm(arm: str, base: str, cutoff: datetime, rate: float, batch: int, warmup: float, budget: float,
            ready: Any = None, existing: str = "") -> None:
    """One arm on its own copy of `base`. With `ready` (a Barrier), the arms run side by side: each waits for
    the other to finish its own preparation (the delete arm rewrites its copy in time order, the partitions
    arm converts its copy), so that both retentions run under the same load. With `existing`, the arm carries
    on in that database (an earlier run's copy, prepared, left where it stopped) and leaves it."""
    db = existing or f"retention_bench_{arm}_{os.getpid()}"

    def say(text: str) -> None:
        print(f"[{arm:10}] {datetime.now(UTC):%H:%M:%S} {text}", flush=True)

    if not existing:
        _admin(f"DROP DATABASE IF EXISTS {db}")
        t = time.monotonic()
        _admin(f"CREATE DATABASE {db} TEMPLATE {base} STRATEGY FILE_COPY")  # not 6 GB of WAL
        say(f"copied {base} in {time.monotonic() - t:.0f} s; cutoff {cutoff:%Y-%m-%d}")
    try:
        if arm == "delete" and ready is not None and not existing:
            t = time.monotonic()
            prepare(db)
            say(f"rewritten in time order (--prepare) in {time.monotonic() - t:.0f} s")
        with psycopg.connect(_dsn(db), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
            cid = conn.execute("SELECT min(id) FROM campaigns").fetchone()[0]  # type: ignore[index]
            if arm == "partitions" and not existing:
                t, w = time.monotonic(), _wal(conn)
                partition_events(conn, ahead=2, progress=lambda done, total: None)
                conn.execute("ANALYZE events")
                say(f"converted to monthly partitions in {time.monotonic() - t:.0f} s, WAL "
                    f"{(_wal(conn) - w) / 2**20:.0f} MiB server-wide (the migration's cost, once)")
            before = conn.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
            old = conn.execute("SELECT count(*) FROM events WHERE created_at < %s", (cutoff,)).fetchone()[0]  # type: ignore[index]
            say(f"events {before:,}; older than the cutoff {old:,}")
            if ready is not None:
                ready.wait()
            with stack(db) as (url, settings):
                celery = make_celery(settings)
                stop, out = mp.Event(), mp.Queue()  # type: ignore[var-annotated]
                loader = mp.Process(target=_load, args=(url, cid, rate, stop, out), daemon=True)
                deepest = [0]

                def tick() -> None:
                    deepest[0] = max(deepest[0], queue_depth(celery, settings))

                loader.start()
                t0, w0 = time.monotonic(), _wal(conn)
                time.sleep(warmup)
                t1, w1, d1 = time.monotonic(), _wal(conn), _server_deadlocks(conn)
                say(f"retention starts, load {os.getloadavg()[0]:.1f}")
                deleted, batch_wal = _retention(arm, conn, cutoff, batch, tick, budget, say)
                t2, w2 = time.monotonic(), _wal(conn)
                stop.set()
                samples = out.get()
                loader.join()
                while queue_depth(celery, settings):
                    time.sleep(0.1)
                t3 = time.monotonic()
            background = (w1 - w0) / (t1 - t0)  # the load's and the rest of the server's, per second
            say(f"retention: {deleted:,} events in {t2 - t1:.1f} s ({deleted / (t2 - t1):,.0f}/s), load "
                f"{os.getloadavg()[0]:.1f}; its own WAL ~{deleted / batch * batch_wal / 2**30:.2f} GiB (the sampled "
                f"batch x {deleted / batch:.0f}); server-wide {(w2 - w1) / 2**20:,.0f} MiB, "
                f"{(w2 - w1 - background * (t2 - t1)) / 2**20:,.0f} MiB above the {background / 2**20:.1f} MiB/s "
                "written before it started")
            if deleted < old:
                say(f"stopped at the budget: {deleted:,} of {old:,} events; all of them at this rate: "
                    f"{old / deleted * (t2 - t1) / 60:.0f} min")
            say(f"ingest before  {_latency(samples, t0 + 2, t1)}")
            say(f"ingest during  {_latency(samples, t1, t2)}")
            say(f"deadlocks: {_server_deadlocks(conn) - d1} on the server during retention; "
                f"retention batches run again: {_DEADLOCKS[0]}")
            say(f"queue: deepest {deepest[0]} batches during retention; drained {t3 - t2:.1f} s after it ended")
            for line in _sizes(conn):
                say("after          " + line)
            if arm == "delete":
                t, w = time.monotonic(), _wal(conn)
                conn.execute("VACUUM events")
                say(f"VACUUM events  {time.monotonic() - t:.0f} s, WAL {(_wal(conn) - w) / 2**20:.0f} MiB server-wide "
                    "(owed by the deletes; autovacuum would run it)")
                for line in _sizes(conn):
                    say("after vacuum   " + line)
            say("check          " + _check(conn, cid))
    finally:
        if not existing:
            _admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def samples(base: str, cutoff: datetime, batch: int) -> None:
    """Without the stack: one batch of each arm under EXPLAIN (ANALYZE, WAL), on one copy (converted between
    the two), and the time to find it."""
    db = f"retention_bench_samples_{os.getpid()}"
    _admin(f"CREATE DATABASE {db} TEMPLATE {base} STRATEGY FILE_COPY")
    try:
        with psycopg.connect(_dsn(db), autocommit=True) as conn:
            params = {"cutoff": cutoff, "batch": batch, "tz": "UTC"}
            for arm in ("delete", "partitions"):
                if arm == "partitions":
                    t = time.monotonic()
                    partition_events(conn, ahead=2, progress=lambda done, total: None)
                    conn.execute("ANALYZE events")
                    print(f"converted to monthly partitions in {time.monotonic() - t:.0f} s")
                deletion = retention._RETENTION if arm == "delete" else month_deletion(months_before(conn, cutoff)[0])
                print(f"{arm:10} {_sample(conn, deletion, params)[0]}")
    finally:
        _admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="tracker_retention_base")
    parser.add_argument("--arms", default="delete,partitions")
    parser.add_argument("--share", type=float, default=0.3, help="share of events to drop (%(default)s)")
    parser.add_argument("--rate", type=float, default=100.0, help="ingest requests a second (%(default)s)")
    parser.add_argument("--batch", type=int, default=5000, help="RETENTION_BATCH_SIZE (%(default)s)")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds of load before retention starts")
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds either retention may run (%(default)s)")
    parser.add_argument("--side-by-side", action="store_true",
                        help="run the arms at once, each preparing its own copy (the delete arm rewrites it in "
                             "time order: the base need not be prepared), then both retentions together")
    parser.add_argument("--databases", default="", help="arm=database,...: carry on in copies an earlier run left")
    parser.add_argument("--samples", action="store_true", help="only one batch of each arm, without the stack")
    parser.add_argument("--prepare", action="store_true", help="rewrite the base in time order first (once)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the finally blocks stop the stack, drop the copies
    if args.prepare:
        prepare(args.base)
    cutoff = pick_cutoff(args.base, args.share)
    with psycopg.connect(_dsn(args.base)) as conn:
        row = conn.execute("SELECT count(*), count(*) FILTER (WHERE created_at < %s) FROM events", (cutoff,)).fetchone()
    assert row is not None
    print(f"machine {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"{row[0]:,} events, {row[1]:,} ({100 * row[1] / row[0]:.1f} %) before {cutoff:%Y-%m-%d}; "
          f"load {args.rate:.0f} email clicks/s; batches of {args.batch}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    if args.samples:
        samples(args.base, cutoff, args.batch)
        return
    arms = [arm for arm in args.arms.split(",") if arm]
    existing = dict(pair.split("=", 1) for pair in args.databases.split(",") if pair)
    if not args.side_by_side:
        for arm in arms:
            run_arm(arm, args.base, cutoff, args.rate, args.batch, args.warmup, args.budget,
                    existing=existing.get(arm, ""))
        return
    ready = mp.Barrier(len(arms))
    procs = [mp.Process(target=run_arm, args=(arm, args.base, cutoff, args.rate, args.batch, args.warmup, args.budget,
                                              ready, existing.get(arm, ""))) for arm in arms]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()


if __name__ == "__main__":
    main()
