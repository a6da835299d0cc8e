"""Assertions about stored data shared by the API, worker and chaos tests."""

from typing import Any

import psycopg

from common.config import get_settings
from common.report_dimensions import DIMENSIONS, OTHER
from common.reports import fold
from common.vocabulary import EVENT_TYPES

# The recount reads only the list of event types (and their column names) from the vocabulary; its SQL is its
# own, written for clarity rather than speed, so a mistake in the production statements cannot hide here.
_TYPES = [t.name for t in EVENT_TYPES]
_IS_BOT = "coalesce((extra_params -> '_tracker' ->> 'is_bot')::boolean, false)"
_IS_UNKNOWN = "coalesce(extra_params -> '_tracker' ->> 'visitor' = 'unknown', false)"


def _per_type(template: str) -> str:
    return ", ".join(template.format(t=t) for t in _TYPES)


# Counters in the rollups' column order: events per type, bots per type, events of unknown visitors per type,
# revenue (all, bots, unknown visitors), recipients, recipients per type.
_ROLLUP_COLUMNS = ", ".join([f"{t}s" for t in _TYPES] + [f"bot_{t}s" for t in _TYPES]
                            + [f"unknown_{t}s" for t in _TYPES] + ["revenue", "bot_revenue", "unknown_revenue"]
                            + ["users"] + [f"{t}_users" for t in _TYPES])
_EVENT_RECOUNT = (_per_type("count(*) FILTER (WHERE event_type = '{t}')") + ", "
                  + _per_type("count(*) FILTER (WHERE event_type = '{t}' AND is_bot)") + ", "
                  + _per_type("count(*) FILTER (WHERE event_type = '{t}' AND is_unknown)") + ", "
                  # Revenue from the payout column, cross-checked against extra_params (assert_payouts_kept).
                  + "coalesce(sum(payout), 0), coalesce(sum(payout) FILTER (WHERE is_bot), 0), "
                  + "coalesce(sum(payout) FILTER (WHERE is_unknown), 0)")

_STATS_RECOUNT = f"""
SELECT domain, {_EVENT_RECOUNT}, count(DISTINCT email),
       {_per_type("count(DISTINCT email) FILTER (WHERE event_type = '{t}')")}
FROM (SELECT *, {_IS_BOT} AS is_bot, {_IS_UNKNOWN} AS is_unknown FROM events WHERE campaign_id = %s) e
GROUP BY domain ORDER BY domain
"""
_STATS = f"SELECT domain, {_ROLLUP_COLUMNS} FROM domain_stats WHERE campaign_id = %s ORDER BY domain"
# Events by the hour they happened; recipients by the hour of their first event (recounted from events too).
_HOURS_RECOUNT = f"""
WITH e AS (
    SELECT *, date_trunc('hour', created_at) AS hour, {_IS_BOT} AS is_bot, {_IS_UNKNOWN} AS is_unknown
    FROM events WHERE campaign_id = %(c)s
), firsts AS (
    SELECT date_trunc('hour', min(created_at)) AS hour, domain, {_per_type("bool_or(event_type = '{t}') AS has_{t}")}
    FROM e GROUP BY email, domain
), users AS (
    SELECT hour, domain, count(*) AS users, {_per_type("count(*) FILTER (WHERE has_{t}) AS {t}_users")}
    FROM firsts GROUP BY hour, domain
)
SELECT hour, domain, {_EVENT_RECOUNT},
       coalesce(max(u.users), 0), {_per_type("coalesce(max(u.{t}_users), 0)")}
FROM e LEFT JOIN users u USING (hour, domain)
GROUP BY hour, domain ORDER BY hour, domain
"""
_HOURS = f"SELECT hour, domain, {_ROLLUP_COLUMNS} FROM hourly_stats WHERE campaign_id = %s ORDER BY hour, domain"
_DAILY_COLUMNS = ", ".join([f"{t}s" for t in _TYPES] + [f"bot_{t}s" for t in _TYPES]
                           + [f"unknown_{t}s" for t in _TYPES] + ["revenue", "bot_revenue", "unknown_revenue"])
# Events (and revenue) by their day in the dashboard's time zone.
_DAYS_RECOUNT = f"""
SELECT (created_at AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AS day, {_EVENT_RECOUNT}
FROM (SELECT *, {_IS_BOT} AS is_bot, {_IS_UNKNOWN} AS is_unknown FROM events WHERE campaign_id = %(c)s) e
GROUP BY day ORDER BY day
"""
_DAYS = f"SELECT day, {_DAILY_COLUMNS} FROM daily_stats WHERE campaign_id = %(c)s ORDER BY day"
_JOURNEYS_RECOUNT = f"""
SELECT email, domain, min(created_at), max(created_at), {_per_type("count(*) FILTER (WHERE event_type = '{t}')")},
       count(*) FILTER (WHERE {_IS_BOT}), count(*) FILTER (WHERE {_IS_UNKNOWN}), coalesce(sum(payout), 0)
FROM events WHERE campaign_id = %s GROUP BY email, domain ORDER BY email, domain
"""
_JOURNEYS = f"""
SELECT email, domain, first_seen, last_seen, {_per_type("{t}s")}, bot_events, unknown_events, revenue
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
    assert_payouts_kept(conn, campaign_id)
    days = {"c": campaign_id, "tz": get_settings().dashboard_timezone}
    assert conn.execute(_DAYS, days).fetchall() == conn.execute(_DAYS_RECOUNT, days).fetchall()
    assert_reports_match_recount(conn, campaign_id)


# Report values: the dimensions' definitions (what a value is) come from common/report_dimensions.py; counting
# them is this recount's own. Recipients count at their first event of each type (created_at, then id).
_DIMENSION_ROWS = ", ".join(f"('{d.name}', left(coalesce({d.value.format(e='ev')}, ''), 200))" for d in DIMENSIONS)
# A slot's half: a fixed dimension's value (from the rows above) or a `param:` key's. A pair joins its halves with
# chr(31), one inside a half reading chr(65533).
_HALF = ("coalesce((SELECT f.value FROM (VALUES " + _DIMENSION_ROWS + ") AS f(dimension, value) "
         "WHERE f.dimension = {name}), left(coalesce(ev.extra_params ->> substr({name}, 7), ''), 200))")
_PAIR_HALF = "replace(" + _HALF + ", chr(31), chr(65533))"
# The campaign's param: reports and pairs, over the days they are filled through.
_SLOT_ROWS = f"""SELECT s.dimension, CASE WHEN s.then_dimension IS NULL THEN {_HALF.format(name="s.by_dimension")}
        ELSE {_PAIR_HALF.format(name="s.by_dimension")} || chr(31) || {_PAIR_HALF.format(name="s.then_dimension")}
        END
    FROM report_slots s
    WHERE s.campaign_id = ev.campaign_id AND (s.filled OR ev.day <= s.filled_through)"""
_REPORT_COLUMNS = _DAILY_COLUMNS + ", " + ", ".join(f"{t}_users" for t in _TYPES)
_REPORT_RECOUNT = f"""
WITH ev AS (
    SELECT *, {_IS_BOT} AS is_bot, {_IS_UNKNOWN} AS is_unknown,
           (created_at AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AS day
    FROM events WHERE campaign_id = %(c)s
), firsts AS (
    SELECT DISTINCT ON (email, domain, event_type) id, event_type AS first_of FROM ev
    ORDER BY email, domain, event_type, created_at, id
)
SELECT d.dimension, ev.day, d.value, {_EVENT_RECOUNT},
       {_per_type("count(*) FILTER (WHERE f.first_of = '{t}')")}
FROM ev LEFT JOIN firsts f USING (id) CROSS JOIN LATERAL (
    SELECT * FROM (VALUES {_DIMENSION_ROWS}) AS fixed
    UNION ALL
    {_SLOT_ROWS}
) AS d(dimension, value)
GROUP BY 1, 2, 3
"""
_REPORTS = f"SELECT dimension, day, value, {_REPORT_COLUMNS} FROM report_stats WHERE campaign_id = %(c)s"
# The drill-down's lookup: every journey with a counted event of a value, under that value (never "(other)").
_RECIPIENTS_RECOUNT = f"""
SELECT DISTINCT d.dimension, d.value, ev.email, ev.domain
FROM (SELECT *, (created_at AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AS day FROM events
      WHERE campaign_id = %(c)s AND id NOT IN (SELECT event_id FROM report_queue)) ev CROSS JOIN LATERAL (
    SELECT * FROM (VALUES {_DIMENSION_ROWS}) AS fixed
    UNION ALL
    {_SLOT_ROWS}
) AS d(dimension, value)
ORDER BY 1, 2, 3, 4
"""
_RECIPIENTS = "SELECT dimension, value, email, domain FROM report_recipients WHERE campaign_id = %(c)s ORDER BY 1, 2, 3, 4"


def assert_reports_match_recount(conn: psycopg.Connection[Any], campaign_id: int) -> None:
    """After a fold of the queue: every report row with a value of its own equals a recount of its events,
    "(other)" counts the rest of its (dimension, day), no (dimension, day) has more values than the cap, and
    report_recipients lists exactly the journeys of each value."""
    settings = get_settings()
    fold(conn, timezone=settings.dashboard_timezone, max_values=settings.report_max_values)
    params = {"c": campaign_id, "tz": settings.dashboard_timezone}
    recount = {tuple(r[:3]): tuple(r[3:]) for r in conn.execute(_REPORT_RECOUNT, params)}
    stored = {tuple(r[:3]): tuple(r[3:]) for r in conn.execute(_REPORTS, params)}
    width = len(next(iter(recount.values()), ())) or len(next(iter(stored.values()), ()))
    zero = (0,) * width
    expected: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for key, counts in recount.items():
        own = key if key in stored and key[2] != OTHER else (key[0], key[1], OTHER)
        expected[own] = tuple(a + b for a, b in zip(expected.get(own, zero), counts, strict=True))
    actual = {key: counts for key, counts in stored.items() if key in expected or any(counts)}
    assert actual == expected
    values: dict[tuple[Any, ...], int] = {}
    for dimension, day, value in stored:
        if value != OTHER:
            values[(dimension, day)] = values.get((dimension, day), 0) + 1
    assert max(values.values(), default=0) <= settings.report_max_values
    assert conn.execute(_RECIPIENTS, params).fetchall() == conn.execute(_RECIPIENTS_RECOUNT, params).fetchall()


def assert_payouts_kept(conn: psycopg.Connection[Any], campaign_id: int) -> None:
    """Every stored payout is the one extra_params kept, as sent (the column is not a float's rounding)."""
    differ = conn.execute("SELECT count(*) FROM events WHERE campaign_id = %s AND payout IS NOT NULL "
                          "AND payout <> (extra_params ->> 'payout')::numeric", (campaign_id,)).fetchone()
    assert differ == (0,)


def stored_ids(conn: psycopg.Connection[Any], campaign_id: int) -> list[int]:
    return [r[0] for r in conn.execute("SELECT id FROM events WHERE campaign_id = %s", (campaign_id,))]


def event_count(conn: psycopg.Connection[Any], campaign_id: int) -> int:
    row = conn.execute("SELECT count(*) FROM events WHERE campaign_id = %s", (campaign_id,)).fetchone()
    return int(row[0]) if row else 0
