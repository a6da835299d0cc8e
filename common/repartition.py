"""`tracker events partition`: move an existing install's events into monthly partitions, online and resumable.

1. start, one transaction: the twin (`events_partitioned`, months from the oldest event to `ahead` months
   on), a progress row, and a trigger on `events` that repeats every insert into the twin from then on.
   Creating the trigger waits for inserts in flight and holds new ones back until the transaction ends, so
   every event committed before is visible to it: the highest id is where the copy stops (`last_id`).
   Events stored later, whatever their id (ids come in blocks, so a late one can be lower), go in through
   the trigger.
2. copy: ids up to `last_id`, a range per transaction, ON CONFLICT DO NOTHING (the trigger may have stored a
   row first); the range is recorded in the same transaction, so an interrupted run resumes after it.
3. swap, one short transaction: the twin takes the name, index names and sequence of `events`; the old table
   is dropped.

Retention is held back while a conversion is under way (its deletes would not reach rows already copied);
deleting a campaign is not: its cascade reaches the twin too.
"""

from collections.abc import Callable

from common.db import Conn
from common.partitions import create_months, is_partitioned, month_start, next_month

_TWIN = "events_partitioned"
_PROGRESS = "events_partitioning"
# The twin's keys and indexes: those of `events` (models.Event, and migration 0003's BRIN, which finds the
# events of a month only partly past the cutoff), the primary key widened by the partition key.
_INDEXES = {"campaign": "(campaign_id)", "email": "(email)", "domain": "(domain)"}
_START = [
    f"CREATE TABLE {_TWIN} (LIKE events INCLUDING DEFAULTS) PARTITION BY RANGE (created_at)",
    f"ALTER TABLE {_TWIN} ADD CONSTRAINT pk_{_TWIN} PRIMARY KEY (id, created_at)",
    f"ALTER TABLE {_TWIN} ADD CONSTRAINT fk_{_TWIN}_campaign_id_campaigns FOREIGN KEY (campaign_id) "
    "REFERENCES campaigns (id) ON DELETE CASCADE",
    *(f"CREATE INDEX idx_{_TWIN}_{name} ON {_TWIN} {columns}" for name, columns in _INDEXES.items()),
    f"CREATE INDEX ix_{_TWIN}_created_at_brin ON {_TWIN} USING brin (created_at) WITH (pages_per_range = 32)",
    f"CREATE TABLE {_PROGRESS} (last_id bigint NOT NULL, copied_id bigint NOT NULL)",
    # One statement per ingest statement (a transition table), not one per row.
    f"""CREATE FUNCTION {_PROGRESS}_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO {_TWIN} SELECT * FROM new_rows ON CONFLICT DO NOTHING; RETURN NULL; END $$""",
    f"CREATE TRIGGER {_PROGRESS}_insert AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {_PROGRESS}_insert()",
    f"INSERT INTO {_PROGRESS} SELECT coalesce(max(id), 0), 0 FROM events",
]
_SWAP = [
    "LOCK TABLE events IN ACCESS EXCLUSIVE MODE",
    f"DROP TRIGGER {_PROGRESS}_insert ON events",
    f"DROP FUNCTION {_PROGRESS}_insert()",
    f"DROP TABLE {_PROGRESS}",
    "ALTER SEQUENCE events_id_seq OWNED BY NONE",
    "DROP TABLE events",
    f"ALTER TABLE {_TWIN} RENAME TO events",
    f"ALTER TABLE events RENAME CONSTRAINT pk_{_TWIN} TO pk_events",
    f"ALTER TABLE events RENAME CONSTRAINT fk_{_TWIN}_campaign_id_campaigns TO fk_events_campaign_id_campaigns",
    *(f"ALTER INDEX idx_{_TWIN}_{name} RENAME TO idx_events_{name}" for name in _INDEXES),
    f"ALTER INDEX ix_{_TWIN}_created_at_brin RENAME TO ix_events_created_at_brin",
    "ALTER SEQUENCE events_id_seq OWNED BY events.id",
]
_COPY = f"INSERT INTO {_TWIN} SELECT * FROM events WHERE id > %s AND id <= %s ON CONFLICT DO NOTHING"


def converting(conn: Conn) -> bool:
    """Whether a conversion has started and not finished (retention waits for it)."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (_PROGRESS,)).fetchone()
    return bool(row and row[0])


def start(conn: Conn, *, ahead: int) -> None:
    """Step 1, unless it was done."""
    if converting(conn) or is_partitioned(conn):
        return
    with conn.transaction():
        row = conn.execute("SELECT min(created_at)::date, current_date FROM events").fetchone()
        assert row is not None
        last = month_start(row[1])
        for _ in range(ahead):
            last = next_month(last)
        conn.execute(_START[0])
        create_months(conn, row[0] or row[1], last, parent=_TWIN)
        for sql in _START[1:]:
            conn.execute(sql)


def copy(conn: Conn, *, batch: int, progress: Callable[[int, int], None]) -> int:
    """Step 2 from where it stopped; returns the events copied by this call."""
    copied = 0
    while True:
        with conn.transaction():
            row = conn.execute(f"SELECT last_id, copied_id FROM {_PROGRESS} FOR UPDATE").fetchone()
            assert row is not None
            last_id, done = row
            if done >= last_id:
                return copied
            upto = min(done + batch, last_id)
            copied += conn.execute(_COPY, (done, upto)).rowcount
            conn.execute(f"UPDATE {_PROGRESS} SET copied_id = %s", (upto,))
        progress(upto, last_id)


def swap(conn: Conn) -> None:
    """Step 3 (the copy must be complete)."""
    with conn.transaction():
        row = conn.execute(f"SELECT copied_id >= last_id FROM {_PROGRESS}").fetchone()
        if not (row and row[0]):
            raise RuntimeError("the copy is not complete")
        for sql in _SWAP:
            conn.execute(sql)


def partition_events(conn: Conn, *, ahead: int, progress: Callable[[int, int], None], batch: int = 100_000) -> int:
    """All three steps (each resumes if an earlier run stopped); returns the events copied by this call."""
    if is_partitioned(conn):
        return 0
    start(conn, ahead=ahead)
    copied = copy(conn, batch=batch, progress=progress)
    swap(conn)
    return copied
