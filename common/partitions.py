"""Events partitioned by month (measured against batched deletes in bench/retention_scale.py; not wired in).

The partitioned table's primary key is (id, created_at): Postgres wants the partition key in every unique
index. Idempotency still holds because an event's created_at is set once by the web tier (`received_at`) and
travels with its id in every redelivery of its batch, so a repeated (id, created_at) is a repeated event.

Retention then takes a month out whole: the partition is detached (CONCURRENTLY, so ingest is not blocked),
which leaves it as a plain table named events_YYYY_MM that is no longer part of `events`. Its rows are then
taken out of the rollups a batch at a time (common/retention.py) and the empty table is dropped. A detached
month is thus the record of the subtraction still owed: an interrupted run resumes from it.
"""

import re
from collections.abc import Callable
from datetime import date, datetime

from common.db import Conn

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


def attached_months(conn: Conn, parent: str = "events") -> list[date]:
    """The months that have a partition of `parent`, oldest first."""
    rows = conn.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "WHERE i.inhparent = to_regclass(%s)", (parent,)).fetchall()
    return sorted(m for (name,) in rows if (m := month_of(name)) is not None)


def retired_tables(conn: Conn) -> list[str]:
    """Detached months whose rows are still owed to the rollups (tables events_YYYY_MM in no partition tree)."""
    rows = conn.execute("""SELECT c.relname FROM pg_class c
        WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace AND c.relname ~ '^events_\\d{4}_\\d{2}$'
          AND NOT c.relispartition ORDER BY c.relname""").fetchall()
    return [name for (name,) in rows]


def detach_before(conn: Conn, cutoff: datetime) -> list[str]:
    """Detach every month that ends at or before `cutoff`. `conn` must be in autocommit: DETACH ... CONCURRENTLY
    waits for the transactions that use `events` instead of locking them out. A detach interrupted half-way is
    finished (FINALIZE) first."""
    pending = conn.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                           "WHERE i.inhparent = 'events'::regclass AND i.inhdetachpending").fetchall()
    for (name,) in pending:
        conn.execute(f"ALTER TABLE events DETACH PARTITION {name} FINALIZE")
    detached = []
    for month in attached_months(conn):
        if datetime.combine(next_month(month), datetime.min.time()) <= cutoff:
            conn.execute(f"ALTER TABLE events DETACH PARTITION {month_name(month)} CONCURRENTLY")
            detached.append(month_name(month))
    return [name for (name,) in pending] + detached


_TWIN = "events_partitioned"
# The twin's keys and indexes: those of `events` (models.Event, migration 0003's BRIN aside: partitions are
# what retention uses), the primary key widened by the partition key.
_TWIN_DDL = [
    f"CREATE TABLE {_TWIN} (LIKE events INCLUDING DEFAULTS) PARTITION BY RANGE (created_at)",
    f"ALTER TABLE {_TWIN} ADD CONSTRAINT pk_{_TWIN} PRIMARY KEY (id, created_at)",
    f"ALTER TABLE {_TWIN} ADD CONSTRAINT fk_{_TWIN}_campaign_id_campaigns FOREIGN KEY (campaign_id) "
    "REFERENCES campaigns (id) ON DELETE CASCADE",
    f"CREATE INDEX idx_{_TWIN}_campaign ON {_TWIN} (campaign_id)",
    f"CREATE INDEX idx_{_TWIN}_email ON {_TWIN} (email)",
    f"CREATE INDEX idx_{_TWIN}_domain ON {_TWIN} (domain)",
]


def is_partitioned(conn: Conn) -> bool:
    row = conn.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = 'events'::regclass").fetchone()
    return bool(row and row[0])


def partition_events(conn: Conn, *, ahead: int, progress: Callable[[int, int], None], batch: int = 200_000) -> int:
    """Copy `events` into a twin partitioned by month (months from the oldest event to `ahead` months past
    today), a range of ids at a time, then swap the two in one transaction that first copies the rest under
    a lock. `conn` autocommits: each range is its own transaction. Returns the events copied.

    Measurement only (bench/retention_scale.py): an event stored after its id range was copied (ids are
    allocated in blocks, so late ones are lower than the highest copied) is only caught by the final copy if
    its id is above the last range; a live install needs a catch-up by created_at first.
    """
    if is_partitioned(conn):
        return 0
    row = conn.execute("SELECT min(created_at), coalesce(max(id), 0) FROM events").fetchone()
    assert row is not None
    oldest, last_id = row[0] or datetime.now(), int(row[1])
    if conn.execute("SELECT to_regclass(%s)", (_TWIN,)).fetchone() == (None,):
        with conn.transaction():
            for ddl in _TWIN_DDL:
                conn.execute(ddl)
            today = datetime.now().date()
            end = today
            for _ in range(ahead):
                end = next_month(end)
            create_months(conn, oldest.date(), end, parent=_TWIN)
    copied = conn.execute(f"SELECT coalesce(max(id), 0) FROM {_TWIN}").fetchone()
    done = int(copied[0]) if copied else 0
    copy = f"INSERT INTO {_TWIN} SELECT * FROM events WHERE id > %s AND id <= %s"
    total = 0
    while done < last_id:
        upto = min(done + batch, last_id)
        total += conn.execute(copy, (done, upto)).rowcount
        done = upto
        progress(done, last_id)
    with conn.transaction():
        conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")  # readers go on; writers wait for the swap
        total += conn.execute(f"INSERT INTO {_TWIN} SELECT * FROM events WHERE id > %s", (done,)).rowcount
        conn.execute("ALTER TABLE events RENAME TO events_unpartitioned")
        conn.execute("ALTER INDEX pk_events RENAME TO pk_events_unpartitioned")
        for name in ("campaign", "email", "domain"):
            conn.execute(f"ALTER INDEX idx_events_{name} RENAME TO idx_events_unpartitioned_{name}")
            conn.execute(f"ALTER INDEX idx_{_TWIN}_{name} RENAME TO idx_events_{name}")
        conn.execute(f"ALTER TABLE {_TWIN} RENAME CONSTRAINT pk_{_TWIN} TO pk_events")
        conn.execute("ALTER SEQUENCE events_id_seq OWNED BY events_partitioned.id")
        conn.execute(f"ALTER TABLE {_TWIN} RENAME TO events")
        conn.execute("DROP TABLE events_unpartitioned")
    return total
