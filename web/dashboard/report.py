"""A campaign's report: its counts broken down by one dimension (common/report_dimensions.py), read off
report_stats (common/reports.py) for the date range's days, sorted, the top rows then "(other)".

One statement sums the range's rows per value (at most REPORT_MAX_VALUES values a day, so a 30-day range
reads at most 30 x that many rows per dimension off the primary key); sorting and the top rows are Python's,
on the few values left.
"""
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.models import ReportStats, counter
from common.report_dimensions import BY_NAME, DIMENSIONS, OTHER, Dimension, value_label
from common.vocabulary import BOTS, EVENT_TYPES, REPORT_COUNTERS, EventType, events_column
from web.dashboard.counts import Counts, total
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


# The sortable columns: key -> (heading, the value sorted by). Events and recipients per type, then the rates.
def _events_of(event_type: EventType) -> Callable[[ReportRow], Any]:
    return lambda row: row.counts.of(event_type).events


def _users_of(event_type: EventType) -> Callable[[ReportRow], Any]:
    return lambda row: row.counts.of(event_type).users


def _type_sorts() -> dict[str, tuple[str, Callable[[ReportRow], Any]]]:
    sorts: dict[str, tuple[str, Callable[[ReportRow], Any]]] = {}
    for t in EVENT_TYPES:
        sorts[t.plural] = (t.plural_label, _events_of(t))
        sorts[t.users] = (f"{t.label} recipients", _users_of(t))
    return sorts


SORTS: dict[str, tuple[str, Callable[[ReportRow], Any]]] = {
    "value": ("Value", lambda r: r.label.lower()),
    **_type_sorts(),
    "rate": ("Conversion rate", lambda r: r.counts.conversion_rate if r.counts.conversion_rate is not None else -1.0),
    "revenue": ("Revenue", lambda r: r.counts.revenue),
    "epc": ("EPC", lambda r: r.counts.epc if r.counts.epc is not None else Decimal(-1)),
    "bots": ("Bot share", lambda r: r.bot_share if r.bot_share is not None else -1.0),
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


def dimension(name: str | None) -> Dimension:
    """The dimension `?by=` names; the first one for anything else."""
    return BY_NAME.get(name or "", DEFAULT_DIMENSION)


def _sums(session: Session, campaign_id: int, dim: Dimension, period: Period, tz: Any) -> list[tuple[str, Counts]]:
    columns = [func.sum(counter(ReportStats, c)) for c in REPORT_COUNTERS]
    stmt = (select(ReportStats.value, *columns)
            .where(ReportStats.campaign_id == campaign_id, ReportStats.dimension == dim.name)
            .group_by(ReportStats.value))
    if not period.is_all:
        first, after = period.days(tz)
        stmt = stmt.where(ReportStats.day >= first, ReportStats.day < after)
    return [(row[0], Counts.of_row(row[1:], REPORT_COUNTERS)) for row in session.execute(stmt)]


def _bot_share(all_traffic: Counts) -> float | None:
    events = all_traffic.events
    return 100.0 * sum(all_traffic[events_column(t, BOTS)] for t in EVENT_TYPES) / events if events else None


def build_report(*, session: Session, campaign_id: int, dim: Dimension, period: Period, tz: Any, all_counts: bool,
                 sort: str, descending: bool, top: int = TOP_ROWS) -> Report:
    """The report for `dim` over `period` (days of `tz`): the `top` rows by `sort`, the rest summed into
    "(other)" (with the values the cap already counted there)."""
    sums = _sums(session, campaign_id, dim, period, tz)
    rows = [ReportRow(value, value_label(dim.name, value), counts.shown(all_counts), _bot_share(counts))
            for value, counts in sums if value != OTHER]
    stored_other = [counts for value, counts in sums if value == OTHER]
    _, key = SORTS[sort]
    rows.sort(key=lambda r: r.label.lower())  # ties in the column read alphabetically
    rows.sort(key=key, reverse=descending)
    shown, rest = rows[:top], rows[top:]
    if stored_other or rest:
        rest_values = {r.value for r in rest}
        other_all = total([*stored_other, *(c for v, c in sums if v in rest_values)])
        shown.append(ReportRow(OTHER, OTHER, other_all.shown(all_counts), _bot_share(other_all)))
    everything = total(c for _, c in sums)
    return Report(dim, shown, everything.shown(all_counts), len(rows) + (1 if stored_other else 0), sort, descending)


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

