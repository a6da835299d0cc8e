"""SQL pieces shared by everything that writes the rollups: ingest (common/store.py), the bulk generator and
retention. Each of them folds a set of event rows into journeys, domain_stats and hourly_stats; building their
counters and upserts here, from common/vocabulary.py, keeps the three in step with each other and with a
recount of `events`.

hourly_stats counts events by the hour they happened, and recipients by the hour their journey began
(journeys.first_seen): a date range then reads "recipients first seen in the range" off the same rows, where
counting distinct emails would scan every event in it.

Names inside the statements: a journey's change of a per-type count in one statement is `d_<plural>`
(`d_email_clicks`), and `has_<name>` says whether a journey counts as a recipient of that type.
"""
from collections.abc import Callable, Iterable

from common.enrich import ENRICH_KEY
from common.vocabulary import (
    ALL,
    AMOUNT_COUNTERS,
    DAILY_COUNTERS,
    EVENT_COUNTERS,
    EVENT_TYPES,
    FLAGGED,
    JOURNEY_AMOUNTS,
    JOURNEY_COUNTERS,
    JOURNEY_TYPE_COUNTERS,
    ROLLUP_COUNTERS,
    TRAFFIC,
    USER_COUNTERS,
    EventType,
    Traffic,
    events_column,
    revenue_column,
)

HOUR = "date_trunc('hour', created_at)"
# An event's day in DASHBOARD_TIMEZONE (the statement's %(tz)s parameter): daily_stats' key.
DAY = "(created_at AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date"


def delta(column: str) -> str:
    """The name of a journey counter's change in one statement."""
    return f"d_{column}"


def _list(items: Iterable[str]) -> str:
    return ", ".join(items)


def flags(alias: str = "") -> str:
    """Each flagged traffic's flag (is_bot, is_unknown) of an events row, from its stored enrichment: the
    columns that count_of() and COUNT_JOURNEY_DELTAS read. `alias` qualifies extra_params ("e.")."""
    return _list(f"coalesce({alias}extra_params -> '{ENRICH_KEY}' ->> '{tr.marker[0]}' = '{tr.marker[1]}', false) "
                 f"AS {tr.flag}" for tr in FLAGGED if tr.marker)


def count_of(event_type: EventType, traffic: Traffic = ALL) -> str:
    """Counts rows with `event_type` and flag columns (flags()) that are `event_type` events of `traffic`."""
    condition = f"event_type = '{event_type.name}'" + (f" AND {traffic.flag}" if traffic.flag else "")
    return f"count(*) FILTER (WHERE {condition})"


def sum_of(traffic: Traffic = ALL) -> str:
    """Sums the `payout` of rows with flag columns that are `traffic`'s events (0 when there is none)."""
    return f"coalesce(sum(payout){f' FILTER (WHERE {traffic.flag})' if traffic.flag else ''}, 0)"


# What a set of event rows adds to a rollup row, counted and summed once per event: the EVENT_COUNTERS and the
# AMOUNT_COUNTERS. (The USER_COUNTERS count recipients: cohort_moves and user_changes below.)
EVENT_MEASURES: tuple[str, ...] = EVENT_COUNTERS + AMOUNT_COUNTERS


def measure_events(sign: str = "") -> str:
    """The EVENT_MEASURES of rows with `event_type`, `payout` and flag columns, named as the columns; with `sign`
    "-", negated: what deleting the rows does to a rollup (retention adds that through ingest's upserts)."""
    return _list([f"{sign}{count_of(t, tr)} AS {events_column(t, tr)}" for tr in TRAFFIC for t in EVENT_TYPES]
                 + [f"{sign}{sum_of(tr)} AS {revenue_column(tr)}" for tr in TRAFFIC])


MEASURE_EVENTS = measure_events()
# ...and summed again from rows that already carry them (e.g. per hour -> per domain).
SUM_EVENTS = _list([f"sum({name})::bigint AS {name}" for name in EVENT_COUNTERS]
                   + [f"sum({name}) AS {name}" for name in AMOUNT_COUNTERS])

# The journey's counters and amounts, and their deltas of a set of event rows, per journey (in a GROUP BY
# campaign_id, email, domain).
_JOURNEY_VALUES: tuple[str, ...] = JOURNEY_COUNTERS + JOURNEY_AMOUNTS


def count_journey_values(name: Callable[[str], str] = str) -> str:
    """The journey's counters and amounts of a set of event rows (with flag columns), each named name(column)."""
    return _list(
        [f"{count_of(t)} AS {name(t.plural)}" for t in EVENT_TYPES]
        + [f"count(*) FILTER (WHERE {tr.flag}) AS {name(tr.prefix + 'events')}" for tr in FLAGGED]
        + [f"{sum_of()} AS {name(revenue_column())}"]
    )


COUNT_JOURNEY_DELTAS = count_journey_values(delta)
JOURNEY_COLUMNS = _list(_JOURNEY_VALUES)
JOURNEY_DELTAS = _list(delta(c) for c in _JOURNEY_VALUES)
# `journeys AS t` upserted with a row of deltas (ingest), or updated by CTE `jd`'s (retention).
ADD_TO_JOURNEY = _list(f"{c} = t.{c} + excluded.{c}" for c in _JOURNEY_VALUES)
SUBTRACT_FROM_JOURNEY = _list(f"{c} = t.{c} - jd.{delta(c)}" for c in _JOURNEY_VALUES)


def journey_counts(alias: str) -> str:
    """The journey's per-type counts, qualified by `alias` (what a statement returns of journeys it wrote)."""
    return _list(f"{alias}.{c}" for c in JOURNEY_TYPE_COUNTERS)


def journey_deltas(alias: str) -> str:
    """The per-type deltas of CTE `alias`."""
    return _list(f"{alias}.{delta(c)}" for c in JOURNEY_TYPE_COUNTERS)


# A journey with no events left (retention deletes it), and one that still has some.
JOURNEY_EMPTY = " AND ".join(f"{c} = 0" for c in JOURNEY_TYPE_COUNTERS)
JOURNEY_HAS_EVENTS = f"{' + '.join(JOURNEY_TYPE_COUNTERS)} > 0"
# A rollup row that counts nothing any more: no recipients, no events.
ROLLUP_EMPTY = " AND ".join(f"{c} = 0" for c in ("users", *JOURNEY_TYPE_COUNTERS))


def user_changes(*, gained: bool) -> str:
    """The USER_COUNTERS' changes per row of CTE `jj` (journeys a statement wrote, with their deltas): with
    `gained`, recipients whose journey was inserted (`users`) or whose count of a type now equals that type's
    delta; else recipients whose journey is now empty, or whose count of a type went to zero, negative (so
    UPSERT_DOMAIN_STATS adds either)."""
    if gained:
        users = "count(*) FILTER (WHERE inserted)"
        typed = [f"count(*) FILTER (WHERE {delta(c)} > 0 AND {c} = {delta(c)})" for c in JOURNEY_TYPE_COUNTERS]
    else:
        users = f"-count(*) FILTER (WHERE {JOURNEY_EMPTY})"
        typed = [f"-count(*) FILTER (WHERE {delta(c)} > 0 AND {c} = 0)" for c in JOURNEY_TYPE_COUNTERS]
    return _list(f"{sql} AS {name}" for sql, name in zip([users, *typed], USER_COUNTERS, strict=True))


def _add_to(alias: str, key: str) -> str:
    return f"ON CONFLICT ({key}) DO UPDATE SET " + _list(f"{c} = {alias}.{c} + excluded.{c}" for c in ROLLUP_COUNTERS)


# Upsert tails that add a row of deltas to a rollup (the INSERT names the table `s` or `h`).
ADD_TO_DOMAIN_STATS = _add_to("s", "campaign_id, domain")
ADD_TO_HOURLY_STATS = _add_to("h", "campaign_id, hour, domain")
DAILY_COLUMNS = _list(DAILY_COUNTERS)


def insert_daily(rows: str, *, sign: str = "") -> str:
    """Adds the EVENT_MEASURES of event rows `rows` (a CTE with campaign_id, created_at, event_type, payout and
    the flags) to daily_stats, per campaign and day, in key order; with `sign` "-", takes them away
    (retention: the day of a deleted event always has its row)."""
    return f"""INSERT INTO daily_stats AS d (campaign_id, day, {DAILY_COLUMNS})
    SELECT campaign_id, {DAY}, {measure_events(sign)} FROM {rows} GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (campaign_id, day) DO UPDATE SET {_list(f"{c} = d.{c} + excluded.{c}" for c in DAILY_COUNTERS)}
    RETURNING 1"""


ROLLUP_COLUMNS = _list(ROLLUP_COUNTERS)


def rollup_values(events_from: str, users_from: str) -> str:
    """The ROLLUP_COUNTERS of a row, the EVENT_MEASURES from `events_from` and the recipients from `users_from`."""
    return _list([f"{events_from}.{c}" for c in EVENT_MEASURES] + [f"{users_from}.{c}" for c in USER_COUNTERS])


# Adds CTE `ed` (events per campaign and domain) and CTE `ud` (user_changes) to domain_stats. Ingest and
# retention both write through it, inputs in key order, so two of them lock the rows in the same order and
# never deadlock (retention's UPDATE, in whatever order its join produced the rows, did: issue #19).
UPSERT_DOMAIN_STATS = f"""INSERT INTO domain_stats AS s (campaign_id, domain, {ROLLUP_COLUMNS})
    SELECT ed.campaign_id, ed.domain, {rollup_values("ed", "ud")}
    FROM ed JOIN ud USING (campaign_id, domain)
    ORDER BY ed.campaign_id, ed.domain
    {ADD_TO_DOMAIN_STATS}
    RETURNING 1"""


_VALUES = (*JOURNEY_TYPE_COUNTERS, "first_seen", "previous_first_seen")
_TYPE_DELTAS = tuple(delta(c) for c in JOURNEY_TYPE_COUNTERS)

# CTE `jj` for cohort_moves from an upsert's `j` (RETURNING the journeys' new values and `inserted`) and its
# deltas `jd`, paired by key in a grouped UNION rather than a join. The planner expects one row from
# RETURNING, so it paired them in a nested loop, O(n^2) in the batch: 512 events took 178 ms, 61 ms paired
# this way (EXPLAIN ANALYZE, 10 M events). (Retention's UPDATE returns the deltas itself: its `jj` is that.)
JOURNEYS_WITH_DELTAS = f"""SELECT campaign_id, email, domain, bool_or(inserted) AS inserted,
        {_list(f"max({c}) AS {c}" for c in _VALUES + _TYPE_DELTAS)}
    FROM (SELECT campaign_id, email, domain, inserted, {_list(_VALUES)},
                 {_list(f"NULL::bigint AS {d}" for d in _TYPE_DELTAS)}
          FROM j
          UNION ALL
          SELECT campaign_id, email, domain, NULL, {_list("NULL" for _ in _VALUES)}, {_list(_TYPE_DELTAS)}
          FROM jd) AS pairs
    GROUP BY campaign_id, email, domain"""


def cohort_moves(*, old_counts: str, old_exists: str, new_exists: str) -> str:
    """Per (campaign, hour, domain), how a statement changed the recipients counted there: the journeys it
    wrote (CTE `jj`: their new per-type counts, first_seen and previous_first_seen, and its deltas) leave the
    hour of their previous state (-1) and join the hour of their new one (+1); pairs that cancel out are
    dropped. `old_counts` is "-" when the deltas were added (ingest), "+" when they were taken (retention)."""
    flags = [f"has_{t.name}" for t in EVENT_TYPES]
    before = _list(f"{c} {old_counts} {delta(c)} > 0" for c in JOURNEY_TYPE_COUNTERS)
    after = _list(f"{c} > 0" for c in JOURNEY_TYPE_COUNTERS)
    sums = ["sum(n)"] + [f"coalesce(sum(n) FILTER (WHERE {flag}), 0)" for flag in flags]
    return f"""SELECT campaign_id, hour, domain, {_list(
        f"{total}::bigint AS {name}" for total, name in zip(sums, USER_COUNTERS, strict=True))}
    FROM (SELECT campaign_id, date_trunc('hour', first_seen) AS hour, domain, 1 AS n, {after}
          FROM jj WHERE {new_exists}
          UNION ALL
          SELECT campaign_id, date_trunc('hour', previous_first_seen), domain, -1, {before}
          FROM jj WHERE {old_exists}) AS moves(campaign_id, hour, domain, n, {_list(flags)})
    GROUP BY campaign_id, hour, domain
    HAVING {" OR ".join(f"{total} <> 0" for total in sums)}"""


# CTE `hd` (events per campaign, hour, domain) and CTE `hu` (cohort_moves) as one row per hourly_stats key.
HOURLY_DELTAS = "SELECT campaign_id, hour, domain, " + _list(
    [f"coalesce(hd.{c}, 0) AS {c}" for c in EVENT_MEASURES] + [f"coalesce(hu.{c}, 0) AS {c}" for c in USER_COUNTERS]
) + " FROM hd FULL JOIN hu USING (campaign_id, hour, domain)"

# Adds the rows of CTE `hourly` (campaign_id, hour, domain and ROLLUP_COUNTERS) to hourly_stats.
INSERT_HOURLY = f"""INSERT INTO hourly_stats AS h (campaign_id, hour, domain, {ROLLUP_COLUMNS})
    SELECT campaign_id, hour, domain, {ROLLUP_COLUMNS} FROM hourly ORDER BY campaign_id, hour, domain
    {ADD_TO_HOURLY_STATS}
    RETURNING 1"""
