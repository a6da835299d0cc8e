"""The home page's comparison table: every campaign's funnel and money, sorted by any column, searched by name,
in a date range, a page at a time, with totals per currency.

One statement reads each campaign's sums from the rollups (domain_stats for all time, hourly_stats for a
range, plus all-time clicks for the fixed cost's share), computes the money columns in SQL so that they can
be sorted, and returns one page with the count of all matches; a second one adds the matches up per currency
(amounts in different currencies are never added together). The cost rule is web/dashboard/money.py's, written
in SQL here; tests/web/test_dashboard_money.py checks that both give the same numbers.
"""
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Numeric, Select, Text, cast, func, literal, select
from sqlalchemy.orm import Session

from common.models import Campaign, DailyStats, DomainStats, counter
from common.vocabulary import ALL, BOTS, ENTRY, GOAL, events_column, revenue_column
from web.dashboard.money import Returns
from web.dashboard.period import ALL_TIME, Period

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
# What each campaign is summed over, all traffic and the bots' part: the funnel's ends and the revenue.
_SUMMED = {
    "clicks": (events_column(ENTRY, ALL), events_column(ENTRY, BOTS)),
    "conversions": (events_column(GOAL, ALL), events_column(GOAL, BOTS)),
    "revenue": (revenue_column(ALL), revenue_column(BOTS)),
}


@dataclass(frozen=True)
class CampaignRow:
    id: int
    name: str
    created_at: datetime
    archived: bool
    currency: str
    clicks: int
    conversions: int
    revenue: Decimal
    cost: Decimal
    profit: Decimal
    roi: Decimal | None  # percent; None without a cost
    epc: Decimal | None  # None without clicks
    conversion_rate: Decimal | None  # percent; None without clicks


@dataclass(frozen=True)
class CurrencyTotal(Returns):
    """The matching campaigns in one currency, added up."""

    currency: str
    campaigns: int
    clicks: int
    conversions: int
    revenue: Decimal
    cost: Decimal

    @property
    def conversion_rate(self) -> Decimal | None:
        return Decimal(self.conversions) * _HUNDRED / self.clicks if self.clicks > 0 else None


# Sortable columns: the query parameter, the heading, and whether it sorts descending first.
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("id", "ID", True), ("name", "Name", False), ("clicks", "Clicks", True), ("conversions", "Conv", True),
    ("created", "Created", True), ("cr", "CR", True), ("revenue", "Revenue", True), ("cost", "Cost", True),
    ("profit", "Profit", True), ("roi", "ROI", True), ("epc", "EPC", True),
)
SORTS = frozenset(key for key, _, _ in COLUMNS)
DESCENDING_FIRST = {key: descending for key, _, descending in COLUMNS}
DEFAULT_SORT = "created"


@dataclass(frozen=True)
class TableQuery:
    archived: bool = False
    all_counts: bool = False
    period: Period = ALL_TIME
    search: str | None = None
    sort: str = DEFAULT_SORT
    descending: bool = True
    page: int = 1
    page_size: int = 50
    timezone: tzinfo = UTC  # DASHBOARD_TIMEZONE: the days of daily_stats, which a range reads


@dataclass(frozen=True)
class CampaignTable:
    rows: list[CampaignRow]
    matches: int  # campaigns matching the query, over every page
    totals: list[CurrencyTotal]
    query: TableQuery

    @property
    def pages(self) -> int:
        return max(1, -(-self.matches // self.query.page_size))

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row."""
        return (self.query.page - 1) * self.query.page_size + 1 if self.rows else 0


def _sums(table: Any, where: list[ColumnElement[bool]]) -> Any:
    return (select(table.campaign_id,
                   *(func.sum(counter(table, column)).label(f"{name}_{i}")
                     for name, columns in _SUMMED.items() for i, column in enumerate(columns)))
            .where(*where).group_by(table.campaign_id).subquery())


def _shown(sums: Any, name: str, all_counts: bool) -> ColumnElement[Any]:
    """A summed column of the traffic shown: all of it, or without the bots'."""
    every = func.coalesce(sums.c[f"{name}_0"], 0)
    return every if all_counts else every - func.coalesce(sums.c[f"{name}_1"], 0)


def _matching(query: TableQuery) -> Select[Any]:
    """One row per matching campaign with its shown numbers and money, unsorted."""
    everything = _sums(DomainStats, [])
    whole = query.period.is_all
    if whole:
        in_range = everything
    else:  # whole days of the dashboard's zone: one row per campaign and day (migration 0010)
        first, after = query.period.days(query.timezone)
        in_range = _sums(DailyStats, [DailyStats.day >= first, DailyStats.day < after])
    clicks = _shown(in_range, "clicks", query.all_counts)
    conversions = _shown(in_range, "conversions", query.all_counts)
    revenue = _shown(in_range, "revenue", query.all_counts)
    # web/dashboard/money.py's rule: the fixed cost spread over all the campaign's clicks (of the traffic
    # shown), all of it for all time; the cost per click for each click shown.
    all_clicks = _shown(everything, "clicks", query.all_counts)
    share: ColumnElement[Any] = literal(1) if whole else func.coalesce(
        cast(clicks, Numeric) / func.nullif(all_clicks, 0), 0)
    cost = (func.coalesce(Campaign.cost_total, 0) * share + func.coalesce(Campaign.cost_per_click, 0) * clicks)
    clicks_or_null = func.nullif(clicks, 0)
    stmt = (
        select(Campaign.id.label("id"), Campaign.name.label("name"), Campaign.created_at.label("created"),
               Campaign.archived_at.is_not(None).label("archived"), Campaign.currency.label("currency"),
               clicks.label("clicks"), conversions.label("conversions"), revenue.label("revenue"),
               cost.label("cost"), (revenue - cost).label("profit"),
               ((revenue - cost) * 100 / func.nullif(cost, 0)).label("roi"),
               (revenue / clicks_or_null).label("epc"),
               (cast(conversions, Numeric) * 100 / clicks_or_null).label("cr"))
        .outerjoin(everything, everything.c.campaign_id == Campaign.id)
        .where(Campaign.deleted_at.is_(None),
               Campaign.archived_at.is_not(None) if query.archived else Campaign.archived_at.is_(None))
    )
    if not whole:
        stmt = stmt.outerjoin(in_range, in_range.c.campaign_id == Campaign.id)
    if query.search:
        escaped = query.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Campaign.name.ilike(f"%{escaped}%"))
    return stmt


def _per_currency(matching: Any) -> Any:
    """The matching campaigns added up per currency, as one JSON array (amounts as text: exact)."""
    sums = (select(matching.c.currency, func.count().label("n"), func.sum(matching.c.clicks).label("clicks"),
                   func.sum(matching.c.conversions).label("conversions"),
                   cast(func.sum(matching.c.revenue), Text).label("revenue"),
                   cast(func.sum(matching.c.cost), Text).label("cost"))
            .group_by(matching.c.currency).subquery())
    return select(func.json_agg(func.json_build_array(sums.c.currency, sums.c.n, sums.c.clicks, sums.c.conversions,
                                                      sums.c.revenue, sums.c.cost))).scalar_subquery()


def campaign_table(*, session: Session, query: TableQuery) -> CampaignTable:
    """One page of the table, and how many match, and their totals per currency: one statement, the matching
    campaigns computed once (a CTE both the page and the totals read)."""
    matching = _matching(query).cte("matching")
    key = matching.c[query.sort]
    order = (key.desc() if query.descending else key.asc()).nulls_last()
    page = (select(matching, func.count().over().label("matches"), _per_currency(matching).label("totals"))
            .order_by(order, matching.c.id.desc())
            .limit(query.page_size).offset((query.page - 1) * query.page_size))
    rows = list(session.execute(page))
    if rows:
        matches, totals = int(rows[0].matches), rows[0].totals or []
    else:  # a page past the last: its rows carry no count
        matches = int(session.scalar(select(func.count()).select_from(matching)) or 0)
        totals = session.scalar(select(_per_currency(matching))) or []
    return CampaignTable(
        rows=[_row(r) for r in rows],
        matches=matches,
        totals=sorted((CurrencyTotal(c, int(n), int(k or 0), int(v or 0), Decimal(rev or 0), Decimal(cost or 0))
                       for c, n, k, v, rev, cost in totals), key=lambda t: t.currency),
        query=query,
    )


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _row(r: Any) -> CampaignRow:
    return CampaignRow(id=r.id, name=r.name, created_at=r.created, archived=r.archived, currency=r.currency,
                       clicks=int(r.clicks), conversions=int(r.conversions), revenue=Decimal(r.revenue),
                       cost=Decimal(r.cost), profit=Decimal(r.profit), roi=_decimal(r.roi), epc=_decimal(r.epc),
                       conversion_rate=_decimal(r.cr))

