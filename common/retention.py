"""Retention: delete events older than RETENTION_DAYS, taking them out of the rollups as they go.

Rollups stay equal to a recount of the events that remain: counts (per domain and per hour) are
decremented, a recipient whose per-type count drops to zero stops counting as a unique user of that type, a
journey with no events left is removed, and a journey's first_seen moves to its oldest remaining event (the
recipient moves to that hour in hourly_stats); report_stats likewise (common/reports.py). Works in small
batches, each
one transaction, so ingest is never blocked for long.

A recipient's erasure (`tracker recipient erase`, common/erase.py) deletes their events with the same
statement, selecting them by email instead of by age.

With `events` partitioned by month (common/partitions.py), a month wholly past the cutoff is emptied the
same way, its events found through its own partition's primary key rather than by age, and then dropped
whole: its space goes back to the file system, and the other months are never rescanned.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from common import reports
from common.db import Conn
from common.partitions import drop_month, months_before
from common.rollups import (
    COUNT_JOURNEY_DELTAS,
    HOUR,
    HOURLY_DELTAS,
    INSERT_HOURLY,
    JOURNEY_EMPTY,
    JOURNEY_HAS_EVENTS,
    ROLLUP_EMPTY,
    SUBTRACT_FROM_JOURNEY,
    SUM_EVENTS,
    UPSERT_DOMAIN_STATS,
    cohort_moves,
    flags,
    insert_daily,
    journey_counts,
    journey_deltas,
    measure_events,
    user_changes,
)
from common.vocabulary import EVENT_TYPES, events_column


@cache
def _delete_batch(table: str) -> str:
    """The statement that deletes events %(ids)s (selected and locked by this transaction) from `table`
    (`events`, or the monthly partition they are in, whose index alone is then probed) and takes them out of
    the rollups; returns how many, and the journeys it emptied.

    Lock order, which ingest's statement (common/store.py) shares so that the two never deadlock: the
    journeys first (locked beforehand in key order: _lock_journeys), then hourly_stats, domain_stats and
    daily_stats through ingest's own upserts, inputs in key order, adding negative deltas (every row they
    reach exists: it counts the events deleted, or the event a recipient's first_seen moves to)."""
    return f"""
WITH doomed AS (
    SELECT unnest(%(ids)s::bigint[]) AS id
), del AS (
    DELETE FROM {table} e USING doomed WHERE e.id = doomed.id
    RETURNING e.campaign_id, e.email, e.domain, e.event_type, e.payout, e.created_at, {flags("e.")}
), jd AS (
    SELECT campaign_id, email, domain, {COUNT_JOURNEY_DELTAS}
    FROM del GROUP BY campaign_id, email, domain
), jj AS (
    UPDATE journeys t SET
        previous_first_seen = t.first_seen,
        {SUBTRACT_FROM_JOURNEY},
        first_seen = coalesce((SELECT min(created_at) FROM events e WHERE e.campaign_id = t.campaign_id
                               AND e.email = t.email AND e.domain = t.domain
                               AND e.id NOT IN (SELECT id FROM doomed)), t.first_seen)
    FROM jd
    WHERE t.campaign_id = jd.campaign_id AND t.email = jd.email AND t.domain = jd.domain
    RETURNING t.campaign_id, t.email, t.domain, {journey_counts("t")},
              t.first_seen, t.previous_first_seen, {journey_deltas("jd")}
), ud AS (
    SELECT campaign_id, domain, {user_changes(gained=False)}
    FROM jj GROUP BY campaign_id, domain
), hd AS (
    SELECT campaign_id, {HOUR} AS hour, domain, {measure_events("-")} FROM del GROUP BY 1, 2, 3
), hu AS (
    {cohort_moves(old_counts="+", old_exists="true", new_exists=JOURNEY_HAS_EVENTS)}
), hourly AS (
    {HOURLY_DELTAS}
), hs AS (
    {INSERT_HOURLY}
), ed AS (
    SELECT campaign_id, domain, {SUM_EVENTS} FROM hd GROUP BY campaign_id, domain
), ds AS (
    {UPSERT_DOMAIN_STATS}
), dd AS (
    {insert_daily("del", sign="-")}
), emptied AS (
    SELECT campaign_id, email, domain FROM jj WHERE {JOURNEY_EMPTY}
)
SELECT (SELECT count(*) FROM del), array_agg(campaign_id), array_agg(email), array_agg(domain) FROM emptied
"""


@cache
def _lock_journeys(table: str) -> str:
    """Locks the journeys of events %(ids)s in `table` in key order, as ingest's upsert does: an UPDATE locks
    rows in whatever order its join yields them."""
    return f"""SELECT 1 FROM journeys t WHERE (campaign_id, email, domain) IN (
    SELECT campaign_id, email, domain FROM {table} WHERE id = ANY(%(ids)s::bigint[]))
ORDER BY campaign_id, email, domain FOR UPDATE OF t"""


# A row updated by one CTE cannot be deleted by another in the same statement: emptied rows go separately.
_DELETE_EMPTY_JOURNEYS = f"""
DELETE FROM journeys WHERE (campaign_id, email, domain) IN (SELECT * FROM unnest(%s::int[], %s::text[], %s::text[]))
  AND {JOURNEY_EMPTY}
"""
_DELETE_EMPTY_STATS = f"DELETE FROM domain_stats WHERE {ROLLUP_EMPTY}"

# Where retention's oldest events lie, read off the rollups: hourly_stats counts every event by its hour, so
# the oldest hours before the cutoff whose events add up to a batch bound a window [lo, hi) that the BRIN
# index finds by reading those hours' blocks alone. `ORDER BY created_at LIMIT` over everything before the
# cutoff matched a quarter of a 10 M-event table: a parallel scan and a sort of all of it for every batch
# (7.6 s; docs/performance.md, "Retention at 10 M events").
_EVENTS_PER_HOUR = " + ".join(events_column(t) for t in EVENT_TYPES)
_OLDEST_HOURS = f"""
SELECT min(hour), min(hour) FILTER (WHERE running >= %(batch)s) + interval '1 hour'
FROM (SELECT hour, sum(n) OVER (ORDER BY hour) AS running
      FROM (SELECT hour, sum({_EVENTS_PER_HOUR}) AS n FROM hourly_stats WHERE hour < %(cutoff)s GROUP BY hour) h) r
"""
_IN_WINDOW = """SELECT id FROM events WHERE created_at >= %(lo)s AND created_at < least(%(hi)s, %(cutoff)s)
ORDER BY created_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED"""


@dataclass(frozen=True, slots=True)
class _Deletion:
    """A way of deleting events: which ids a batch takes (locked), and where the hourly and daily rows it may
    empty can be."""

    doomed: str  # a SELECT of event ids, limited to a batch
    hours: str  # a condition on hourly_stats
    days: str  # ...and on daily_stats
    table: str = "events"  # where they are: `events`, or the monthly partition that holds them all
    oldest_first: bool = False  # retention: look in the window of the oldest hours first

    def find(self, conn: Conn, params: dict[str, Any]) -> list[int]:
        """The ids of a batch, locked. With `oldest_first`, `doomed` (everything before the cutoff) is only
        read when the window comes up short: at a run's last batch, or if the rollups ever missed an event."""
        if self.oldest_first:
            lo, hi = conn.execute(_OLDEST_HOURS, params, prepare=False).fetchone() or (None, None)
            if lo is not None:
                ids = [r[0] for r in conn.execute(_IN_WINDOW, {**params, "lo": lo, "hi": hi}, prepare=False)]
                if len(ids) == params["batch"]:
                    return ids
        return [r[0] for r in conn.execute(self.doomed, params, prepare=False)]

    def empty_hours(self) -> str:
        return f"DELETE FROM hourly_stats WHERE {self.hours} AND {ROLLUP_EMPTY}"

    def empty_days(self) -> str:
        return f"DELETE FROM daily_stats WHERE {self.days} AND {JOURNEY_EMPTY}"


# Retention: the oldest events first; only hours (and days) the cutoff has reached can have been emptied.
_RETENTION = _Deletion(
    "SELECT id FROM events WHERE created_at < %(cutoff)s ORDER BY created_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED",
    hours="hour <= %(cutoff)s",
    days="day <= (%(cutoff)s::timestamp AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date",
    oldest_first=True)
# A recipient's erasure (common/erase.py): every event of `email` in `campaigns`, waiting for any being written.
_ERASURE = _Deletion(
    "SELECT id FROM events WHERE email = %(email)s AND campaign_id = ANY(%(campaigns)s) ORDER BY id "
    "LIMIT %(batch)s FOR UPDATE",
    hours="campaign_id = ANY(%(campaigns)s)",
    days="campaign_id = ANY(%(campaigns)s)")


@dataclass(frozen=True, slots=True)
class Deleted:
    events: int
    journeys: int  # emptied, so removed


def _delete(conn: Conn, deletion: _Deletion, params: dict[str, Any], *, report_days_up_to: date,
            campaign_ids: list[int] | None = None) -> Deleted:
    """One batch of `deletion`, in one transaction.

    Never prepared (`prepare=False`, here and in reports.forget): psycopg prepares a statement after five runs
    on a connection, and a retention run is hundreds of batches on one. PostgreSQL then chose a generic plan,
    blind to the ids, for the reports' forget: 10-12 s a batch of 5,000 instead of 0.7-1 s (10 M-event bench,
    docs/performance.md, Session 9). Planning each afresh costs milliseconds."""
    with conn.transaction():
        ids = deletion.find(conn, params)
        if not ids:
            return Deleted(0, 0)
        reports.forget(conn, ids, timezone=params["tz"], table=deletion.table)
        conn.execute(_lock_journeys(deletion.table), {"ids": ids}, prepare=False)
        row = conn.execute(_delete_batch(deletion.table), {**params, "ids": ids}, prepare=False).fetchone()
        assert row is not None  # an aggregate always returns one row
        deleted, emptied_campaigns, emails, domains = row
        journeys = 0
        if emptied_campaigns:
            journeys = conn.execute(_DELETE_EMPTY_JOURNEYS, (emptied_campaigns, emails, domains),
                                    prepare=False).rowcount
            conn.execute(_DELETE_EMPTY_STATS)
        if deleted:
            conn.execute(deletion.empty_hours(), params, prepare=False)
            conn.execute(deletion.empty_days(), params, prepare=False)
            reports.delete_empty_days(conn, up_to=report_days_up_to, campaign_ids=campaign_ids)
    return Deleted(int(deleted), journeys)


def delete_batch(conn: Conn, *, cutoff: datetime, batch: int, timezone: str) -> int:
    """Delete up to `batch` events older than `cutoff` and fold them out of the rollups (daily_stats' days are
    those of `timezone`, DASHBOARD_TIMEZONE); returns how many."""
    params, up_to = _retention_params(cutoff, batch, timezone)
    return _delete(conn, _RETENTION, params, report_days_up_to=up_to).events


def _retention_params(cutoff: datetime, batch: int, timezone: str) -> tuple[dict[str, Any], date]:
    up_to = cutoff.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()
    return {"cutoff": cutoff, "batch": batch, "tz": timezone}, up_to


def month_deletion(partition: str) -> _Deletion:
    """A month of events partitioned by month, wholly past the cutoff: its events by id (its primary key)."""
    return _Deletion(f"SELECT id FROM {partition} ORDER BY id LIMIT %(batch)s FOR UPDATE SKIP LOCKED",
                     hours=_RETENTION.hours, days=_RETENTION.days, table=partition)


def retention_batch(conn: Conn, *, cutoff: datetime, batch: int, timezone: str) -> tuple[int, bool]:
    """One batch of retention in either layout of `events`: with monthly partitions, the oldest month wholly
    past `cutoff` first (dropped once empty), then what else is older than `cutoff` (the days of the month the
    cutoff cuts; on one table, everything). Returns how many events went and whether more may remain."""
    params, up_to = _retention_params(cutoff, batch, timezone)
    for month in months_before(conn, cutoff):
        deleted = _delete(conn, month_deletion(month), params, report_days_up_to=up_to).events
        if deleted:
            return deleted, True
        drop_month(conn, month)
    deleted = _delete(conn, _RETENTION, params, report_days_up_to=up_to).events
    return deleted, deleted == batch


def erase_batch(conn: Conn, *, email: str, campaign_ids: list[int], batch: int, timezone: str) -> Deleted:
    """Delete up to `batch` of the recipient's events in those campaigns, folding them out of the rollups as
    retention does; the journeys they empty go too."""
    return _delete(conn, _ERASURE, {"email": email, "campaigns": campaign_ids, "batch": batch, "tz": timezone},
                   report_days_up_to=date.max, campaign_ids=campaign_ids)
