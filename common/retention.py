"""Retention: delete events older than RETENTION_DAYS, taking them out of the rollups as they go.

Rollups stay equal to a recount of the events that remain: counts (per domain and per hour) are
decremented, a recipient whose per-type count drops to zero stops counting as a unique user of that type, a
journey with no events left is removed, and a journey's first_seen moves to its oldest remaining event (the
recipient moves to that hour in hourly_stats). Works in small batches, each
one transaction, so ingest is never blocked for long.
"""

from datetime import datetime
from typing import Any

import psycopg

from common.enrich import ENRICH_KEY
from common.rollups import (
    COUNT_EVENTS,
    EVENT_COUNTERS,
    HOUR,
    HOURLY_DELTAS,
    SUM_EVENTS,
    USER_COUNTERS,
    cohort_moves,
)

_TYPES = {"ec": "email_click", "lc": "landing_click", "cv": "conversion"}


def _count(alias: str, condition: str = "") -> str:
    return f"count(*) FILTER (WHERE event_type = '{_TYPES[alias]}'{condition}) AS {alias}"


def _subtract_events(target: str, deltas: str) -> str:
    return ", ".join(f"{c} = {target}.{c} - {deltas}.{c}" for c in EVENT_COUNTERS)


# cohort_moves' deltas are signed (recipients that left an hour are -1): added, where event counts are taken.
_ADD_USERS = ", ".join(f"{c} = h.{c} + hourly.{c}" for c in USER_COUNTERS)
# A journey with events left (the others are deleted below) is counted in the hour of its new first_seen.
_STILL_THERE = "email_clicks + landing_clicks + conversions > 0"

_DELETE_BATCH = f"""
WITH doomed AS (
    SELECT id FROM events WHERE created_at < %(cutoff)s ORDER BY created_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED
), del AS (
    DELETE FROM events e USING doomed WHERE e.id = doomed.id
    RETURNING e.campaign_id, e.email, e.domain, e.event_type, e.created_at,
              coalesce((e.extra_params -> '{ENRICH_KEY}' ->> 'is_bot')::boolean, false) AS is_bot
), jd AS (
    SELECT campaign_id, email, domain, {_count("ec")}, {_count("lc")}, {_count("cv")},
           count(*) FILTER (WHERE is_bot) AS bot
    FROM del GROUP BY campaign_id, email, domain
), jj AS (
    UPDATE journeys t SET
        previous_first_seen = t.first_seen,
        email_clicks = t.email_clicks - jd.ec,
        landing_clicks = t.landing_clicks - jd.lc,
        conversions = t.conversions - jd.cv,
        bot_events = t.bot_events - jd.bot,
        first_seen = coalesce((SELECT min(created_at) FROM events e WHERE e.campaign_id = t.campaign_id
                               AND e.email = t.email AND e.domain = t.domain
                               AND e.id NOT IN (SELECT id FROM doomed)), t.first_seen)
    FROM jd
    WHERE t.campaign_id = jd.campaign_id AND t.email = jd.email AND t.domain = jd.domain
    RETURNING t.campaign_id, t.email, t.domain, t.email_clicks, t.landing_clicks, t.conversions,
              t.first_seen, t.previous_first_seen, jd.ec, jd.lc, jd.cv
), ud AS (
    SELECT campaign_id, domain,
           count(*) FILTER (WHERE email_clicks = 0 AND landing_clicks = 0 AND conversions = 0) AS users,
           count(*) FILTER (WHERE ec > 0 AND email_clicks = 0) AS ec_users,
           count(*) FILTER (WHERE lc > 0 AND landing_clicks = 0) AS lc_users,
           count(*) FILTER (WHERE cv > 0 AND conversions = 0) AS cv_users
    FROM jj GROUP BY campaign_id, domain
), hd AS (
    SELECT campaign_id, {HOUR} AS hour, domain, {COUNT_EVENTS} FROM del GROUP BY 1, 2, 3
), hu AS (
    {cohort_moves(old_counts="+", old_exists="true", new_exists=_STILL_THERE)}
), hourly AS (
    {HOURLY_DELTAS}
), hs AS (
    UPDATE hourly_stats h SET {_subtract_events("h", "hourly")}, {_ADD_USERS}
    FROM hourly WHERE h.campaign_id = hourly.campaign_id AND h.hour = hourly.hour AND h.domain = hourly.domain
    RETURNING 1
), ed AS (
    SELECT campaign_id, domain, {SUM_EVENTS} FROM hd GROUP BY campaign_id, domain
), ds AS (
    UPDATE domain_stats s SET {_subtract_events("s", "ed")},
        users = s.users - ud.users, email_click_users = s.email_click_users - ud.ec_users,
        landing_click_users = s.landing_click_users - ud.lc_users,
        conversion_users = s.conversion_users - ud.cv_users
    FROM ed JOIN ud USING (campaign_id, domain)
    WHERE s.campaign_id = ed.campaign_id AND s.domain = ed.domain
    RETURNING 1
), emptied AS (
    SELECT campaign_id, email, domain FROM jj WHERE email_clicks = 0 AND landing_clicks = 0 AND conversions = 0
)
SELECT (SELECT count(*) FROM del), array_agg(campaign_id), array_agg(email), array_agg(domain) FROM emptied
"""

# A row updated by one CTE cannot be deleted by another in the same statement: emptied rows go separately.
_DELETE_EMPTY_JOURNEYS = """
DELETE FROM journeys WHERE (campaign_id, email, domain) IN (SELECT * FROM unnest(%s::int[], %s::text[], %s::text[]))
  AND email_clicks = 0 AND landing_clicks = 0 AND conversions = 0
"""
_DELETE_EMPTY_STATS = (
    "DELETE FROM domain_stats WHERE users = 0 AND email_clicks = 0 AND landing_clicks = 0 AND conversions = 0"
)
# Only hours the cutoff has reached can have been emptied.
_DELETE_EMPTY_HOURS = """
DELETE FROM hourly_stats
WHERE hour <= %(cutoff)s AND email_clicks = 0 AND landing_clicks = 0 AND conversions = 0 AND users = 0
"""


def delete_batch(conn: psycopg.Connection[Any], *, cutoff: datetime, batch: int) -> int:
    """Delete up to `batch` events older than `cutoff` and fold them out of the rollups; returns how many."""
    with conn.transaction():
        row = conn.execute(_DELETE_BATCH, {"cutoff": cutoff, "batch": batch}).fetchone()
        assert row is not None  # an aggregate always returns one row
        deleted, campaign_ids, emails, domains = row
        if campaign_ids:
            conn.execute(_DELETE_EMPTY_JOURNEYS, (campaign_ids, emails, domains))
            conn.execute(_DELETE_EMPTY_STATS)
        if deleted:
            conn.execute(_DELETE_EMPTY_HOURS, {"cutoff": cutoff})
    return int(deleted)
