"""Assertions about stored data shared by the API, worker and chaos tests."""

from typing import Any

import psycopg

_STATS_RECOUNT = """
SELECT domain,
       count(*) FILTER (WHERE event_type = 'email_click'),
       count(*) FILTER (WHERE event_type = 'landing_click'),
       count(*) FILTER (WHERE event_type = 'conversion'),
       count(*) FILTER (WHERE event_type = 'email_click' AND is_bot),
       count(*) FILTER (WHERE event_type = 'landing_click' AND is_bot),
       count(*) FILTER (WHERE event_type = 'conversion' AND is_bot),
       count(DISTINCT email),
       count(DISTINCT email) FILTER (WHERE event_type = 'email_click'),
       count(DISTINCT email) FILTER (WHERE event_type = 'landing_click'),
       count(DISTINCT email) FILTER (WHERE event_type = 'conversion')
FROM (SELECT *, coalesce((extra_params -> '_tracker' ->> 'is_bot')::boolean, false) AS is_bot
      FROM events WHERE campaign_id = %s) e
GROUP BY domain ORDER BY domain
"""
_STATS = """
SELECT domain, email_clicks, landing_clicks, conversions, bot_email_clicks, bot_landing_clicks,
       bot_conversions, users, email_click_users, landing_click_users, conversion_users
FROM domain_stats WHERE campaign_id = %s ORDER BY domain
"""
# Events by the hour they happened; recipients by the hour of their first event (recounted from events too).
_HOURS_RECOUNT = """
WITH e AS (
    SELECT *, date_trunc('hour', created_at) AS hour,
           coalesce((extra_params -> '_tracker' ->> 'is_bot')::boolean, false) AS is_bot
    FROM events WHERE campaign_id = %(c)s
), firsts AS (
    SELECT date_trunc('hour', min(created_at)) AS hour, domain,
           bool_or(event_type = 'email_click') AS ec, bool_or(event_type = 'landing_click') AS lc,
           bool_or(event_type = 'conversion') AS cv
    FROM e GROUP BY email, domain
), users AS (
    SELECT hour, domain, count(*) AS users, count(*) FILTER (WHERE ec) AS ec, count(*) FILTER (WHERE lc) AS lc,
           count(*) FILTER (WHERE cv) AS cv
    FROM firsts GROUP BY hour, domain
)
SELECT hour, domain,
       count(*) FILTER (WHERE event_type = 'email_click'),
       count(*) FILTER (WHERE event_type = 'landing_click'),
       count(*) FILTER (WHERE event_type = 'conversion'),
       count(*) FILTER (WHERE event_type = 'email_click' AND is_bot),
       count(*) FILTER (WHERE event_type = 'landing_click' AND is_bot),
       count(*) FILTER (WHERE event_type = 'conversion' AND is_bot),
       coalesce(max(u.users), 0), coalesce(max(u.ec), 0), coalesce(max(u.lc), 0), coalesce(max(u.cv), 0)
FROM e LEFT JOIN users u USING (hour, domain)
GROUP BY hour, domain ORDER BY hour, domain
"""
_HOURS = """
SELECT hour, domain, email_clicks, landing_clicks, conversions, bot_email_clicks, bot_landing_clicks,
       bot_conversions, users, email_click_users, landing_click_users, conversion_users
FROM hourly_stats WHERE campaign_id = %s ORDER BY hour, domain
"""
_JOURNEYS_RECOUNT = """
SELECT email, domain, min(created_at), max(created_at),
       count(*) FILTER (WHERE event_type = 'email_click'),
       count(*) FILTER (WHERE event_type = 'landing_click'),
       count(*) FILTER (WHERE event_type = 'conversion'),
       count(*) FILTER (WHERE coalesce((extra_params -> '_tracker' ->> 'is_bot')::boolean, false))
FROM events WHERE campaign_id = %s GROUP BY email, domain ORDER BY email, domain
"""
_JOURNEYS = """
SELECT email, domain, first_seen, last_seen, email_clicks, landing_clicks, conversions, bot_events
FROM journeys WHERE campaign_id = %s ORDER BY email, domain
"""


def assert_hours_match_recount(conn: psycopg.Connection[Any], campaign_id: int) -> None:
    """Every hourly_stats row of the campaign equals a recount of its events in that hour."""
    assert (
        conn.execute(_HOURS, (campaign_id,)).fetchall()
        == conn.execute(_HOURS_RECOUNT, {"c": campaign_id}).fetchall()
    )


def assert_rollups_match_recount(conn: psycopg.Connection[Any], campaign_id: int) -> None:
    """Every rollup row equals a recount of the campaign's events."""
    assert (
        conn.execute(_STATS, (campaign_id,)).fetchall()
        == conn.execute(_STATS_RECOUNT, (campaign_id,)).fetchall()
    )
    assert_hours_match_recount(conn, campaign_id)
    assert (
        conn.execute(_JOURNEYS, (campaign_id,)).fetchall()
        == conn.execute(_JOURNEYS_RECOUNT, (campaign_id,)).fetchall()
    )


def stored_ids(conn: psycopg.Connection[Any], campaign_id: int) -> list[int]:
    return [r[0] for r in conn.execute("SELECT id FROM events WHERE campaign_id = %s", (campaign_id,))]


def event_count(conn: psycopg.Connection[Any], campaign_id: int) -> int:
    row = conn.execute("SELECT count(*) FROM events WHERE campaign_id = %s", (campaign_id,)).fetchone()
    return int(row[0]) if row else 0
