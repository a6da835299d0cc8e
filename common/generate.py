"""Bulk test data: millions of events with a realistic funnel, generated inside Postgres, rollups included.

For load-testing the dashboard (bench/dashboard.py), not for demos: rows are written straight to the
tables, bypassing the API. Recipients are processed in chunks; every chunk inserts its recipients' events
and folds them into journeys, hourly_stats and domain_stats in one transaction, so an interrupted run leaves
consistent (if smaller) data.
"""

from collections.abc import Callable
from dataclasses import dataclass

from common.db import Conn
from common.enrich import ENRICH_KEY
from common.reports import add_new_journeys
from common.rollups import (
    ADD_TO_DOMAIN_STATS,
    COUNT_JOURNEY_DELTAS,
    HOUR,
    HOURLY_DELTAS,
    INSERT_HOURLY,
    JOURNEY_COLUMNS,
    JOURNEY_DELTAS,
    MEASURE_EVENTS,
    ROLLUP_COLUMNS,
    flags,
    insert_daily,
)
from common.vocabulary import (
    EMAIL_CLICK,
    ENTRY,
    EVENT_TYPES,
    JOURNEY_TYPE_COUNTERS,
    PAYING_TYPES,
    ROLLUP_COUNTERS,
    USER_COUNTERS,
)

# Of the recipients who reached the previous step of the funnel, the share who go on to this event type, and
# how long after their first email click. A type not listed here gets _OTHER_STEP.
_STEPS: dict[str, tuple[float, int]] = {"landing_click": (0.40, 40), "conversion": (0.18, 300)}
_OTHER_STEP = (0.5, 120)


@dataclass(frozen=True)
class Shape:
    events: int
    users: int
    domains: int
    days: int = 30
    bot_rate: float = 0.12  # share of repeat email clicks made by security scanners

    @property
    def steps(self) -> list[tuple[str, float, int]]:
        """(event type, share of all recipients who reach it, seconds after the first click) for each type
        after the funnel's entry."""
        reach, out = 1.0, []
        for event_type in EVENT_TYPES[1:]:
            rate, seconds = _STEPS.get(event_type.name, _OTHER_STEP)
            reach *= rate
            out.append((event_type.name, reach, seconds))
        return out

    @property
    def extra_email_clicks_per_user(self) -> float:
        """Repeat email clicks that bring the total to `events`."""
        funnel = 1 + sum(reach for _, reach, _ in self.steps)
        return max(0.0, self.events / self.users - funnel)


def _funnel_rows(shape: Shape) -> str:
    """The UNION ALL arms that add each later funnel step's events for the recipients who reach it."""
    return "".join(f"""
    UNION ALL
    SELECT email, domain, '{name}', t0 + interval '{seconds} seconds', false FROM recipients WHERE r < {reach!r}"""
                   for name, reach, seconds in shape.steps)


# Who the recipients are, for the reports (common/report_dimensions.py) to have something to break down: each
# has one device (a user agent and what enrichment makes of it), a country and network, and arrived through
# one newsletter link (UTM tags and sub-ids). Choices are skewed (random()^k picks the first entries most):
# a few big countries, browsers and sources, and long tails of keywords and sub-ids.
_DEVICES = (  # (user agent, browser, os, ua-parser's device family)
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
     "Chrome 120", "Windows 10", "Other"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Version/17.1 Mobile/15E148 "
     "Safari/604.1", "Mobile Safari 17", "iOS 17", "iPhone"),
    ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
     "Chrome Mobile 120", "Android 14", "Samsung SM-S918B"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15",
     "Safari 17", "Mac OS X 10", "Mac"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
     "Firefox 121", "Windows 10", "Other"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0",
     "Edge 120", "Windows 10", "Other"),
    ("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Version/17.1 Mobile/15E148 Safari/604.1",
     "Mobile Safari 17", "iOS 17", "iPad"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox 121", "Linux", "Other"),
    ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
     "Chrome 120", "Android 13", "Samsung SM-X700"),
)
_COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "NL", "ES", "IT", "BR", "IN", "SE", "PL", "MX", "JP", "IE",
              "BE", "CH", "AT", "NZ", "DK", "NO", "FI", "PT", "ZA")
_NETWORKS = ("Comcast Cable", "AT&T Services", "Verizon Business", "Deutsche Telekom AG", "Orange", "BT",
             "Vodafone", "Charter Communications", "T-Mobile USA", "Telefonica", "Virgin Media", "Free SAS")
_SOURCES = ("newsletter", "promo", "digest", "partner", "winback", "onboarding")
_MEDIUMS = ("email", "email", "email", "newsletter", "crm")


def _array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _pick(values: tuple[str, ...], skew: int) -> str:
    """SQL: one of `values`, the first ones most often (skew 1 is uniform)."""
    return f"({_array(values)})[1 + floor(power(random(), {skew}) * {len(values)})::int]"


_PROFILE = f"""floor(power(random(), 2) * {len(_DEVICES)})::int AS device,
           {_pick(_COUNTRIES, 3)} AS country, {_pick(_NETWORKS, 2)} AS network,
           {_pick(_SOURCES, 2)} AS utm_source, {_pick(_MEDIUMS, 1)} AS utm_medium,
           'spring-' || (1 + floor(power(random(), 2) * 40)::int) AS utm_campaign,
           'kw' || floor(power(random(), 3) * 5000)::int AS utm_term,
           'v' || (1 + u %% 7) AS utm_content,
           'pub' || floor(power(random(), 4) * 20000)::int AS sub1"""
_DEVICE_FIELDS = {name: "(" + _array(tuple(d[i] for d in _DEVICES)) + ")"
                  for i, name in enumerate(("ua", "browser", "os", "family"))}

# One chunk of recipients [lo, hi): every recipient has a first email click; some have repeat clicks
# (scanners among them), and some go on through the funnel's later steps. Every event carries a click id of
# its own (a key with a value per event: what the reports' cap is for).
_INSERT_EVENTS = """
WITH recipients AS (
    SELECT u,
           'user' || u || '@' || (ARRAY['gmail.com','yahoo.com','outlook.com','hotmail.com','aol.com',
                                        'icloud.com'])[1 + u %% 6] AS email,
           'mail' || (u %% %(domains)s) || '.sender-example.com' AS domain,
           now() - make_interval(secs => random() * %(days)s * 86400) AS t0,
           random() AS r,
           -- repeat clicks, exponential: most recipients click once or twice, a few (scanners) many times
           floor(-ln(1 - random()) * %(extra)s + random())::int AS repeats,
           {profile}
    FROM generate_series(%(lo)s, %(hi)s - 1) AS u
), rows AS (
    SELECT email, domain, '{entry}' AS type, t0 AS ts, false AS bot FROM recipients
    UNION ALL
    SELECT email, domain, '{entry}', t0 + make_interval(secs => k * 7), random() < %(bot_share)s
    FROM recipients, generate_series(1, repeats) AS k{funnel}
), paid AS (
    -- a payout on each paying event (conversions): 8 to 48 in the campaign's currency, most of them small
    SELECT rows.*, p.device, p.country, p.network, p.utm_source, p.utm_medium, p.utm_campaign, p.utm_term,
           p.utm_content, p.sub1,
           CASE WHEN type IN ({paying}) THEN round((8 * exp(random() * 1.8))::numeric, 2) END AS payout
    FROM rows JOIN recipients p USING (email, domain)
), ins AS (
INSERT INTO events (id, campaign_id, event_type, email, domain, ip, user_agent, extra_params, payout, created_at)
SELECT nextval('events_id_seq'), %(cid)s, type, email, domain, '198.51.100.' || (1 + abs(hashtext(email)) %% 250),
       CASE WHEN bot THEN 'Mozilla/5.0 (compatible; SafeLinks)' ELSE {ua}[1 + device] END,
       jsonb_strip_nulls(jsonb_build_object(
           'utm_source', utm_source, 'utm_medium', utm_medium, 'utm_campaign', utm_campaign,
           'utm_term', utm_term, 'utm_content', utm_content, 'sub1', sub1,
           'click_id', md5(random()::text), 'payout', payout::text)) || jsonb_build_object(
           '{enrich_key}', jsonb_build_object(
           'browser', CASE WHEN bot THEN 'Other' ELSE {browser}[1 + device] END,
           'os', CASE WHEN bot THEN 'Other' ELSE {os}[1 + device] END,
           'device', CASE WHEN bot THEN 'Other' ELSE {family}[1 + device] END,
           'country', CASE WHEN bot THEN 'US' ELSE country END,
           'asn', CASE WHEN bot THEN 'Microsoft Corporation' ELSE network END, 'is_bot', bot,
           'bot_reason', CASE WHEN bot THEN 'scanner: Microsoft Safe Links' END)),
       payout, ts
FROM paid
RETURNING id, campaign_id, email, domain, event_type, payout, created_at, {flags}
)
"""

# ...then the rollups (journeys, hourly_stats, domain_stats) from the inserted rows (each recipient lives in
# exactly one chunk, so every journey is new and first seen in the hour of its first event).
_ROLLUP_CHUNK = f"""
, e AS (SELECT * FROM ins), jd AS (
    SELECT email, domain, {COUNT_JOURNEY_DELTAS}, min(created_at) AS first_seen, max(created_at) AS last_seen,
           max(created_at) FILTER (WHERE event_type = '{EMAIL_CLICK.name}' AND NOT is_bot) AS last_click
    FROM e GROUP BY email, domain
), j AS (
    INSERT INTO journeys (campaign_id, email, domain, first_seen, last_seen, {JOURNEY_COLUMNS}, last_email_click_at)
    SELECT %(cid)s, email, domain, first_seen, last_seen, {JOURNEY_DELTAS}, last_click FROM jd
    RETURNING domain, {", ".join(JOURNEY_TYPE_COUNTERS)}, first_seen
), hd AS (
    SELECT %(cid)s AS campaign_id, {HOUR} AS hour, domain, {MEASURE_EVENTS} FROM e GROUP BY 2, 3
), hu AS (
    SELECT %(cid)s AS campaign_id, date_trunc('hour', first_seen) AS hour, domain, {", ".join(
        f"count(*) FILTER (WHERE {c} > 0) AS {u}" if c else f"count(*) AS {u}"
        for c, u in zip(("", *JOURNEY_TYPE_COUNTERS), USER_COUNTERS, strict=True))}
    FROM j GROUP BY 2, 3
), hourly AS (
    {HOURLY_DELTAS}
), hs AS (
    {INSERT_HOURLY}
), ds AS (
-- A recipient is first seen in exactly one hour, so the chunk's hours add up to its domain totals.
INSERT INTO domain_stats AS s (campaign_id, domain, {ROLLUP_COLUMNS})
SELECT %(cid)s, domain, {", ".join(f"sum({c})" for c in ROLLUP_COUNTERS)}
FROM hourly GROUP BY domain
{ADD_TO_DOMAIN_STATS}
RETURNING 1
), dd AS (
    {insert_daily("e")}
)
SELECT count(*), array_agg(id) FROM ins
"""


def _chunk_statement(shape: Shape) -> str:
    paying = ", ".join(f"'{t.name}'" for t in PAYING_TYPES) or "NULL"
    return (_INSERT_EVENTS.format(entry=ENTRY.name, funnel=_funnel_rows(shape), enrich_key=ENRICH_KEY, flags=flags(),
                                  paying=paying, profile=_PROFILE, **_DEVICE_FIELDS) + _ROLLUP_CHUNK)


def generate(
    conn: Conn,
    *,
    campaign_id: int,
    shape: Shape,
    chunk_users: int = 20_000,
    progress: Callable[[int, int], None] = lambda users, events: None,
    analyze: bool = True,
    timezone: str,
    max_values: int,
) -> int:
    """Fill `campaign_id` (which must have no journeys yet) and its rollups; returns events inserted.

    `progress(recipients_in_chunk, events_so_far)` is called after every chunk; `timezone` is
    DASHBOARD_TIMEZONE (daily_stats' and report_stats' days), `max_values` REPORT_MAX_VALUES.
    """
    total = 0
    statement = _chunk_statement(shape)
    for lo in range(0, shape.users, chunk_users):
        hi = min(lo + chunk_users, shape.users)
        params = {
            "cid": campaign_id,
            "lo": lo,
            "hi": hi,
            "domains": shape.domains,
            "days": shape.days,
            "extra": shape.extra_email_clicks_per_user,
            "bot_share": shape.bot_rate,
            "tz": timezone,
        }
        with conn.transaction():
            row = conn.execute(statement, params).fetchone()
            if row and row[1]:
                # The reports (common/reports.py) straight from the new rows: the queue is for ingest.
                add_new_journeys(conn, row[1], timezone=timezone, max_values=max_values)
        total += row[0] if row else 0
        progress(hi - lo, total)
    if analyze:  # a caller generating many campaigns analyses once, at the end: analyze_tables
        analyze_tables(conn)
    return total


def analyze_tables(conn: Conn) -> None:
    """ANALYZE what the generator fills: bulk-loaded tables keep the statistics of before until then, and the
    report statements planned on them read whole tables (docs/explain.md, session 10)."""
    for table in ("campaigns", "events", "journeys", "domain_stats", "hourly_stats", "daily_stats", "report_stats",
                  "report_recipients"):
        conn.execute(f"ANALYZE {table}")
