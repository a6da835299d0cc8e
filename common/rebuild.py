"""Rollups recomputed from `events`: `tracker rollups rebuild`, after a bug or a restore, and the last step of
`tracker bots reclassify`.

Each rollup is one Rebuilder: its table, its key within a campaign, the columns it owns and the SQL that
recounts them from the campaign's events. A campaign is rebuilt in one transaction that first takes a SHARE
lock on `events`: inserts and deletes of events (the worker, the web tier's fallback, retention) wait until it
commits, so no event is stored between the recount and the write, and the rollups stay exact while the
tracker runs. Batches wait in the broker meanwhile (mind MAX_QUEUE_DEPTH on a very large campaign); reads go
on. Only rows that differ are written: a second run changes nothing and says so.

A new rollup (a table fed by the ingest statement) plugs in as one more entry of REBUILDERS. The reports'
rollup has a recount of its own (common/reports.py: capped values, events still queued left to the fold);
its changes are measured against a copy of the rows it had.
"""
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from common import reports
from common.burst import by_rules_human
from common.db import Conn
from common.rollups import (
    DAY,
    HOUR,
    HOURLY_DELTAS,
    MEASURE_EVENTS,
    count_journey_values,
    flags,
)
from common.vocabulary import (
    AMOUNT_COUNTERS,
    DAILY_COUNTERS,
    EMAIL_CLICK,
    EVENT_TYPES,
    JOURNEY_AMOUNTS,
    JOURNEY_COUNTERS,
    REPORT_COUNTERS,
    ROLLUP_COUNTERS,
)

# The campaign's events with their flag columns (is_bot, is_unknown): what every recount reads.
_EVENTS = f"(SELECT *, {flags()} FROM events WHERE campaign_id = %(c)s) e"

# One key for every tool that rewrites rollups wholesale (rebuild, reclassify): two at once would only
# repeat each other's work, and a second one is refused rather than queued.
REPAIR_LOCK = 0x7472_6b72  # "trkr"


class RepairBusy(RuntimeError):
    """Another rebuild or reclassification holds the lock."""


class ZoneMismatch(RuntimeError):
    """daily_stats was built for another DASHBOARD_TIMEZONE: only a rebuild of every campaign may change it."""


@dataclass(frozen=True, slots=True)
class Rebuilder:
    """One rollup table: rows keyed by (campaign_id, *key), whose `columns` `recount` computes (a SELECT of
    key + columns from the campaign's events, or from a rollup rebuilt before it in REBUILDERS; parameters
    %(c)s and %(tz)s)."""

    table: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    recount: str


@dataclass
class Changes:
    """What a rebuild did to one table (rows)."""

    added: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def total(self) -> int:
        return self.added + self.changed + self.removed

    def __str__(self) -> str:
        return f"{self.added} added, {self.changed} corrected, {self.removed} removed"


# Events by the hour they happened, recipients by the hour their journey began, with the types it has
# (common/rollups.py); HOURLY_DELTAS joins the two as the ingest statement does. The recipients are read from
# `journeys`, rebuilt just before (REBUILDERS' order), rather than by grouping every event by recipient again.
_HOURLY_STATS = f"""
WITH hd AS (
    SELECT campaign_id, {HOUR} AS hour, domain, {MEASURE_EVENTS} FROM {_EVENTS} GROUP BY 1, 2, 3
), hu AS (
    SELECT campaign_id, date_trunc('hour', first_seen) AS hour, domain, {", ".join(
        f"count(*) FILTER (WHERE {t.plural} > 0) AS {t.users}" if t else "count(*) AS users"
        for t in (None, *EVENT_TYPES))}
    FROM journeys WHERE campaign_id = %(c)s GROUP BY 1, 2, 3
), hourly AS (
    {HOURLY_DELTAS}
)
SELECT hour, domain, {", ".join(ROLLUP_COUNTERS)} FROM hourly"""

# A domain's totals are its hours' (a recipient is counted in exactly one hour): summed from hourly_stats,
# rebuilt just before.
_DOMAIN_STATS = f"""SELECT domain, {", ".join(
    f"sum({c}){'' if c in AMOUNT_COUNTERS else '::bigint'} AS {c}" for c in ROLLUP_COUNTERS)}
FROM hourly_stats WHERE campaign_id = %(c)s GROUP BY domain"""

_DAILY_STATS = f"SELECT {DAY} AS day, {MEASURE_EVENTS} FROM {_EVENTS} GROUP BY 1"

# last_email_click_at is the burst rule's reference (common/burst.py): the latest email click the user-agent
# and network rules called human.
_JOURNEYS = f"""
SELECT email, domain, min(created_at) AS first_seen, max(created_at) AS last_seen, {count_journey_values()},
       max(created_at) FILTER (WHERE event_type = '{EMAIL_CLICK.name}' AND {by_rules_human("e")})
           AS last_email_click_at
FROM {_EVENTS} GROUP BY email, domain"""

REBUILDERS: tuple[Rebuilder, ...] = (
    Rebuilder("journeys", ("email", "domain"),
              ("first_seen", "last_seen", *JOURNEY_COUNTERS, *JOURNEY_AMOUNTS, "last_email_click_at"), _JOURNEYS),
    Rebuilder("hourly_stats", ("hour", "domain"), ROLLUP_COUNTERS, _HOURLY_STATS),
    Rebuilder("domain_stats", ("domain",), ROLLUP_COUNTERS, _DOMAIN_STATS),
    Rebuilder("daily_stats", ("day",), DAILY_COUNTERS, _DAILY_STATS),
)


def summary(runs: list[dict[str, Changes]]) -> str:
    """What a set of campaign rebuilds changed, per table ("" when nothing)."""
    totals: dict[str, Changes] = {}
    for changes in runs:
        for table, c in changes.items():
            t = totals.setdefault(table, Changes())
            t.added, t.changed, t.removed = t.added + c.added, t.changed + c.changed, t.removed + c.removed
    return "; ".join(f"{table} {c}" for table, c in totals.items() if c.total)


def _sql(r: Rebuilder) -> tuple[str, str, str]:
    """The statements that make `r.table`'s rows of campaign %(c)s equal table `fresh`: (insert, update, delete)."""
    cols, keys = ", ".join(r.columns), ", ".join(r.key)
    same_key = " AND ".join(f"t.{k} = f.{k}" for k in r.key)
    insert = f"""INSERT INTO {r.table} (campaign_id, {keys}, {cols})
        SELECT %(c)s, {keys}, {cols} FROM fresh f
        WHERE NOT EXISTS (SELECT 1 FROM {r.table} t WHERE t.campaign_id = %(c)s AND {same_key})"""
    update = f"""UPDATE {r.table} t SET {", ".join(f"{c} = f.{c}" for c in r.columns)} FROM fresh f
        WHERE t.campaign_id = %(c)s AND {same_key}
          AND ({", ".join(f"t.{c}" for c in r.columns)}) IS DISTINCT FROM ({", ".join(f"f.{c}" for c in r.columns)})"""
    delete = f"""DELETE FROM {r.table} t WHERE t.campaign_id = %(c)s
        AND NOT EXISTS (SELECT 1 FROM fresh f WHERE {same_key})"""
    return insert, update, delete


def rebuild_table(conn: Conn, r: Rebuilder, *, campaign_id: int, timezone: str) -> Changes:
    """Make `r`'s rows of the campaign equal a recount of its events; inside the caller's transaction."""
    params = {"c": campaign_id, "tz": timezone}
    conn.execute("DROP TABLE IF EXISTS fresh")
    conn.execute(f"CREATE TEMP TABLE fresh ON COMMIT DROP AS {r.recount}", params)
    conn.execute("ANALYZE fresh")  # a temporary table has no statistics otherwise: the joins below need them
    insert, update, delete = _sql(r)
    return Changes(added=conn.execute(insert, params).rowcount, changed=conn.execute(update, params).rowcount,
                   removed=conn.execute(delete, params).rowcount)


_REPORT_KEY = ("dimension", "day", "value")
_REPORT_DIFF = f"""
SELECT count(*) FILTER (WHERE o.campaign_id IS NULL), count(*) FILTER (WHERE n.campaign_id IS NULL),
       count(*) FILTER (WHERE o.campaign_id IS NOT NULL AND n.campaign_id IS NOT NULL
                        AND ({", ".join(f"o.{c}" for c in REPORT_COUNTERS)})
                            IS DISTINCT FROM ({", ".join(f"n.{c}" for c in REPORT_COUNTERS)}))
FROM old_reports o FULL JOIN (SELECT * FROM report_stats WHERE campaign_id = %(c)s) n USING ({", ".join(_REPORT_KEY)})
"""


def rebuild_reports(conn: Conn, *, campaign_id: int, timezone: str, max_values: int) -> Changes:
    """report_stats of the campaign recounted (common/reports.py); inside the caller's transaction."""
    conn.execute("DROP TABLE IF EXISTS old_reports")
    conn.execute("CREATE TEMP TABLE old_reports ON COMMIT DROP AS SELECT * FROM report_stats WHERE campaign_id = %s",
                 (campaign_id,))
    reports.rebuild(conn, campaign_id, timezone=timezone, max_values=max_values)
    row = conn.execute(_REPORT_DIFF, {"c": campaign_id}).fetchone()
    assert row is not None  # an aggregate always returns one row
    return Changes(added=int(row[0]), removed=int(row[1]), changed=int(row[2]))


def rebuild_campaign(conn: Conn, *, campaign_id: int, timezone: str, max_values: int,
                     before: Callable[[Conn], Any] = lambda conn: None) -> dict[str, Changes]:
    """Every rollup of one campaign recounted, in one transaction with event writes held off; `before(conn)`
    runs first in that transaction (reclassify rewrites the events there). Returns the changes per table."""
    with conn.transaction():
        conn.execute("LOCK TABLE events IN SHARE MODE")
        before(conn)
        changes = {r.table: rebuild_table(conn, r, campaign_id=campaign_id, timezone=timezone) for r in REBUILDERS}
        changes["report_stats"] = rebuild_reports(conn, campaign_id=campaign_id, timezone=timezone,
                                                  max_values=max_values)
        return changes


@contextmanager
def repair_lock(conn: Conn) -> Iterator[None]:
    """Held for a whole run, across its per-campaign transactions; RepairBusy when another run holds it."""
    got = conn.execute("SELECT pg_try_advisory_lock(%s)", (REPAIR_LOCK,)).fetchone()
    if not got or not got[0]:
        raise RepairBusy("another `tracker rollups rebuild` or `tracker bots reclassify` is running")
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (REPAIR_LOCK,))


def campaign_ids(conn: Conn, only: int | None) -> list[int]:
    """Every campaign's id (deleted ones too: their rows still count until retention takes them), or [only]
    when it exists; [] when it does not."""
    if only is None:
        return [row[0] for row in conn.execute("SELECT id FROM campaigns ORDER BY id")]
    return [row[0] for row in conn.execute("SELECT id FROM campaigns WHERE id = %s", (only,))]


def check_zone(conn: Conn, *, timezone: str, every_campaign: bool) -> None:
    """daily_stats' days are those of the zone in rollup_state: a rebuild of one campaign must use it; a rebuild
    of all of them may move every day to DASHBOARD_TIMEZONE (record_zone then says so)."""
    row = conn.execute("SELECT value FROM rollup_state WHERE name = 'daily_timezone'").fetchone()
    if row and row[0] != timezone and not every_campaign:
        raise ZoneMismatch(f"daily_stats counts days of {row[0]}, DASHBOARD_TIMEZONE is {timezone}: "
                           "rebuild every campaign (no --campaign) to move them")


def record_zone(conn: Conn, timezone: str) -> None:
    conn.execute("""INSERT INTO rollup_state (name, value) VALUES ('daily_timezone', %s)
                    ON CONFLICT (name) DO UPDATE SET value = excluded.value""", (timezone,))
