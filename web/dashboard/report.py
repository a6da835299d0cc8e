"""A campaign's report: its counts broken down by one dimension (common/report_dimensions.py) or a pair of them
(`?by=country&then=device`, a pair slot), read off report_stats (common/reports.py) for the date range's days,
sorted, the top rows then "(other)".

One statement sums the range's rows per value (at most REPORT_MAX_VALUES values a day, so a 30-day range
reads at most 30 x that many rows per dimension off the primary key), sorts them and returns only the top rows,
"(other)" and the totals: a long-tail dimension's thousands of values stay in the database.
"""
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, case, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from common.models import ReportStats, counter
from common.report_dimensions import (
    BY_NAME,
    DIMENSIONS,
    NONE_LABEL,
    OTHER,
    PAIR_SEPARATOR,
    PARAM_PREFIX,
    WEEKDAYS,
    Dimension,
    param_dimension,
    split_pair,
    value_label,
)
from common.vocabulary import (
    AMOUNT_COUNTERS,
    BOTS,
    ENTRY,
    EVENT_TYPES,
    GOAL,
    REPORT_COUNTERS,
    events_column,
    revenue_column,
)
from web.dashboard.counts import Counts
from web.dashboard.period import Period

TOP_ROWS = 100
DEFAULT_DIMENSION = DIMENSIONS[0]


@dataclass(frozen=True)
class ReportRow:
    value: str  # as stored: "" is "(none)", OTHER the rest; a pair's two values joined
    labels: tuple[str, ...]  # as shown: one, or a pair's two
    counts: Counts  # as shown (people only unless all traffic)
    bot_share: float | None  # bots among all its events, in percent (whatever the mode)

    @property
    def is_other(self) -> bool:
        return self.value == OTHER

    @property
    def label(self) -> str:
        return self.labels[0]

    @property
    def values(self) -> tuple[str, ...]:
        """As stored, one a column: a pair's "(other)" is "(other)" then nothing."""
        return split_pair(self.value) if PAIR_SEPARATOR in self.value else (self.value, "")


def labels(dim: Dimension, value: str) -> tuple[str, ...]:
    """A stored value (a pair's: both) as the page and the CSV show it."""
    if not dim.parts:
        return (value_label(dim.name, value),)
    if value == OTHER:
        return OTHER, ""
    return tuple(value_label(part.name, v) for part, v in zip(dim.parts, split_pair(value), strict=True))


# A value's counters as read (REPORT_COUNTERS, in order), all traffic; only the rows shown become Counts.
Raw = tuple[Any, ...]
_AT = {c: i for i, c in enumerate(REPORT_COUNTERS)}
_ALL_EVENTS = [_AT[events_column(t)] for t in EVENT_TYPES]
_BOT_EVENTS = [_AT[events_column(t, BOTS)] for t in EVENT_TYPES]


def _bot_share(raw: Raw) -> float | None:
    events = sum(raw[i] for i in _ALL_EVENTS)
    return 100.0 * sum(raw[i] for i in _BOT_EVENTS) / events if events else None


_ENTRY, _GOAL, _REVENUE = events_column(ENTRY), events_column(GOAL), revenue_column()
# The columns a report sorts by, and their headings; _sql_key says how each sorts.
SORTS: dict[str, str] = {
    "value": "Value",
    **{k: v for t in EVENT_TYPES for k, v in ((t.plural, t.plural_label), (t.users, f"{t.label} recipients"))},
    "rate": "Conversion rate",
    "revenue": "Revenue",
    "epc": "EPC",
    "bots": "Bot share",
}
DEFAULT_SORT = events_column(EVENT_TYPES[0])
THEN = "then"  # a pair's second value: a column of its own, sorted as the first


def sorts(dim: Dimension) -> dict[str, str]:
    """The columns `dim`'s report sorts by: a pair's second value too."""
    return {**SORTS, THEN: dim.parts[1].label} if dim.parts else SORTS


@dataclass(frozen=True)
class Report:
    dimension: Dimension
    rows: list[ReportRow]  # the top rows, sorted, then "(other)" if any
    totals: Counts
    values: int  # distinct values in the range (before the top rows were taken)
    sort: str
    descending: bool

    @cached_property
    def widest(self) -> int:
        """The largest count of the bar's column (email clicks), for the inline bars. Cached: the table reads it
        twice a row, and recomputing it made rendering 101 rows quadratic (250 ms of a long-tail report on a busy
        machine, most of the request)."""
        return max((r.counts.entry.events for r in self.rows), default=0)


def pick(name: str | None, slot_keys: list[str]) -> Dimension | None:
    """The dimension `name` names (a `param:` one if the campaign reports on that key), else None."""
    if name and name.startswith(PARAM_PREFIX) and name.removeprefix(PARAM_PREFIX) in slot_keys:
        return param_dimension(name.removeprefix(PARAM_PREFIX))
    return BY_NAME.get(name or "")


def dimension(name: str | None, slot_keys: list[str]) -> Dimension:
    """The dimension `?by=` names; the first one for anything else."""
    return pick(name, slot_keys) or DEFAULT_DIMENSION


def _label(dim: Dimension, value: Any, *, then_first: bool = False) -> Any:
    """value_label in SQL, for sorting by the value and for ties (which read alphabetically). A pair's: both
    labels, joined by the separator (below any character a label shows), the second one first if `then_first`."""
    if dim.parts:
        halves = [_label(part, func.split_part(value, PAIR_SEPARATOR, n)) for n, part in enumerate(dim.parts, 1)]
        if then_first:
            halves.reverse()
        return halves[0] + PAIR_SEPARATOR + halves[1]
    if dim.name == "weekday":
        named: Any = case(*((value == str(day), name) for day, name in enumerate(WEEKDAYS, start=1)), else_=value)
    elif dim.name == "hour":
        named = case((value == OTHER, value), else_=value + ":00")
    else:
        named = value
    return case((value == "", NONE_LABEL), else_=named)


def _sql_ratio(top: Any, bottom: Any) -> Any:
    return case((bottom == 0, -1), else_=top / func.nullif(bottom, 0))


def _sql_key(sort: str, at: dict[str, Any], label: Any, then_label: Any, all_counts: bool) -> Any:
    """How SORTS[sort] orders, in SQL over one grouped value's columns `at` (by counter name): the shown counts
    (people only unless all traffic), ratios -1 where nothing divides, so the
    database takes the top rows (floats divide as Python's do; amounts stay numeric)."""
    def shown(column: str) -> Any:
        return at[column] if all_counts else at[column] - at[_BOTS_COLUMN[column]]

    def as_float(x: Any) -> Any:
        return cast(x, Float)

    if sort == "value":
        return func.lower(label).collate("C")
    if sort == THEN:
        return func.lower(then_label).collate("C")
    if sort in _EVENTS_SORTS:
        return shown(_EVENTS_SORTS[sort])
    if sort in _USERS_SORTS:
        return at[_USERS_SORTS[sort]]
    if sort == "rate":
        return _sql_ratio(as_float(shown(_GOAL)), as_float(shown(_ENTRY)))
    if sort == "revenue":
        return shown(_REVENUE)
    if sort == "epc":
        return _sql_ratio(shown(_REVENUE), shown(_ENTRY))
    events = sum((at[events_column(t)] for t in EVENT_TYPES), start=literal(0))
    bots = sum((at[events_column(t, BOTS)] for t in EVENT_TYPES), start=literal(0))
    return _sql_ratio(100.0 * as_float(bots), as_float(events))


_BOTS_COLUMN = {events_column(t): events_column(t, BOTS) for t in EVENT_TYPES} | {_REVENUE: revenue_column(BOTS)}
_EVENTS_SORTS = {t.plural: events_column(t) for t in EVENT_TYPES}
_USERS_SORTS = {t.users: t.users for t in EVENT_TYPES}
_TOP, _ALL = 0, 1  # the statement's row kinds


def _sums() -> dict[str, Any]:
    """report_stats' counters summed over the rows a query reads, by name. A day's count of one value fits an
    int4, and sum(int4) adds in bigint where sum(bigint) adds in numeric (216 -> 105 ms grouping 15 k rows)."""
    return {c: func.sum(counter(ReportStats, c) if c in AMOUNT_COUNTERS else cast(counter(ReportStats, c), Integer))
            .label(c) for c in REPORT_COUNTERS}


def _totals_dimension(dim: Dimension, filled: bool) -> str:
    """Where a report's totals are summed. Every fixed dimension splits the same counted events and first
    touches among its values ("(other)" included), so their totals are the same, and the weekday has one value
    a day: a 30-day range's totals are 30 rows, not the long tail's 15 k. So does a slot (a `param:` report or
    a pair) once `filled`; while its backfill runs it counts only the days filled: its own rows."""
    return _WEEKDAY if dim.name in BY_NAME or filled else dim.name


_WEEKDAY = BY_NAME["weekday"].name


def _report_rows(session: Session, campaign_id: int, dim: Dimension, period: Period, tz: Any, *, all_counts: bool,
                 sort: str, descending: bool, top: int, filled: bool) -> list[Any]:
    """One statement, two kinds of row: the top `top` values in the sort's order (kind _TOP, n their place, ties
    alphabetically) with their counters, and every counter summed over the range (_ALL, n the values). The
    values are ranked on the sort's own columns alone, and only the top ones get all their counters summed: a
    long-tail dimension's thousands of values are grouped on one or two sums, not fifteen, and never leave the
    database. "(other)" is the rest: the totals (_totals_dimension) less the top rows (build_report)."""
    def in_range(dimension: str) -> list[ColumnElement[bool]]:
        rows = [ReportStats.campaign_id == campaign_id, ReportStats.dimension == dimension]
        if not period.is_all:
            first, after = period.days(tz)
            rows += [ReportStats.day >= first, ReportStats.day < after]
        return rows

    def by_key(key: Any) -> Any:
        return key.desc() if descending else key.asc()

    keyed = (select(ReportStats.value, _sql_key(sort, _sums(), _label(dim, ReportStats.value),
                                                _label(dim, ReportStats.value, then_first=True), all_counts)
                    .label("key"))
             .where(*in_range(dim.name)).group_by(ReportStats.value).cte("keyed"))
    # The top rows by key alone, with any tied at the last place: only they need the label that breaks ties,
    # not every value of a long tail (a pair's label is both halves', built from the stored value: 14 k labels
    # were half of a 30-day pair report on the capped utm_term then sub1).
    firsts = (select(keyed.c.value, keyed.c.key).where(keyed.c.value != OTHER).order_by(by_key(keyed.c.key))
              .fetch(top, with_ties=True).subquery("firsts"))
    order = [by_key(firsts.c.key), func.lower(_label(dim, firsts.c.value)).collate("C")]
    ranked = (select(firsts.c.value, func.row_number().over(order_by=order).label("n"))
              .order_by(*order).limit(top).cte("ranked"))
    stmt = union_all(
        select(literal(_TOP).label("kind"), ranked.c.n, ReportStats.value, *_sums().values())
        .join(ranked, ranked.c.value == ReportStats.value).where(*in_range(dim.name))
        .group_by(ReportStats.value, ranked.c.n),
        select(literal(_ALL), select(func.count()).select_from(keyed).scalar_subquery(), literal(OTHER),
               *_sums().values()).where(*in_range(_totals_dimension(dim, filled))),
    ).order_by("kind", "n")
    return list(session.execute(stmt))


def _row(dim: Dimension, value: str, raw: Raw, all_counts: bool) -> ReportRow:
    return ReportRow(value, labels(dim, value), Counts.of_row(raw, REPORT_COUNTERS).shown(all_counts),
                     _bot_share(raw))


def build_report(*, session: Session, campaign_id: int, dim: Dimension, period: Period, tz: Any, all_counts: bool,
                 sort: str, descending: bool, top: int = TOP_ROWS, filled: bool = False) -> Report:
    """The report for `dim` over `period` (days of `tz`): the `top` rows by `sort`, the rest summed into
    "(other)" (with the values the cap already counted there). `filled`: `dim` is a slot whose backfill has
    finished (a fixed dimension always counts everything)."""
    if sort not in sorts(dim):
        raise ValueError(f"unknown sort {sort!r}")
    rows = _report_rows(session, campaign_id, dim, period, tz, all_counts=all_counts, sort=sort,
                        descending=descending, top=top, filled=filled)
    tops = [r for r in rows if r.kind == _TOP]
    everything = next(r for r in rows if r.kind == _ALL)
    shown = [_row(dim, r.value, tuple(r[3:]), all_counts) for r in tops]
    totals: Raw = tuple(everything[3:]) if everything.n else (0,) * len(REPORT_COUNTERS)
    if everything.n > len(tops):  # values past the top, or the stored "(other)"
        rest = tuple(t - sum(r[3 + i] for r in tops) for i, t in enumerate(totals))
        shown.append(_row(dim, OTHER, rest, all_counts))
    return Report(dim, shown, Counts.of_row(totals, REPORT_COUNTERS).shown(all_counts), everything.n, sort,
                  descending)


# The CSV's columns after the value (a pair's two): per type its events and recipients, then the money and the
# shares.
def csv_header(dim: Dimension, currency: str) -> list[str]:
    per_type = [h for t in EVENT_TYPES for h in (t.plural_label, f"{t.label} recipients")]
    return [*(part.label for part in (dim.parts or (dim,))), *per_type, "Conversion rate %", f"Revenue ({currency})", f"EPC ({currency})", "Bot share %",
            "Visitor unknown events"]


# A cell a spreadsheet would run as a formula is quoted (as the events CSV does).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_row(row: ReportRow) -> list[str]:
    c = row.counts
    cells = [f"'{label}" if label.startswith(_FORMULA_START) else label for label in row.labels]
    per_type = [str(v) for t in c.types for v in (t.events, t.users)]
    rate = "" if c.conversion_rate is None else f"{c.conversion_rate:.2f}"
    epc = "" if c.epc is None else f"{c.epc:.4f}"
    share = "" if row.bot_share is None else f"{row.bot_share:.2f}"
    return [*cells, *per_type, rate, f"{c.revenue:.2f}", epc, share, str(c.unknown_events)]

