"""A report row's drill-down: the campaign's journeys with a counted event of one report value (`?by=&value=`),
found in report_recipients (common/reports.py keeps it with report_stats) rather than in events.

Two ways to a page of them, newest first, chosen by how many journeys the value has (`n`, counted off the
table's primary key up to a bound, which also gives the page's "of N" without another statement):

- a value with few journeys: they are read from the table and joined to journeys by primary key, then
  sorted: cost ~ n;
- a common one (a big country): the newest journeys are tested one by one against the table's primary key
  until a page is full: cost ~ page x recipients / n.

Both are primary-key lookups, so the break-even is n = sqrt(page x recipients): 7,071 at a million.
Lists only folded events (as the report): an event still in report_queue shows within REPORT_FOLD_SECONDS. A
`param:` key or a pair is listed once its report is chosen and filled; before (the report still filling, or a
hand-made `?by=param:<key>`), its journeys are found from events, testing the newest UNLISTED_SEARCH only.
"""
import math
import typing
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, select, text, tuple_
from sqlalchemy.orm import Session

from common.models import DomainStats, Event, Journey, ReportRecipient, ReportSlot, counter
from common.report_dimensions import (
    BY_NAME,
    PAIR_SEPARATOR,
    Dimension,
    pair_dimension,
    split_pair,
    value_label,
)
from common.report_dimensions import find as find_dimension

# A page of journeys (web/dashboard/pages.py's), for the break-even above.
_PAGE = 50
# How many of the newest journeys a value not listed is looked for in, through their events (~10 events each,
# probed by email): all of them took 15-17 s for a rare sub-id of a 10 M-event campaign; 1,000 take 0.35-0.45 s,
# 2,000 0.56-0.84 s, on a loaded machine (docs/performance.md, session 10).
UNLISTED_SEARCH = 1_000


@dataclass(frozen=True)
class ReportValue:
    """A report row's value (the Reports tab's drill-down): recipients with an event of that value, e.g. country
    FR, or of both values of a pair (country FR, device mobile: `value` holds both, as report_stats does);
    `timezone` is DASHBOARD_TIMEZONE, for the hour and weekday dimensions."""

    dimension: Dimension
    value: str
    timezone: str

    @classmethod
    def parse(cls, by: str | None, value: str | None, timezone: str, then: str | None = None,
              then_value: str | None = None) -> "ReportValue | None":
        """From `?by=&value=[&then=&then_value=]`; None unless each names a dimension and a value ("" is
        "(none)")."""
        dimension = find_dimension(by or "")
        if dimension is None or value is None:
            return None
        if then is None and then_value is None:
            return cls(dimension, value, timezone)
        second = find_dimension(then or "")
        if second is None or then_value is None or second.name == dimension.name:
            return None
        # A value cannot hold the separator (the pair's stored value never does): it would match nothing.
        return cls(pair_dimension(dimension, second), value + PAIR_SEPARATOR + then_value, timezone)

    @property
    def label(self) -> str:
        """ "Country: FR", "Country: FR · Device: mobile"."""
        parts = self.dimension.parts or (self.dimension,)
        values = split_pair(self.value) if self.dimension.parts else (self.value,)
        return " · ".join(f"{d.label}: {value_label(d.name, v)}" for d, v in zip(parts, values, strict=True))

    def params(self) -> dict[str, str]:
        """As query parameters (the drill-down's link and the filter form)."""
        if not self.dimension.parts:
            return {"by": self.dimension.name, "value": self.value}
        (first, then), (value, then_value) = self.dimension.parts, split_pair(self.value)
        return {"by": first.name, "value": value, "then": then.name, "then_value": then_value}

    def of_events(self, alias: str) -> ColumnElement[bool]:
        """The events rows of table `alias` with this value (a pair's: both; the events export)."""
        expr = self.dimension.stored(alias).replace("%(tz)s", ":report_tz")
        clause = text(f"{expr} = :report_value")
        binds: dict[str, str] = {"report_value": self.value, **dict(self.dimension.binds)}
        if ":report_tz" in expr:
            binds["report_tz"] = self.timezone
        clause = clause.bindparams(**binds)
        return typing.cast(ColumnElement[bool], clause)


@dataclass(frozen=True)
class ReportMatch:
    """How the journeys of a value are selected, and how many there are: `journeys` exactly, up to `counted`;
    past it, more than `counted`; None: not counted (a `param:` key not listed)."""

    condition: ColumnElement[bool]
    journeys: int | None = None
    counted: int = 0
    newest: int | None = None  # not listed: only the newest this many journeys were searched

    def total(self, cap: int) -> tuple[int, bool] | None:
        """The count shown (at most `cap`, which must not exceed `counted`), and whether there are more."""
        if self.journeys is None:
            return None
        return min(self.journeys, cap), self.journeys > cap


def listed(campaign_id: int, report: ReportValue) -> Select[str, str]:
    """The value's journeys as listed: (email, domain)."""
    return select(ReportRecipient.email, ReportRecipient.domain).where(
        ReportRecipient.campaign_id == campaign_id, ReportRecipient.dimension == report.dimension.name,
        ReportRecipient.value == report.value)


def break_even(recipients: int) -> int:
    """Up to how many journeys a value's are read from the list rather than found by testing the newest."""
    return math.isqrt(_PAGE * recipients)


def _of_events(report: ReportValue) -> ColumnElement[bool]:
    """Journeys with an event of the value, tested one by one through idx_events_email: exact, and slow for a
    rare value (every journey of the campaign tested)."""
    return exists().where(Event.email == Journey.email, Event.campaign_id == Journey.campaign_id,
                          Event.domain == Journey.domain, report.of_events("events"))


def _is_listed(session: Session, campaign_id: int, dimension: str) -> bool:
    """Whether report_recipients lists every counted event's journey under this dimension: a fixed one, or a
    `param:` report or pair chosen and filled (a hand-made `?by=param:<key>` of another key, or one still
    filling, is read from events)."""
    if dimension in BY_NAME:
        return True
    return bool(session.scalar(select(ReportSlot.filled).where(
        ReportSlot.campaign_id == campaign_id, ReportSlot.dimension == dimension)))


def report_match(session: Session, campaign_id: int, report: ReportValue, *, at_least: int) -> ReportMatch:
    """The value's journeys: listed if few, tested newest first if many (see the module's docstring); counted
    up to the break-even, and at least up to `at_least` (the count's cap)."""
    if not _is_listed(session, campaign_id, report.dimension.name):
        first_left_out = session.scalar(
            select(Journey.first_seen).where(Journey.campaign_id == campaign_id)
            .order_by(Journey.first_seen.desc()).offset(UNLISTED_SEARCH).limit(1))
        if first_left_out is None:  # no more journeys than that: all of them
            return ReportMatch(_of_events(report))
        return ReportMatch(and_(Journey.first_seen > first_left_out, _of_events(report)), newest=UNLISTED_SEARCH)
    recipients = int(session.scalar(select(func.coalesce(func.sum(counter(DomainStats, "users")), 0))
                                    .where(DomainStats.campaign_id == campaign_id)) or 0)
    bound = break_even(recipients)
    counted = max(bound, at_least)
    found = int(session.scalar(select(func.count()).select_from(
        listed(campaign_id, report).limit(counted + 1).subquery())) or 0)
    condition: ColumnElement[bool]
    if found <= bound:
        condition = tuple_(Journey.email, Journey.domain).in_(listed(campaign_id, report))
    else:
        # OFFSET 0 keeps the test a per-journey probe: made a semi-join, the planner (which guesses a value's
        # rows as if dimension and value were unrelated: 5,697 for 68,542) hashed all of the value's journeys
        # and sorted them (504 ms for a country of 68 k of 100 k journeys, 3.3 ms probing).
        condition = exists(select(literal(1)).where(
            ReportRecipient.campaign_id == Journey.campaign_id, ReportRecipient.dimension == report.dimension.name,
            ReportRecipient.value == report.value, ReportRecipient.email == Journey.email,
            ReportRecipient.domain == Journey.domain).offset(0))
    return ReportMatch(condition, found, counted)
