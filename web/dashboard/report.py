"""A campaign's report: its counts broken down by one dimension (common/report_dimensions.py), read off
report_stats (common/reports.py) for the date range's days, sorted, the top rows then "(other)".

One statement sums the range's rows per value (at most REPORT_MAX_VALUES values a day, so a 30-day range
reads at most 30 x that many rows per dimension off the primary key); sorting and the top rows are Python's,
on the few values left.
"""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from common.models import ReportStats, counter
from common.report_dimensions import (
    BY_NAME,
    DIMENSIONS,
    OTHER,
    PARAM_PREFIX,
    Dimension,
    param_dimension,
    value_label,
)
from common.vocabulary import (
    AMOUNT_COUNTERS,
    BOTS,
    ENTRY,
    EVENT_TYPES,
    GOAL,
    REPORT_COUNTERS,
    EventType,
    events_column,
    revenue_column,
)
from web.dashboard.counts import Counts
from web.dashboard.period import Period

TOP_ROWS = 100
DEFAULT_DIMENSION = DIMENSIONS[0]


@dataclass(frozen=True)
class ReportRow:
    value: str  # as stored: "" is "(none)", OTHER the rest
    label: str
    counts: Counts  # as shown (people only unless all traffic)
    bot_share: float | None  # bots among all its events, in percent (whatever the mode)

    @property
    def is_other(self) -> bool:
        return self.value == OTHER


# A value's counters as read (REPORT_COUNTERS, in order), all traffic. Thousands of values (a long-tail
# dimension over 30 days) are sorted and summed as these tuples; only the rows shown become Counts (building
# Counts for each of 4,356 values and adding them up took most of a second on a loaded machine).
Raw = tuple[Any, ...]
_AT = {c: i for i, c in enumerate(REPORT_COUNTERS)}
_ALL_EVENTS = [_AT[events_column(t)] for t in EVENT_TYPES]
_BOT_EVENTS = [_AT[events_column(t, BOTS)] for t in EVENT_TYPES]


# Each all-traffic count and amount, and where its bots' share of it is.
_BOTS_OF = {_AT[events_column(t)]: _AT[events_column(t, BOTS)] for t in EVENT_TYPES} | {
    _AT[revenue_column()]: _AT[revenue_column(BOTS)]}


def _shown(raw: Raw, column: str, all_counts: bool) -> Any:
    """Counter `column` (an all-traffic count or amount) as the page shows it: people only unless all traffic."""
    at = _AT[column]
    return raw[at] if all_counts else raw[at] - raw[_BOTS_OF[at]]


def _ratio(top: Any, bottom: Any) -> Any:
    return top / bottom if bottom else -1


SortKey = Callable[[str, Raw, bool], Any]  # (label, raw, all_counts) -> what the column sorts by


def _events_of(event_type: EventType) -> SortKey:
    return lambda label, raw, all_counts: _shown(raw, events_column(event_type), all_counts)


def _users_of(event_type: EventType) -> SortKey:
    return lambda label, raw, all_counts: raw[_AT[event_type.users]]


def _type_sorts() -> dict[str, tuple[str, SortKey]]:
    sorts: dict[str, tuple[str, SortKey]] = {}
    for t in EVENT_TYPES:
        sorts[t.plural] = (t.plural_label, _events_of(t))
        sorts[t.users] = (f"{t.label} recipients", _users_of(t))
    return sorts


def _share_or_less(share: float | None) -> float:
    return -1.0 if share is None else share


def _bot_share(raw: Raw) -> float | None:
    events = sum(raw[i] for i in _ALL_EVENTS)
    return 100.0 * sum(raw[i] for i in _BOT_EVENTS) / events if events else None


_ENTRY, _GOAL, _REVENUE = events_column(ENTRY), events_column(GOAL), revenue_column()
SORTS: dict[str, tuple[str, SortKey]] = {
    "value": ("Value", lambda label, raw, all_counts: label.lower()),
    **_type_sorts(),
    "rate": ("Conversion rate", lambda label, raw, all_counts: _ratio(_shown(raw, _GOAL, all_counts),
                                                                      _shown(raw, _ENTRY, all_counts))),
    "revenue": ("Revenue", lambda label, raw, all_counts: _shown(raw, _REVENUE, all_counts)),
    "epc": ("EPC", lambda label, raw, all_counts: _ratio(_shown(raw, _REVENUE, all_counts),
                                                         _shown(raw, _ENTRY, all_counts))),
    "bots": ("Bot share", lambda label, raw, all_counts: _share_or_less(_bot_share(raw))),
}
DEFAULT_SORT = events_column(EVENT_TYPES[0])


@dataclass(frozen=True)
class Report:
    dimension: Dimension
    rows: list[ReportRow]  # the top rows, sorted, then "(other)" if any
    totals: Counts
    values: int  # distinct values in the range (before the top rows were taken)
    sort: str
    descending: bool

    @property
    def widest(self) -> int:
        """The largest count of the bar's column (email clicks), for the inline bars."""
        return max((r.counts.entry.events for r in self.rows), default=0)


def dimension(name: str | None, slot_keys: list[str]) -> Dimension:
    """The dimension `?by=` names (a `param:` one if the campaign reports on that key); the first one for
    anything else."""
    if name and name.startswith(PARAM_PREFIX) and name.removeprefix(PARAM_PREFIX) in slot_keys:
        return param_dimension(name.removeprefix(PARAM_PREFIX))
    return BY_NAME.get(name or "", DEFAULT_DIMENSION)


def _sums(session: Session, campaign_id: int, dim: Dimension, period: Period, tz: Any) -> list[tuple[str, Raw]]:
    # A day's count of one value fits an int4, and sum(int4) adds in bigint where sum(bigint) adds in numeric:
    # grouping 15 k rows of a long-tail dimension took 216 ms and spilled to disk, 105 ms in memory this way.
    columns = [func.sum(counter(ReportStats, c) if c in AMOUNT_COUNTERS else cast(counter(ReportStats, c), Integer))
               for c in REPORT_COUNTERS]
    stmt = (select(ReportStats.value, *columns)
            .where(ReportStats.campaign_id == campaign_id, ReportStats.dimension == dim.name)
            .group_by(ReportStats.value))
    if not period.is_all:
        first, after = period.days(tz)
        stmt = stmt.where(ReportStats.day >= first, ReportStats.day < after)
    return [(row[0], tuple(row[1:])) for row in session.execute(stmt)]


def _add(rows: list[Raw]) -> Raw:
    return tuple(sum(column) for column in zip(*rows, strict=True)) if rows else (0,) * len(REPORT_COUNTERS)


def _row(value: str, label: str, raw: Raw, all_counts: bool) -> ReportRow:
    return ReportRow(value, label, Counts.of_row(raw, REPORT_COUNTERS).shown(all_counts), _bot_share(raw))


def build_report(*, session: Session, campaign_id: int, dim: Dimension, period: Period, tz: Any, all_counts: bool,
                 sort: str, descending: bool, top: int = TOP_ROWS) -> Report:
    """The report for `dim` over `period` (days of `tz`): the `top` rows by `sort`, the rest summed into
    "(other)" (with the values the cap already counted there)."""
    sums = _sums(session, campaign_id, dim, period, tz)
    values = [(value, value_label(dim.name, value), raw) for value, raw in sums if value != OTHER]
    stored_other = [raw for value, raw in sums if value == OTHER]
    _, key = SORTS[sort]
    values.sort(key=lambda v: v[1].lower())  # ties in the column read alphabetically
    values.sort(key=lambda v: key(v[1], v[2], all_counts), reverse=descending)
    shown = [_row(value, label, raw, all_counts) for value, label, raw in values[:top]]
    rest = [raw for _, _, raw in values[top:]]
    if stored_other or rest:
        shown.append(_row(OTHER, OTHER, _add([*stored_other, *rest]), all_counts))
    everything = Counts.of_row(_add([raw for _, raw in sums]), REPORT_COUNTERS).shown(all_counts)
    return Report(dim, shown, everything, len(values) + (1 if stored_other else 0), sort, descending)


# The CSV's columns after the value: per type its events and recipients, then the money and the shares.
def csv_header(dim: Dimension, currency: str) -> list[str]:
    per_type = [h for t in EVENT_TYPES for h in (t.plural_label, f"{t.label} recipients")]
    return [dim.label, *per_type, "Conversion rate %", f"Revenue ({currency})", f"EPC ({currency})", "Bot share %",
            "Visitor unknown events"]


# A cell a spreadsheet would run as a formula is quoted (as the events CSV does).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_row(row: ReportRow) -> list[str]:
    c = row.counts
    label = f"'{row.label}" if row.label.startswith(_FORMULA_START) else row.label
    per_type = [str(v) for t in c.types for v in (t.events, t.users)]
    rate = "" if c.conversion_rate is None else f"{c.conversion_rate:.2f}"
    epc = "" if c.epc is None else f"{c.epc:.4f}"
    share = "" if row.bot_share is None else f"{row.bot_share:.2f}"
    return [label, *per_type, rate, f"{c.revenue:.2f}", epc, share, str(c.unknown_events)]

