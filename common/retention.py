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
from typing import Any
from zoneinfo import ZoneInfo

from common import reports
from common.db import Conn
from common.partitions import drop_month, months_before
from common.rollups import (
    COUNT_JOURNEY_DELTAS,
    HOUR,
    HOURLY_DELTAS,
    JOURNEY_EMPTY,
    JOURNEY_HAS_EVENTS,
    MEASURE_EVENTS,
    ROLLUP_EMPTY,
    SUBTRACT_FROM_JOURNEY,
    SUM_EVENTS,
    cohort_moves,
    flags,
    journey_counts,
    journey_deltas,
    subtract_daily,
    subtract_from_rollup,
    user_changes,
)


def _delete_batch(table: str) -> str:
    """The statement that deletes events %(ids)s (selected and locked by this transaction) from `table`
    (`events`, or the monthly partition they are in, whose index alone is then probed) and takes them out of
    the rollups; returns how many, and the journeys it emptied."""
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
    SELECT campaign_id, {HOUR} AS hour, domain, {MEASURE_EVENTS} FROM del GROUP BY 1, 2, 3
), hu AS (
    {cohort_moves(old_counts="+", old_exists="true", new_exists=JOURNEY_HAS_EVENTS)}
), hourly AS (
    {HOURLY_DELTAS}
), hs AS (
    -- cohort_moves' recipient changes are signed (those that left an hour are -1): added.
    UPDATE hourly_stats h SET {subtract_from_rollup("h", "hourly", "hourly", "+")}
    FROM hourly WHERE h.campaign_id = hourly.campaign_id AND h.hour = hourly.hour AND h.domain = hourly.domain
    RETURNING 1
), ed AS (
    SELECT campaign_id, domain, {SUM_EVENTS} FROM hd GROUP BY campaign_id, domain
), ds AS (
    UPDATE domain_stats s SET {subtract_from_rollup("s", "ed", "ud", "-")}
    FROM ed JOIN ud USING (campaign_id, domain)
    WHERE s.campaign_id = ed.campaign_id AND s.domain = ed.domain
    RETURNING 1
), dd AS (
    {subtract_daily("del")}
), emptied AS (
    SELECT campaign_id, email, domain FROM jj WHERE {JOURNEY_EMPTY}
)
SELECT (SELECT count(*) FROM del), array_agg(campaign_id), array_agg(email), array_agg(domain) FROM emptied
"""


_DELETE_BATCH = _delete_batch("events")


# A row updated by one CTE cannot be deleted by another in the same statement: emptied rows go separately.
_DELETE_EMPTY_JOURNEYS = f"""
DELETE FROM journeys WHERE (campaign_id, email, domain) IN (SELECT * FROM unnest(%s::int[], %s::text[], %s::text[]))
  AND {JOURNEY_EMPTY}
"""
_DELETE_EMPTY_STATS = f"DELETE FROM domain_stats WHERE {ROLLUP_EMPTY}"


@dataclass(frozen=True, slots=True)
class _Deletion:
    """A way of deleting events: which ids a batch takes (locked), and where the hourly and daily rows it may
    empty can be."""

    doomed: str  # a SELECT of event ids, limited to a batch
    hours: str  # a condition on hourly_stats
    days: str  # ...and on daily_stats
    statement: str = _DELETE_BATCH  # deletes them from `events` (or from the partition they are in)

    def empty_hours(self) -> str:
        return f"DELETE FROM hourly_stats WHERE {self.hours} AND {ROLLUP_EMPTY}"

    def empty_days(self) -> str:
        return f"DELETE FROM daily_stats WHERE {self.days} AND {JOURNEY_EMPTY}"


# Retention: the oldest events first; only hours (and days) the cutoff has reached can have been emptied.
_RETENTION = _Deletion(
    "SELECT id FROM events WHERE created_at < %(cutoff)s ORDER BY created_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED",
    hours="hour <= %(cutoff)s",
    days="day <= (%(cutoff)s::timestamp AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date")
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
    """One batch of `deletion`, in one transaction."""
    with conn.transaction():
        ids = [r[0] for r in conn.execute(deletion.doomed, params)]
        if not ids:
            return Deleted(0, 0)
        reports.forget(conn, ids, timezone=params["tz"])
        row = conn.execute(deletion.statement, {**params, "ids": ids}).fetchone()
        assert row is not None  # an aggregate always returns one row
        deleted, emptied_campaigns, emails, domains = row
        journeys = 0
        if emptied_campaigns:
            journeys = conn.execute(_DELETE_EMPTY_JOURNEYS, (emptied_campaigns, emails, domains)).rowcount
            conn.execute(_DELETE_EMPTY_STATS)
        if deleted:
            conn.execute(deletion.empty_hours(), params)
            conn.execute(deletion.empty_days(), params)
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
                     hours=_RETENTION.hours, days=_RETENTION.days, statement=_delete_batch(partition))


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
