"""Bulk test data: millions of events with a realistic funnel, generated inside Postgres, rollups included.

For load-testing the dashboard (bench/dashboard.py), not for demos: rows are written straight to the
tables, bypassing the API. Recipients are processed in chunks; every chunk inserts its recipients' events
and folds them into journeys, hourly_stats and domain_stats in one transaction, so an interrupted run leaves
consistent (if smaller) data.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from common.enrich import ENRICH_KEY
from common.rollups import (
    ADD_TO_DOMAIN_STATS,
    COUNT_EVENTS,
    DOMAIN_STATS_COUNTERS,
    HOUR,
    HOURLY_DELTAS,
    INSERT_HOURLY,
)


@dataclass(frozen=True)
class Shape:
    events: int
    users: int
    domains: int
    days: int = 30
    landing_rate: float = 0.40  # share of recipients who click through on the landing page
    conversion_rate: float = 0.18  # share of those who convert
    bot_rate: float = 0.12  # share of email clicks made by security scanners

    @property
    def extra_email_clicks_per_user(self) -> float:
        """Repeat email clicks that bring the total to `events`."""
        funnel = 1 + self.landing_rate + self.landing_rate * self.conversion_rate
        return max(0.0, self.events / self.users - funnel)


# One chunk of recipients [lo, hi): every recipient has a first email click; some have repeat clicks
# (scanners among them), some a landing click, some of those a conversion.
_INSERT_EVENTS = f"""
WITH recipients AS (
    SELECT u,
           'user' || u || '@' || (ARRAY['gmail.com','yahoo.com','outlook.com','hotmail.com','aol.com',
                                        'icloud.com'])[1 + u %% 6] AS email,
           'mail' || (u %% %(domains)s) || '.sender-example.com' AS domain,
           now() - make_interval(secs => random() * %(days)s * 86400) AS t0,
           random() AS r,
           -- repeat clicks, exponential: most recipients click once or twice, a few (scanners) many times
           floor(-ln(1 - random()) * %(extra)s + random())::int AS repeats
    FROM generate_series(%(lo)s, %(hi)s - 1) AS u
), rows AS (
    SELECT email, domain, 'email_click' AS type, t0 AS ts, false AS bot FROM recipients
    UNION ALL
    SELECT email, domain, 'email_click', t0 + make_interval(secs => k * 7), random() < %(bot_share)s
    FROM recipients, generate_series(1, repeats) AS k
    UNION ALL
    SELECT email, domain, 'landing_click', t0 + interval '40 seconds', false FROM recipients
    WHERE r < %(landing)s
    UNION ALL
    SELECT email, domain, 'conversion', t0 + interval '5 minutes', false FROM recipients
    WHERE r < %(landing)s * %(conversion)s
), ins AS (
INSERT INTO events (id, campaign_id, event_type, email, domain, ip, user_agent, extra_params, created_at)
SELECT nextval('events_id_seq'), %(cid)s, type, email, domain, '198.51.100.' || (1 + abs(hashtext(email)) %% 250),
       CASE WHEN bot THEN 'Mozilla/5.0 (compatible; SafeLinks)' ELSE
            'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36' END,
       jsonb_build_object('utm_source', 'newsletter', '{ENRICH_KEY}', jsonb_build_object(
           'browser', CASE WHEN bot THEN 'Other' ELSE 'Chrome 120' END, 'os', 'Windows 10',
           'device', 'Other', 'country', 'US', 'asn', NULL, 'is_bot', bot,
           'bot_reason', CASE WHEN bot THEN 'scanner: Microsoft Safe Links' END)),
       ts
FROM rows
RETURNING email, domain, event_type, created_at,
          coalesce((extra_params -> '{ENRICH_KEY}' ->> 'is_bot')::boolean, false) AS is_bot
)
"""

# ...then the rollups (journeys, hourly_stats, domain_stats) from the inserted rows (each recipient lives in
# exactly one chunk).
_COUNTERS = ", ".join(DOMAIN_STATS_COUNTERS)
_ROLLUP_CHUNK = f"""
, e AS (SELECT * FROM ins), j AS (
    INSERT INTO journeys (campaign_id, email, domain, first_seen, last_seen, email_clicks, landing_clicks,
                          conversions, bot_events, last_email_click_at)
    SELECT %(cid)s, email, domain, min(created_at), max(created_at),
           count(*) FILTER (WHERE event_type = 'email_click'),
           count(*) FILTER (WHERE event_type = 'landing_click'),
           count(*) FILTER (WHERE event_type = 'conversion'),
           count(*) FILTER (WHERE is_bot),
           max(created_at) FILTER (WHERE event_type = 'email_click' AND NOT is_bot)
    FROM e GROUP BY email, domain
    RETURNING domain, email_clicks, landing_clicks, conversions, first_seen
), hd AS (
    SELECT %(cid)s AS campaign_id, {HOUR} AS hour, domain, {COUNT_EVENTS} FROM e GROUP BY 2, 3
), hu AS (
    SELECT %(cid)s AS campaign_id, date_trunc('hour', first_seen) AS hour, domain, count(*) AS users,
           count(*) FILTER (WHERE email_clicks > 0) AS email_click_users,
           count(*) FILTER (WHERE landing_clicks > 0) AS landing_click_users,
           count(*) FILTER (WHERE conversions > 0) AS conversion_users
    FROM j GROUP BY 2, 3
), hourly AS (
    {HOURLY_DELTAS}
), hs AS (
    {INSERT_HOURLY}
), ds AS (
-- A recipient is first seen in exactly one hour, so the chunk's hours add up to its domain totals.
INSERT INTO domain_stats AS s (campaign_id, domain, {_COUNTERS})
SELECT %(cid)s, domain, {", ".join(f"sum({c})" for c in DOMAIN_STATS_COUNTERS)}
FROM hourly GROUP BY domain
{ADD_TO_DOMAIN_STATS}
RETURNING 1
)
SELECT count(*) FROM ins
"""

_CHUNK = _INSERT_EVENTS + _ROLLUP_CHUNK


def generate(
    conn: psycopg.Connection[Any],
    *,
    campaign_id: int,
    shape: Shape,
    chunk_users: int = 20_000,
    progress: Callable[[int, int], None] = lambda users, events: None,
) -> int:
    """Fill `campaign_id` (which must have no journeys yet) and its rollups; returns events inserted.

    `progress(recipients_in_chunk, events_so_far)` is called after every chunk.
    """
    total = 0
    for lo in range(0, shape.users, chunk_users):
        hi = min(lo + chunk_users, shape.users)
        params = {
            "cid": campaign_id,
            "lo": lo,
            "hi": hi,
            "domains": shape.domains,
            "days": shape.days,
            "landing": shape.landing_rate,
            "conversion": shape.conversion_rate,
            "extra": shape.extra_email_clicks_per_user,
            "bot_share": shape.bot_rate,
        }
        with conn.transaction():
            row = conn.execute(_CHUNK, params).fetchone()
        total += row[0] if row else 0
        progress(hi - lo, total)
    conn.execute("ANALYZE events")
    conn.execute("ANALYZE journeys")
    conn.execute("ANALYZE domain_stats")
    conn.execute("ANALYZE hourly_stats")
    return total
