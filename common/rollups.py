"""SQL pieces shared by everything that writes the rollups: ingest (common/store.py), the bulk generator and
retention. Each of them folds a set of event rows into domain_stats and hourly_stats; keeping the counters
and their upserts in one place keeps the three in step with each other and with a recount of `events`.

hourly_stats counts events by the hour they happened, and recipients by the hour their journey began
(journeys.first_seen): a date range then reads "recipients first seen in the range" off the same rows, where
counting distinct emails would scan every event in it.
"""

# Per event type, all traffic and the bots among them (human = total - bot). Both rollups have these.
EVENT_COUNTERS = (
    "email_clicks",
    "landing_clicks",
    "conversions",
    "bot_email_clicks",
    "bot_landing_clicks",
    "bot_conversions",
)
# Both also count unique recipients, in all and per event type (hourly_stats: by the hour they were first seen).
USER_COUNTERS = ("users", "email_click_users", "landing_click_users", "conversion_users")
DOMAIN_STATS_COUNTERS = EVENT_COUNTERS + USER_COUNTERS
HOURLY_COUNTERS = EVENT_COUNTERS + USER_COUNTERS

_EVENT_TYPES = {"email_clicks": "email_click", "landing_clicks": "landing_click", "conversions": "conversion"}


def _counter(name: str) -> str:
    bot = name.startswith("bot_")
    condition = f"event_type = '{_EVENT_TYPES[name.removeprefix('bot_')]}'" + (" AND is_bot" if bot else "")
    return f"count(*) FILTER (WHERE {condition}) AS {name}"


# The six EVENT_COUNTERS counted over rows with `event_type` and `is_bot` columns, named as the columns.
COUNT_EVENTS = ", ".join(_counter(name) for name in EVENT_COUNTERS)
# ...and summed again from rows that already carry them (e.g. per hour -> per domain).
SUM_EVENTS = ", ".join(f"sum({name})::bigint AS {name}" for name in EVENT_COUNTERS)

HOUR = "date_trunc('hour', created_at)"


def _add_to(alias: str, key: str, counters: tuple[str, ...]) -> str:
    return f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(f"{c} = {alias}.{c} + excluded.{c}" for c in counters)


# Upsert tails that add a row of deltas to a rollup (the INSERT names the table `s` or `h`).
ADD_TO_DOMAIN_STATS = _add_to("s", "campaign_id, domain", DOMAIN_STATS_COUNTERS)
ADD_TO_HOURLY_STATS = _add_to("h", "campaign_id, hour, domain", HOURLY_COUNTERS)


# A journey's per-type counters and the names of their deltas in CTE `jd`.
_JOURNEY_DELTAS = (("email_clicks", "ec"), ("landing_clicks", "lc"), ("conversions", "cv"))
_JOURNEY_VALUES = (*(c for c, _ in _JOURNEY_DELTAS), "first_seen", "previous_first_seen")
_DELTAS = tuple(d for _, d in _JOURNEY_DELTAS)

# CTE `jj` for cohort_moves from an upsert's `j` (RETURNING the journeys' new values and `inserted`) and its
# deltas `jd`, paired by key in a grouped UNION rather than a join. The planner expects one row from
# RETURNING, so it paired them in a nested loop, O(n^2) in the batch: 512 events took 178 ms, 61 ms paired
# this way (EXPLAIN ANALYZE, 10 M events). (Retention's UPDATE returns the deltas itself: its `jj` is that.)
JOURNEYS_WITH_DELTAS = f"""SELECT campaign_id, email, domain, bool_or(inserted) AS inserted,
        {", ".join(f"max({c}) AS {c}" for c in _JOURNEY_VALUES + _DELTAS)}
    FROM (SELECT campaign_id, email, domain, inserted, {", ".join(_JOURNEY_VALUES)},
                 {", ".join(f"NULL::bigint AS {d}" for d in _DELTAS)}
          FROM j
          UNION ALL
          SELECT campaign_id, email, domain, NULL, {", ".join("NULL" for _ in _JOURNEY_VALUES)}, {", ".join(_DELTAS)}
          FROM jd) AS pairs
    GROUP BY campaign_id, email, domain"""


def cohort_moves(*, old_counts: str, old_exists: str, new_exists: str) -> str:
    """Per (campaign, hour, domain), how a statement changed the recipients counted there: the journeys it
    wrote (CTE `jj`: their new counts, first_seen and previous_first_seen, and its deltas ec, lc, cv) leave
    the hour of their previous state (-1) and join the hour of their new one (+1); pairs that cancel out are
    dropped. `old_counts` is "-" when the deltas were added (ingest), "+" when they were taken (retention)."""
    before = ", ".join(f"{c} {old_counts} {d} > 0" for c, d in _JOURNEY_DELTAS)
    after = ", ".join(f"{c} > 0" for c, _ in _JOURNEY_DELTAS)
    sums = ["sum(n)"] + [f"coalesce(sum(n) FILTER (WHERE {flag}), 0)" for _, flag in _JOURNEY_DELTAS]
    return f"""SELECT campaign_id, hour, domain, {", ".join(
        f"{total}::bigint AS {name}" for total, name in zip(sums, USER_COUNTERS, strict=True))}
    FROM (SELECT campaign_id, date_trunc('hour', first_seen) AS hour, domain, 1 AS n, {after}
          FROM jj WHERE {new_exists}
          UNION ALL
          SELECT campaign_id, date_trunc('hour', previous_first_seen), domain, -1, {before}
          FROM jj WHERE {old_exists}) AS moves(campaign_id, hour, domain, n, ec, lc, cv)
    GROUP BY campaign_id, hour, domain
    HAVING {" OR ".join(f"{total} <> 0" for total in sums)}"""


# CTE `hd` (events per campaign, hour, domain) and CTE `hu` (cohort_moves) as one row per hourly_stats key.
HOURLY_DELTAS = "SELECT campaign_id, hour, domain, " + ", ".join(
    [f"coalesce(hd.{c}, 0) AS {c}" for c in EVENT_COUNTERS] + [f"coalesce(hu.{c}, 0) AS {c}" for c in USER_COUNTERS]
) + " FROM hd FULL JOIN hu USING (campaign_id, hour, domain)"

_COLUMNS = ", ".join(HOURLY_COUNTERS)
# Adds the rows of CTE `hourly` (campaign_id, hour, domain and HOURLY_COUNTERS) to hourly_stats.
INSERT_HOURLY = f"""INSERT INTO hourly_stats AS h (campaign_id, hour, domain, {_COLUMNS})
    SELECT campaign_id, hour, domain, {_COLUMNS} FROM hourly ORDER BY campaign_id, hour, domain
    {ADD_TO_HOURLY_STATS}
    RETURNING 1"""
