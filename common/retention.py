"""Retention: delete events older than RETENTION_DAYS, taking them out of the rollups as they go.

Rollups stay equal to a recount of the events that remain: counts are decremented, a recipient whose
per-type count drops to zero stops counting as a unique user of that type, a journey with no events left
is removed, and a journey's first_seen moves to its oldest remaining event. Works in small batches, each
one transaction, so ingest is never blocked for long.
"""

from datetime import datetime
from typing import Any

import psycopg

from common.enrich import ENRICH_KEY

_TYPES = {"ec": "email_click", "lc": "landing_click", "cv": "conversion"}


def _count(alias: str, condition: str = "") -> str:
    return f"count(*) FILTER (WHERE event_type = '{_TYPES[alias]}'{condition}) AS {alias}"


_DELETE_BATCH = f"""
WITH doomed AS (
    SELECT id FROM events WHERE created_at < %(cutoff)s ORDER BY created_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED
), del AS (
    DELETE FROM events e USING doomed WHERE e.id = doomed.id
    RETURNING e.campaign_id, e.email, e.domain, e.event_type,
              coalesce((e.extra_params -> '{ENRICH_KEY}' ->> 'is_bot')::boolean, false) AS is_bot
), jd AS (
    SELECT campaign_id, email, domain, {_count("ec")}, {_count("lc")}, {_count("cv")},
           count(*) FILTER (WHERE is_bot) AS bot
    FROM del GROUP BY campaign_id, email, domain
), j AS (
    UPDATE journeys t SET
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
              jd.ec, jd.lc, jd.cv
), ud AS (
    SELECT campaign_id, domain,
           count(*) FILTER (WHERE email_clicks = 0 AND landing_clicks = 0 AND conversions = 0) AS users,
           count(*) FILTER (WHERE ec > 0 AND email_clicks = 0) AS ec_users,
           count(*) FILTER (WHERE lc > 0 AND landing_clicks = 0) AS lc_users,
           count(*) FILTER (WHERE cv > 0 AND conversions = 0) AS cv_users
    FROM j GROUP BY campaign_id, domain
), ed AS (
    SELECT campaign_id, domain, {_count("ec")}, {_count("lc")}, {_count("cv")},
           count(*) FILTER (WHERE event_type = 'email_click' AND is_bot) AS bot_ec,
           count(*) FILTER (WHERE event_type = 'landing_click' AND is_bot) AS bot_lc,
           count(*) FILTER (WHERE event_type = 'conversion' AND is_bot) AS bot_cv
    FROM del GROUP BY campaign_id, domain
), ds AS (
    UPDATE domain_stats s SET
        email_clicks = s.email_clicks - ed.ec, landing_clicks = s.landing_clicks - ed.lc,
        conversions = s.conversions - ed.cv, bot_email_clicks = s.bot_email_clicks - ed.bot_ec,
        bot_landing_clicks = s.bot_landing_clicks - ed.bot_lc, bot_conversions = s.bot_conversions - ed.bot_cv,
        users = s.users - ud.users, email_click_users = s.email_click_users - ud.ec_users,
        landing_click_users = s.landing_click_users - ud.lc_users,
        conversion_users = s.conversion_users - ud.cv_users
    FROM ed JOIN ud USING (campaign_id, domain)
    WHERE s.campaign_id = ed.campaign_id AND s.domain = ed.domain
    RETURNING 1
), emptied AS (
    SELECT campaign_id, email, domain FROM j WHERE email_clicks = 0 AND landing_clicks = 0 AND conversions = 0
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


def delete_batch(conn: psycopg.Connection[Any], *, cutoff: datetime, batch: int) -> int:
    """Delete up to `batch` events older than `cutoff` and fold them out of the rollups; returns how many."""
    with conn.transaction():
        row = conn.execute(_DELETE_BATCH, {"cutoff": cutoff, "batch": batch}).fetchone()
        assert row is not None  # an aggregate always returns one row
        deleted, campaign_ids, emails, domains = row
        if campaign_ids:
            conn.execute(_DELETE_EMPTY_JOURNEYS, (campaign_ids, emails, domains))
            conn.execute(_DELETE_EMPTY_STATS)
    return int(deleted)
