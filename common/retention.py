"""Retention: delete events older than RETENTION_DAYS, taking them out of the rollups as they go.

Rollups stay equal to a recount of the events that remain: counts (per domain and per hour) are
decremented, a recipient whose per-type count drops to zero stops counting as a unique user of that type, a
journey with no events left is removed, and a journey's first_seen moves to its oldest remaining event (the
recipient moves to that hour in hourly_stats). Works in small batches, each
one transaction, so ingest is never blocked for long.
"""

from datetime import datetime

from common.db import Conn
from common.partitions import month_of, next_month, retired_tables
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


def _subtract(doomed: str, gone: str, *, kept: str) -> str:
    """The statement that takes a set of events out of the rollups: CTE `doomed` (their ids) and CTE `del`
    (`gone`: the rows, with campaign_id, email, domain, event_type, payout, created_at and the flags), which
    deletes them or reads rows about to be dropped; `kept` is the condition on `events e` of an event that
    remains, from which a journey's new first_seen is read."""
    return f"""
WITH doomed AS ({doomed}), del AS ({gone}), jd AS (
    SELECT campaign_id, email, domain, {COUNT_JOURNEY_DELTAS}
    FROM del GROUP BY campaign_id, email, domain
), jj AS (
    UPDATE journeys t SET
        previous_first_seen = t.first_seen,
        {SUBTRACT_FROM_JOURNEY},
        first_seen = coalesce((SELECT min(created_at) FROM events e WHERE e.campaign_id = t.campaign_id
                               AND e.email = t.email AND e.domain = t.domain AND {kept}), t.first_seen)
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


_GONE_COLUMNS = f"e.campaign_id, e.email, e.domain, e.event_type, e.payout, e.created_at, {flags('e.')}"

# Today's layout: the oldest events of `events`, deleted a batch at a time (the BRIN index finds them).
_DELETE_BATCH = _subtract(
    "SELECT id FROM events WHERE created_at < %(cutoff)s ORDER BY created_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED",
    f"DELETE FROM events e USING doomed WHERE e.id = doomed.id RETURNING {_GONE_COLUMNS}",
    kept="e.id NOT IN (SELECT id FROM doomed)",
)

# A row updated by one CTE cannot be deleted by another in the same statement: emptied rows go separately.
_DELETE_EMPTY_JOURNEYS = f"""
DELETE FROM journeys WHERE (campaign_id, email, domain) IN (SELECT * FROM unnest(%s::int[], %s::text[], %s::text[]))
  AND {JOURNEY_EMPTY}
"""
_DELETE_EMPTY_STATS = f"DELETE FROM domain_stats WHERE {ROLLUP_EMPTY}"
# Only hours (and days) the cutoff has reached can have been emptied.
_DELETE_EMPTY_HOURS = f"DELETE FROM hourly_stats WHERE hour <= %(cutoff)s AND {ROLLUP_EMPTY}"
_DELETE_EMPTY_DAYS = f"""DELETE FROM daily_stats
WHERE day <= (%(cutoff)s::timestamp AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AND {JOURNEY_EMPTY}"""


def delete_batch(conn: Conn, *, cutoff: datetime, batch: int, timezone: str) -> int:
    """Delete up to `batch` events older than `cutoff` and fold them out of the rollups (daily_stats' days are
    those of `timezone`, DASHBOARD_TIMEZONE); returns how many."""
    return _run(conn, _DELETE_BATCH, cutoff=cutoff, batch=batch, timezone=timezone)


def _retired_batch(table: str) -> str:
    """A batch of a detached month (common/partitions.py): its rows are no longer in `events`, so every event
    left there is kept."""
    return _subtract(f"SELECT id FROM {table} ORDER BY id LIMIT %(batch)s",
                     f"DELETE FROM {table} e USING doomed WHERE e.id = doomed.id RETURNING {_GONE_COLUMNS}",
                     kept="true")


def subtract_retired_batch(conn: Conn, *, table: str, batch: int, timezone: str) -> int:
    """Take up to `batch` rows of detached month `table` out of the rollups (deleting them from it); returns
    how many. Drops the table once it is empty."""
    month = month_of(table)
    if month is None:
        raise ValueError(f"not a month of events: {table!r}")
    end = datetime.combine(next_month(month), datetime.min.time())
    taken = _run(conn, _retired_batch(table), cutoff=end, batch=batch, timezone=timezone)
    if taken < batch:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    return taken


def retention_batch(conn: Conn, *, cutoff: datetime, batch: int, timezone: str) -> tuple[int, bool]:
    """One batch of retention in either layout of `events`: the rows of a detached month first (see
    detach_before), then events older than `cutoff` still in `events` (today's layout, or a month only partly
    past the cutoff). Returns how many events went and whether more may remain."""
    retired = retired_tables(conn)
    if retired:
        return subtract_retired_batch(conn, table=retired[0], batch=batch, timezone=timezone), True
    deleted = delete_batch(conn, cutoff=cutoff, batch=batch, timezone=timezone)
    return deleted, deleted == batch


def _run(conn: Conn, statement: str, *, cutoff: datetime, batch: int, timezone: str) -> int:
    """One batch of `statement` (_subtract's), and the rollup rows it emptied, in one transaction."""
    with conn.transaction():
        row = conn.execute(statement, {"cutoff": cutoff, "batch": batch, "tz": timezone}).fetchone()
        assert row is not None  # an aggregate always returns one row
        deleted, campaign_ids, emails, domains = row
        if campaign_ids:
            conn.execute(_DELETE_EMPTY_JOURNEYS, (campaign_ids, emails, domains))
            conn.execute(_DELETE_EMPTY_STATS)
        if deleted:
            conn.execute(_DELETE_EMPTY_HOURS, {"cutoff": cutoff})
            conn.execute(_DELETE_EMPTY_DAYS, {"cutoff": cutoff, "tz": timezone})
    return int(deleted)
