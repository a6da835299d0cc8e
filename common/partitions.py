"""Events partitioned by month: the months, and retention by detaching them (bench/retention_scale.py).

The partitioned table's primary key is (id, created_at): Postgres wants the partition key in every unique
index. Idempotency still holds because an event's created_at is set once by the web tier (`received_at`) and
travels with its id in every redelivery of its batch, so a repeated (id, created_at) is a repeated event.

Retention then empties a month wholly past its cutoff batch by batch, with the statement that keeps the
rollups exact (common/retention.py), its events found by the partition's primary key, and drops the emptied
partition: detached CONCURRENTLY (ingest is not blocked), then dropped.
"""

import re
from datetime import date, datetime

from common.db import Conn

# Partitions kept ready past the current month (the daily job in worker/tasks.py creates them): an event
# whose month has no partition would fail its whole batch.
MONTHS_AHEAD = 2
_NAME = re.compile(r"^events_(\d{4})_(\d{2})$")


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_name(month: date) -> str:
    return f"events_{month.year:04d}_{month.month:02d}"


def month_of(name: str) -> date | None:
    found = _NAME.match(name)
    return date(int(found[1]), int(found[2]), 1) if found else None


def create_months(conn: Conn, first: date, last: date, *, parent: str = "events") -> list[str]:
    """Create the monthly partitions of `parent` from `first`'s month to `last`'s; returns those created."""
    created, month = [], month_start(first)
    while month <= last:
        name = month_name(month)
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
        if exists and not exists[0]:
            conn.execute(f"CREATE TABLE {name} PARTITION OF {parent} "
                         f"FOR VALUES FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')")
            created.append(name)
        month = next_month(month)
    return created


def create_months_ahead(conn: Conn, ahead: int) -> list[str]:
    """This month's partition and the next `ahead` months', those missing (the server's date decides)."""
    row = conn.execute("SELECT current_date").fetchone()
    assert row is not None
    last = month_start(row[0])
    for _ in range(ahead):
        last = next_month(last)
    return create_months(conn, row[0], last)


def attached_months(conn: Conn, parent: str = "events") -> list[date]:
    """The months that have a partition of `parent`, oldest first."""
    rows = conn.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "WHERE i.inhparent = to_regclass(%s)", (parent,)).fetchall()
    return sorted(m for (name,) in rows if (m := month_of(name)) is not None)


def months_before(conn: Conn, cutoff: datetime) -> list[str]:
    """The partitions of months that end at or before `cutoff`, oldest first, and any month detached but not
    yet dropped (an interrupted drop_month)."""
    past = [month_name(m) for m in attached_months(conn)
            if datetime.combine(next_month(m), datetime.min.time()) <= cutoff]
    rows = conn.execute("""SELECT c.relname FROM pg_class c
        WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace AND c.relname ~ '^events_\\d{4}_\\d{2}$'
          AND NOT c.relispartition""").fetchall()
    return sorted({*past, *(name for (name,) in rows)})


def drop_month(conn: Conn, name: str) -> None:
    """Drop the emptied partition `name`: detached CONCURRENTLY (ingest is not blocked; `conn` must be in
    autocommit), then dropped. Resumes a detach or a drop that was interrupted."""
    state = conn.execute("SELECT i.inhdetachpending FROM pg_inherits i WHERE i.inhrelid = to_regclass(%s)",
                         (name,)).fetchone()
    if state is not None:
        how = "FINALIZE" if state[0] else "CONCURRENTLY"
        conn.execute(f"ALTER TABLE events DETACH PARTITION {name} {how}")
    conn.execute(f"DROP TABLE IF EXISTS {name}")


def is_partitioned(conn: Conn) -> bool:
    row = conn.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = 'events'::regclass").fetchone()
    return bool(row and row[0])
