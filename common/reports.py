"""Reports: report_stats, each campaign's counters per (dimension, day, value), kept equal to a recount of events.

Ingest only appends the new events' ids to report_queue, in the statement that stores them (so an event is
queued exactly when it is stored, whichever batch commits first); `fold` moves the queue into report_stats,
every REPORT_FOLD_SECONDS from the beat (worker/tasks.py), in one statement: the queue rows it deletes are the
events it counts. Everything that writes report_stats (fold, retention, rebuild, the bulk generator) holds the
advisory lock REPORT_LOCK for its transaction, so they never interleave.

Counters: the events, bots and unknown visitors per type and their revenue (common/vocabulary.py's
REPORT_COUNTERS), and unique recipients per type counted at their first event of that type ("first touch",
ordered by created_at then id): a recipient counts once for the value and day of that event, so the rows add
up to the campaign's recipients of that type and a date range reads "recipients whose first <type> fell in
the range". When an earlier event arrives late, or retention deletes the first one, the recipient moves.

Cardinality: at most REPORT_MAX_VALUES values per (campaign, dimension, day) get a row of their own, handed
out in order of arrival (within one statement: the most events first); the rest are counted in the row
"(other)". A value keeps its row (or its place in "(other)") for the day: rows are only removed with their
whole day, so the rows always equal a recount and "(other)" the rest.

`param:<key>` reports and pairs (report_slots, common/report_slots.py) count an event once their slot is filled,
or if its day is at most the slot's filled_through while `backfill_step` fills past days, oldest first, a day
per fold task: the fold and the backfill each count an event exactly when the other does not. A pair
("country|device") is one more dimension whose value is its two values joined (common/report_dimensions.py):
its rows are capped, forgotten, emptied and rebuilt as every other dimension's.
"""
import time
from collections.abc import Callable
from datetime import date
from functools import cache

from common.db import Conn
from common.report_dimensions import (
    DIMENSIONS,
    OTHER,
    day_of,
    dimension_columns,
    pair_value,
    slot_value,
    unpivot,
)
from common.rollups import MEASURE_EVENTS, SUM_EVENTS, flags
from common.vocabulary import EVENT_TYPES, REPORT_COUNTERS, REPORT_USER_COUNTERS, events_column

# pg_advisory_xact_lock key of the report writers ("rept").
REPORT_LOCK = 0x72657074

_EVENT_MEASURES = tuple(c for c in REPORT_COUNTERS if c not in REPORT_USER_COUNTERS)
_COLUMNS = ", ".join(REPORT_COUNTERS)
_EVENT_FIELDS = "id, campaign_id, email, domain, event_type, payout, created_at, extra_params"
_JOURNEY = "campaign_id, email, domain, event_type"


def _volume(alias: str) -> str:
    """All traffic's events of every type: which new values get a row first when a statement brings several."""
    return " + ".join(f"{alias}.{events_column(t)}" for t in EVENT_TYPES)


def _firsts(candidates: str, where: str) -> str:
    """Each journey's first event of each type among `candidates` rows matching `where`."""
    return f"""SELECT DISTINCT ON ({_JOURNEY}) {_JOURNEY}, id FROM {candidates} WHERE {where}
    ORDER BY {_JOURNEY}, created_at, id"""


# A `param:<key>` slot (report_slots `s`) counts an event of day `{day}` once filled, or up to its backfill.
SLOT_COUNTS = "(s.filled OR {day} <= s.filled_through)"


def _users(event_type: str) -> str:
    return ", ".join(f"coalesce(sum(n) FILTER (WHERE {event_type} = '{t.name}'), 0)::bigint AS {t.users}"
                     for t in EVENT_TYPES)


def _slot_value(alias: str) -> str:
    """A slot's (`s`) value of an events row: its `param:` key's or fixed dimension's, or its pair's."""
    first = slot_value(alias, "s.by_dimension")
    return (f"CASE WHEN s.then_dimension IS NULL THEN {first} "
            f"ELSE {pair_value(first, slot_value(alias, 's.then_dimension'))} END")


def _delta(*, changed: str, candidates: str, sign: int, new_values: bool, fixed: bool = True,
           slot_filter: str | None = SLOT_COUNTS) -> str:
    """CTEs (to follow a WITH that defines them) that add `sign` times the events of CTE `changed` (events
    rows with flags) to report_stats, and move the first-touch recipients of the journeys in CTE `candidates`
    (their events: id, journey, event_type, created_at, and `before`/`after`: counted before / after this
    statement) from their first event before to their first event after. `new_values`: values without a row
    may get one (else they are counted in "(other)", where they were). `fixed`: the DIMENSIONS; `slot_filter`:
    which of the campaigns' slots (report_slots `s`, with `{day}` the event's day) count the events, or None
    for none (migration 0011's fill, from before slots could be pairs)."""
    keys = ", ".join(str(i) for i in range(1, len(DIMENSIONS) + 3))  # campaign_id, day and the dimensions
    events = ", ".join(f"{'-' if sign < 0 else ''}coalesce(ev.{c}, 0) AS {c}" for c in _EVENT_MEASURES)
    events_parts, users_parts, ctes = [], [], []
    if fixed:
        ctes.append(f"""e0 AS (
    SELECT c.campaign_id, {day_of("c")} AS day, {dimension_columns("c")}, {MEASURE_EVENTS}
    FROM {changed} c GROUP BY {keys}
)""")
        events_parts.append(f"""SELECT campaign_id, d.dimension, day, d.value, {SUM_EVENTS} FROM e0 {unpivot("e0")}
    GROUP BY 1, 2, 3, 4""")
        users_parts.append(f"""SELECT campaign_id, d.dimension, day, d.value, {_users("event_type")}, bool_or(lost)
    FROM u0 {unpivot("u0")} GROUP BY 1, 2, 3, 4""")
    if slot_filter is not None:
        events_parts.append(f"""SELECT c.campaign_id, s.dimension, {day_of("c")}, {_slot_value("c")}, {MEASURE_EVENTS}
    FROM {changed} c JOIN report_slots s ON s.campaign_id = c.campaign_id AND {slot_filter.format(day=day_of("c"))}
    GROUP BY 1, 2, 3, 4""")
        users_parts.append(f"""SELECT e.campaign_id, s.dimension, {day_of("e")}, {_slot_value("e")},
           {_users("m.event_type")}, bool_or(n < 0)
    FROM moves m JOIN events e ON e.id = m.id
    JOIN report_slots s ON s.campaign_id = e.campaign_id AND {slot_filter.format(day=day_of("e"))}
    GROUP BY 1, 2, 3, 4""")
    assert events_parts, "nothing to count"
    union = "\n    UNION ALL\n    "
    fixed_events = ", ".join([*ctes, f"ev (campaign_id, dimension, day, value, {', '.join(_EVENT_MEASURES)}) AS (\n    "
                              f"{union.join(events_parts)}\n)"])
    u0 = f"""u0 AS (
    SELECT e.campaign_id, {day_of("e")} AS day, {dimension_columns("e")}, m.event_type, sum(n) AS n,
           bool_or(n < 0) AS lost
    FROM moves m JOIN events e ON e.id = m.id GROUP BY {keys}, m.event_type
), """ if fixed else ""
    fixed_users = (f"{u0}ud (campaign_id, dimension, day, value, {', '.join(REPORT_USER_COUNTERS)}, lost) AS (\n    "
                   f"{union.join(users_parts)}\n)")
    return f"""
{fixed_events}, fb AS (
    {_firsts(candidates, "before")}
), fa AS (
    {_firsts(candidates, "after")}
), moves AS (
    -- A first event that is first both before and after cancels out. Grouped, not joined: the planner guesses
    -- one row for fa and fb and joined them in nested loops, 3.5 M comparisons for 2,000 queued repeat clicks
    -- (2.4-3.4 s of a 5.7 s fold batch).
    SELECT id, event_type, sum(n)::int AS n
    FROM (SELECT id, event_type, 1 AS n FROM fa UNION ALL SELECT id, event_type, -1 FROM fb) t
    GROUP BY id, event_type HAVING sum(n) <> 0
), {fixed_users}, x AS (
    SELECT campaign_id, dimension, day, value,
           {events},
           {", ".join(f"coalesce(ud.{c}, 0) AS {c}" for c in REPORT_USER_COUNTERS)},
           coalesce(ud.lost, false) OR {"true" if sign < 0 else "false"} AS lost
    FROM ev FULL JOIN ud USING (campaign_id, dimension, day, value)
), used AS (
    SELECT s.campaign_id, s.dimension, s.day, count(*) AS n
    FROM report_stats s JOIN (SELECT DISTINCT campaign_id, dimension, day FROM x) g USING (campaign_id, dimension, day)
    WHERE s.value <> '{OTHER}' GROUP BY 1, 2, 3
), placed AS (
    -- A value with a row keeps it; a new one gets one while the day has room (the busiest first), unless it
    -- loses a recipient here (then it was counted before, in "(other)").
    SELECT x.*, CASE
        WHEN s.value IS NOT NULL OR x.value = '{OTHER}' THEN x.value
        WHEN {"true" if new_values else "false"} AND NOT x.lost AND coalesce(u.n, 0) + row_number() OVER (
            PARTITION BY x.campaign_id, x.dimension, x.day, s.value IS NULL AND NOT x.lost
            ORDER BY {_volume("x")} DESC, x.value)
            <= %(cap)s THEN x.value
        ELSE '{OTHER}' END AS slot
    FROM x LEFT JOIN report_stats s USING (campaign_id, dimension, day, value)
    LEFT JOIN used u USING (campaign_id, dimension, day)
), written AS (
    INSERT INTO report_stats AS r (campaign_id, dimension, day, value, {_COLUMNS})
    SELECT campaign_id, dimension, day, slot, {", ".join(f"sum({c})" for c in REPORT_COUNTERS)}
    FROM placed GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (campaign_id, dimension, day, value) DO UPDATE SET
        {", ".join(f"{c} = r.{c} + excluded.{c}" for c in REPORT_COUNTERS)}
    RETURNING 1
)"""


def _listed(source: str, *, fixed: bool = True, slot_filter: str | None = SLOT_COUNTS) -> str:
    """A parenthesised SELECT of report_recipients' rows for the events rows `source` (campaign_id, dimension,
    value, email, domain): each journey once per value of each dimension. `fixed` and `slot_filter` as in
    _delta."""
    slot_rows = "" if slot_filter is None else f"""SELECT c.campaign_id, s.dimension, {_slot_value("c")} AS value, c.email, c.domain
    FROM {source} c JOIN report_slots s ON s.campaign_id = c.campaign_id AND {slot_filter.format(day=day_of("c"))}"""
    if not fixed:
        return f"({slot_rows})"
    # Events alike in every dimension are one row before the unpivot (as e0 does for the counts).
    return f"""(SELECT r.campaign_id, d.dimension, d.value, r.email, r.domain
    FROM (SELECT DISTINCT c.campaign_id, c.email, c.domain, {dimension_columns("c")} FROM {source} c) r {unpivot("r")}
    {f"UNION {slot_rows}" if slot_rows else ""})"""


def _list(source: str, *, known: str | None = None, fixed: bool = True, slot_filter: str | None = SLOT_COUNTS) -> str:
    """A CTE `listed` (to follow others) that adds the journeys of the events rows `source` to
    report_recipients under their values; `known`: events rows of the same journeys counted already, whose
    values are listed: left out here rather than looked up in the table's index (a repeat click brings one
    new value in ten; 26 k lookups took 2-3 s of a 2,000-event fold on a busy machine)."""
    new = _listed(source, fixed=fixed, slot_filter=slot_filter)
    if known:
        new += f" EXCEPT {_listed(known, fixed=fixed, slot_filter=slot_filter)}"
    return f""", listed AS (
    INSERT INTO report_recipients (campaign_id, dimension, value, email, domain)
    {new}
    ON CONFLICT DO NOTHING
)"""


_FLAGGED = f"{_EVENT_FIELDS}, {flags()}"


def _journey_events(changed: str, *, before: str, after: str) -> str:
    """CTE `candidates`: every event of the journeys in `changed`, and whether it counted `before` and `after`
    the statement (conditions on `e`, the event, and `queued`: whether it is in the statement's snapshot of
    report_queue). Looked up by email alone (idx_events_email, a few rows per recipient): `+ 0` and `|| ''`
    keep the campaign's and domain's indexes out, which the planner preferred, misjudging the CTE's size, and
    which read a whole campaign per recipient (120 s for 21 k events). The queue (no index: ingest appends to
    it) is read once against a hash of these few events, never hashed whole: `NOT IN (SELECT event_id FROM
    report_queue)` did, so a statement cost more the longer the queue grew during a burst (0.55 s a batch of
    2,000 with 100,000 queued). `IS TRUE` keeps that IN a hashed subplan: as a join, planned on the CTE's
    estimate of one row, it became a nested loop scanning the queue once per event (76 s)."""
    return f"""journey_rows AS MATERIALIZED (
    SELECT e.id, e.campaign_id, e.email, e.domain, e.event_type, e.created_at, e.extra_params
    FROM (SELECT DISTINCT campaign_id, email, domain FROM {changed}) t
    JOIN events e ON e.email = t.email AND e.campaign_id + 0 = t.campaign_id AND e.domain || '' = t.domain
), queued_rows AS MATERIALIZED (
    SELECT event_id FROM report_queue WHERE (event_id IN (SELECT id FROM journey_rows)) IS TRUE
), candidates AS (
    SELECT e.id, e.campaign_id, e.email, e.domain, e.event_type, e.created_at, e.extra_params,
           {before} AS before, {after} AS after
    FROM (SELECT j.*, j.id IN (SELECT event_id FROM queued_rows) AS queued FROM journey_rows j) e
)"""


# A batch of the queue, folded: its events counted; their journeys' other events decide the first touches. An
# event counted before is one not queued (the statement's snapshot of report_queue still holds this batch); after,
# one not queued or in this batch. A deleted campaign's events are dropped (its purge removes them and, last, the
# campaign and its rows). The queued events are looked up by `= ANY(array)`, which keeps the planner on the
# primary key: joined to the CTE, it chose to scan the whole campaign. One batch at a time: the planner cannot
# size a DELETE's RETURNING, and a whole backlog in one statement went quadratic (4,000 / 8,000 / 16,000 queued
# events folded in 0.26 / 0.98 / 182 s). The batch is taken off the queue by row address (a TID scan): by
# `event_id = ANY(ARRAY(...))` it was a sequential scan of the queue comparing every row with every id of the
# batch, 4.9 s of a 5.9 s statement with 100,000 events queued after a burst. Row addresses are stable here:
# queue rows are never updated, and only the holder of REPORT_LOCK deletes them.
_FOLD = f"""
WITH q AS (
    DELETE FROM report_queue WHERE ctid = ANY(ARRAY(SELECT ctid FROM report_queue LIMIT %(batch)s))
    RETURNING event_id
), changed AS (
    SELECT {_FLAGGED} FROM events e
    WHERE id = ANY(ARRAY(SELECT event_id FROM q))
      AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = e.campaign_id AND c.deleted_at IS NOT NULL)
), {_journey_events("changed", before="NOT queued", after="(NOT queued OR e.id IN (SELECT event_id FROM q))")},
{_delta(changed="changed", candidates="candidates", sign=1, new_values=True).strip()}{
    _list("changed", known="(SELECT * FROM candidates WHERE before)")}
SELECT count(*) FROM q
"""

# Events retention is about to delete (%(ids)s, locked by its transaction), taken out: those still queued are
# only dropped from the queue; the others' recipients move to their next first events, and leave the values
# (report_recipients) that none of their counted events left carries. `table` holds them all: `events`, or the
# month of a partitioned `events` being emptied, whose primary key alone is then probed (through `events`,
# every month's index was, for every id).
@cache
def _forget(table: str) -> str:
    return f"""
WITH dq AS (
    DELETE FROM report_queue WHERE event_id = ANY(%(ids)s::bigint[]) RETURNING event_id
), changed AS (
    SELECT {_FLAGGED} FROM {table} WHERE id = ANY(%(ids)s::bigint[]) AND id NOT IN (SELECT event_id FROM dq)
), {_journey_events("changed", before="NOT queued", after="NOT queued AND e.id <> ALL(%(ids)s::bigint[])")},
{_delta(changed="changed", candidates="candidates", sign=-1, new_values=False).strip()}, unlisted AS (
    DELETE FROM report_recipients r
    USING ({_listed("changed")} EXCEPT {_listed("(SELECT * FROM candidates WHERE after)")}) g
    WHERE (r.campaign_id, r.dimension, r.value, r.email, r.domain) = (g.campaign_id, g.dimension, g.value, g.email, g.domain)
)
SELECT count(*) FROM changed
"""


# Days retention emptied entirely (every row zero) go; a day with any count keeps all its rows (see the cap).
_DELETE_EMPTY_DAYS = f"""
DELETE FROM report_stats s USING (
    SELECT campaign_id, dimension, day FROM report_stats
    WHERE day <= %(day)s AND (%(campaigns)s::int[] IS NULL OR campaign_id = ANY(%(campaigns)s))
    GROUP BY 1, 2, 3
    HAVING bool_and({" AND ".join(f"{c} = 0" for c in REPORT_COUNTERS)})
) g
WHERE s.campaign_id = g.campaign_id AND s.dimension = g.dimension AND s.day = g.day
"""



def _whole_journeys(events: str, slot_filter: str | None = SLOT_COUNTS, *, listed: bool = True) -> str:
    """Adds events rows matching `events` that are whole journeys, none of them counted yet (a rebuild, or the
    generator's new recipients): their first touches are among them, no other event needs reading. `listed`:
    report_recipients too (it exists from migration 0016 on)."""
    return f"""
WITH changed AS (
    SELECT {_FLAGGED} FROM events WHERE {events}
), candidates AS (
    SELECT id, {_JOURNEY}, created_at, false AS before, true AS after FROM changed
), {_delta(changed="changed", candidates="candidates", sign=1, new_values=True, slot_filter=slot_filter).strip()}{
    _list("changed", slot_filter=slot_filter) if listed else ""}
SELECT count(*) FROM changed
"""


# A campaign's report rows recomputed from its counted events (those not queued; the fold adds the rest).
_COUNTED = "campaign_id = %(cid)s AND id NOT IN (SELECT event_id FROM report_queue)"
_REBUILD = _whole_journeys(_COUNTED)
_REBUILD_FIXED = _whole_journeys(_COUNTED, slot_filter=None, listed=False)
_ADD_NEW_JOURNEYS = _whole_journeys("id = ANY(%(ids)s::bigint[])")


def lock(conn: Conn) -> None:
    """Take the report writers' lock for the current transaction, and room to group its rows in memory: with
    the default 4 MB work_mem, grouping 500 k events by their 13 dimensions sorted on disk (71 s, 43 s with
    this; EXPLAIN ANALYZE in docs/performance.md). One writer at a time holds it (the lock)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (REPORT_LOCK,))
    conn.execute("SET LOCAL work_mem = '64MB'")


FOLD_BATCH = 2_000  # events a fold statement takes off the queue: ~0.1 s each (docs/performance.md)


def fold(conn: Conn, *, timezone: str, max_values: int, pace: Callable[[float], object] | None = None) -> int:
    """Fold the queued events into report_stats, FOLD_BATCH at a time, each batch in a transaction of its
    own, until the queue is empty; returns how many queue rows were folded. `pace(seconds)` is called after
    each full batch with the time it took (the worker waits there while ingest is busy, worker/pressure.py)."""
    folded = 0
    while True:
        started = time.monotonic()
        with conn.transaction():
            lock(conn)
            row = conn.execute(_FOLD, {"tz": timezone, "cap": max_values, "batch": FOLD_BATCH}).fetchone()
        batch = int(row[0]) if row else 0
        folded += batch
        if batch < FOLD_BATCH:
            return folded
        if pace is not None:
            pace(time.monotonic() - started)


def forget(conn: Conn, ids: list[int], *, timezone: str, table: str = "events") -> None:
    """Inside retention's transaction: take events `ids` (all in `table`), about to be deleted, out of
    report_stats."""
    lock(conn)
    conn.execute(_forget(table), {"ids": ids, "tz": timezone, "cap": 0}, prepare=False)  # see retention._delete


def delete_empty_days(conn: Conn, *, up_to: date, campaign_ids: list[int] | None = None) -> None:
    """Remove the report rows of days up to `up_to` (of `campaign_ids`, or every campaign) that count nothing
    any more."""
    conn.execute(_DELETE_EMPTY_DAYS, {"day": up_to, "campaigns": campaign_ids}, prepare=False)


def rebuild(conn: Conn, campaign_id: int, *, timezone: str, max_values: int, fixed_only: bool = False) -> int:
    """Recompute a campaign's report_stats and report_recipients from its events (`tracker rollups rebuild`);
    returns events read. One transaction: the reports read the old rows until it commits. `fixed_only`
    (migration 0011): the fixed dimensions' report_stats alone, before report_slots has its present shape and
    report_recipients exists (0015, 0016)."""
    with conn.transaction():
        lock(conn)
        conn.execute("DELETE FROM report_stats WHERE campaign_id = %s", (campaign_id,))
        if not fixed_only:
            conn.execute("DELETE FROM report_recipients WHERE campaign_id = %s", (campaign_id,))
        row = conn.execute(_REBUILD_FIXED if fixed_only else _REBUILD,
                           {"cid": campaign_id, "tz": timezone, "cap": max_values}).fetchone()
    return int(row[0]) if row else 0


_LIST_CAMPAIGN = f"""
WITH counted AS (SELECT * FROM events WHERE {_COUNTED})
INSERT INTO report_recipients (campaign_id, dimension, value, email, domain)
{_listed("counted")}
ON CONFLICT DO NOTHING
"""


def list_recipients(conn: Conn, campaign_id: int, *, timezone: str) -> None:
    """List a campaign's journeys in report_recipients, which has none of them yet, from its counted events
    (migration 0016)."""
    with conn.transaction():
        lock(conn)
        conn.execute(_LIST_CAMPAIGN, {"cid": campaign_id, "tz": timezone})


def add_new_journeys(conn: Conn, ids: list[int], *, timezone: str, max_values: int) -> None:
    """Count events `ids`, the whole journeys of recipients new to their campaign, inserted in the caller's
    transaction without the queue (common/generate.py)."""
    lock(conn)
    conn.execute(_ADD_NEW_JOURNEYS, {"ids": ids, "tz": timezone, "cap": max_values})


# One day of a slot's backfill (%(cid)s, %(dimension)s, %(day)s, the day after the slot's filled_through):
# the counted events of that day (not queued: the fold counts those once the day is filled through), and
# the first touches that fall on it. Only this slot is written.
_DAY_START = "(%(day)s::date::timestamp AT TIME ZONE %(tz)s AT TIME ZONE 'UTC')"
_BACKFILL_DAY = f"""
WITH changed AS (
    SELECT {_FLAGGED} FROM events e
    WHERE campaign_id = %(cid)s AND created_at >= {_DAY_START} AND created_at < {_DAY_START} + interval '1 day'
      AND id NOT IN (SELECT event_id FROM report_queue)
), {_journey_events("changed", before=f"NOT queued AND {day_of('e')} < %(day)s",
                    after=f"NOT queued AND {day_of('e')} <= %(day)s")},
{_delta(changed="changed", candidates="candidates", sign=1, new_values=True, fixed=False,
        slot_filter="s.dimension = %(dimension)s").strip()}{_list("changed", fixed=False, slot_filter="s.dimension = %(dimension)s")}
SELECT count(*) FROM changed
"""

# The next slot to fill, the oldest chosen first, with the next day of its campaign that has events.
_NEXT_SLOT = """
SELECT s.campaign_id, s.dimension,
       (SELECT min(day) FROM daily_stats d WHERE d.campaign_id = s.campaign_id
          AND d.day > coalesce(s.filled_through, '-infinity'::date))
FROM report_slots s JOIN campaigns c ON c.id = s.campaign_id AND c.deleted_at IS NULL
WHERE NOT s.filled ORDER BY s.created_at, s.campaign_id, s.dimension LIMIT 1
"""


def backfill_step(conn: Conn, *, timezone: str, max_values: int) -> bool:
    """Fill one more day of the oldest slot (a `param:` report or a pair) still filling; returns whether there
    was one.

    Its days are filled oldest first; meanwhile the fold counts the slot's events of the days already filled,
    so every event is counted once. A slot with no later day of events (daily_stats holds every stored
    event's day) is filled: from then on it counts every day."""
    with conn.transaction():
        lock(conn)
        row = conn.execute(_NEXT_SLOT).fetchone()
        if row is None:
            return False
        campaign_id, dimension, day = row
        if day is None:
            conn.execute("UPDATE report_slots SET filled = true WHERE campaign_id = %s AND dimension = %s",
                         (campaign_id, dimension))
            return True
        conn.execute(_BACKFILL_DAY, {"cid": campaign_id, "dimension": dimension, "day": day, "tz": timezone,
                                     "cap": max_values})
        conn.execute("UPDATE report_slots SET filled_through = %s WHERE campaign_id = %s AND dimension = %s",
                     (day, campaign_id, dimension))
    return True
