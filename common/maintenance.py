"""The tracker's own ANALYZE and VACUUM of its hot tables, whatever the server's autovacuum setting.

Why (docs/operations.md, "Self-maintenance"): the worker's ingest statement is prepared, and after five runs
PostgreSQL may settle it on a generic plan. Made while the tables had no statistics (a new database, autovacuum
off), that plan scans whole tables that have since grown: on this machine a statement went from ~30 ms to
~700 ms per 200 events within 40,000 events, and the queue took 20-45 s to drain instead of 2. An ANALYZE
invalidates the cached plan (PostgreSQL re-plans on the next run), so two things remove the cause:

- `maintain` (the `maintain_tables` beat job) analyses a table once enough of it changed since its last
  analyse (or it never had one), and vacuums it once enough of it is dead rows;
- `Policy.plans_are_stale` tells the worker to plan every run afresh (`plan_cache_mode = force_custom_plan`) while
  a table the ingest statement writes has no statistics, or has grown to twice its analysed size since:
  custom plans cost ~2 ms more per statement, so only until the job has analysed it.
"""
import logging
import time
from dataclasses import dataclass

from psycopg import sql

from common.config import Settings
from common.db import Conn

log = logging.getLogger(__name__)

# The job's entry in beat's schedule (worker/celery_app.py): beat's claims of its runs (worker/beat.py) are
# how `tracker doctor` tells whether beat runs.
BEAT_ENTRY = "maintain-tables"

# The tables the ingest statement (common/store.py) writes: the plan guard watches these.
INGEST_TABLES = ("events", "journeys", "hourly_stats", "domain_stats", "daily_stats")
# And the job also looks after these, written on other paths (postbacks, dead letters, sign-ins), or written by
# the ingest statement with plans that do not depend on their size: report_queue is a queue (every stored event
# is inserted, then deleted by the reports' fold), so without vacuum its dead rows would pile up the fastest.
MAINTAINED_TABLES = (*INGEST_TABLES, "report_queue", "report_stats", "report_recipients", "webhook_deliveries",
                     "postbacks", "dead_events", "sessions", "login_failures")

# A partitioned table (events, once `tracker events partition` ran) has no row of its own: its partitions
# (events_YYYY_MM, common/partitions.py) are the tables that hold rows, and are tended in its place.
_STATS = """
SELECT s.relname, c.reltuples::bigint, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze,
       greatest(s.last_analyze, s.last_autoanalyze) IS NOT NULL AS analysed
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = current_schema()
  AND (s.relname = ANY(%(tables)s)
       OR s.relid IN (SELECT i.inhrelid FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                      WHERE p.relname = ANY(%(tables)s) AND p.relnamespace = current_schema()::regnamespace))
ORDER BY s.relname
"""


@dataclass(frozen=True, slots=True)
class TableStats:
    """One table's row of pg_stat_user_tables (and its analysed row count from pg_class)."""

    name: str
    analysed_rows: int  # pg_class.reltuples: -1 while never analysed (or vacuumed)
    live: int
    dead: int
    changed: int  # rows inserted, updated or deleted since the last analyse
    analysed: bool


def read_stats(conn: Conn, tables: tuple[str, ...] = MAINTAINED_TABLES) -> list[TableStats]:
    """The statistics of `tables` (a few catalog rows: cheap enough to read every few seconds)."""
    return [TableStats(*row) for row in conn.execute(_STATS, {"tables": list(tables)})]


@dataclass(frozen=True, slots=True)
class Policy:
    """When a table is analysed or vacuumed: PostgreSQL's autovacuum rule (threshold + scale x rows)."""

    analyze_threshold: int
    analyze_scale: float
    vacuum_threshold: int
    vacuum_scale: float

    @classmethod
    def of(cls, settings: Settings) -> "Policy":
        return cls(settings.maintenance_analyze_threshold, settings.maintenance_analyze_scale_factor,
                   settings.maintenance_vacuum_threshold, settings.maintenance_vacuum_scale_factor)

    def needs_analyze(self, t: TableStats) -> bool:
        if not t.analysed:
            return t.changed > 0 or t.live > 0  # an empty table's statistics would say nothing
        return t.changed >= self.analyze_threshold + self.analyze_scale * max(t.analysed_rows, 0)

    def needs_vacuum(self, t: TableStats) -> bool:
        return t.dead >= self.vacuum_threshold + self.vacuum_scale * t.live

    def plans_are_stale(self, ingest_tables: list[TableStats]) -> bool:
        """True while a generic plan of the ingest statement could be one made on missing or outgrown
        statistics: a table never analysed, or grown to more than twice its analysed size since.

        Growth, not churn: the small rollup tables (domain_stats, daily_stats) are updated by every batch,
        but a plan made for their size stays right while their size does.
        """
        return any(not t.analysed or t.live > 2 * max(t.analysed_rows, 0) + self.analyze_threshold
                   for t in ingest_tables)


@dataclass(frozen=True, slots=True)
class Action:
    """What the job did to one table, and how long it took."""

    table: str
    command: str  # "ANALYZE", "VACUUM" or "VACUUM (ANALYZE)"
    seconds: float
    stats: TableStats

    def __str__(self) -> str:
        s = self.stats
        return (f"{self.command} {self.table} in {self.seconds * 1000:.0f} ms ({s.live} live rows, {s.dead} dead, "
                f"{s.changed} changed since the last analyse{'' if s.analysed else ', never analysed'})")


def _command(policy: Policy, t: TableStats) -> str | None:
    vacuum, analyze = policy.needs_vacuum(t), policy.needs_analyze(t)
    if vacuum:
        return "VACUUM (ANALYZE)" if analyze else "VACUUM"
    return "ANALYZE" if analyze else None


def maintain(conn: Conn, policy: Policy) -> list[Action]:
    """Analyse and vacuum what needs it; returns what was done. `conn` must be in autocommit mode (VACUUM)."""
    actions = []
    for t in read_stats(conn):
        command = _command(policy, t)
        if command is None:
            continue
        started = time.monotonic()
        conn.execute(sql.SQL(command + " {}").format(sql.Identifier(t.name)))  # command: one of three above
        actions.append(Action(t.name, command, time.monotonic() - started, t))
    return actions


def autovacuum_on(conn: Conn) -> bool:
    row = conn.execute("SELECT current_setting('autovacuum')::bool").fetchone()
    return bool(row and row[0])


AUTOVACUUM_OFF_WARNING = (
    "autovacuum is off on this PostgreSQL server: the tracker analyses and vacuums its own tables instead "
    "(the maintain_tables job of beat, every {interval:g} s; keep beat running), and its worker plans the "
    "ingest statement afresh while their statistics are missing or stale. Other tables of this server get "
    "no maintenance."
)
