"""The API's JSON shapes, with the examples the OpenAPI schema shows. Amounts are exact decimals written as
strings ("12.50"); times are UTC (ISO 8601 with a Z); per-type counts are keyed by the event types'
plural names (common/vocabulary.py), so a new event type appears here by itself."""
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from common.models import Campaign
from common.vocabulary import EVENT_TYPES
from web.dashboard.campaign_table import CampaignRow, CurrencyTotal
from web.dashboard.counts import Counts
from web.dashboard.money import Money
from web.dashboard.period import Period
from web.dashboard.report import Report, ReportRow


def _utc(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


# Stored times are naive UTC: written out with their zone.
UtcTime = Annotated[datetime, PlainSerializer(_utc, return_type=str)]
Amount = Annotated[Decimal, PlainSerializer(lambda d: f"{d:f}", return_type=str)]

_TYPES = [t.plural for t in EVENT_TYPES]


class CampaignIn(BaseModel):
    """A new campaign. Costs are optional: a fixed total (a list rental, a send) and an amount per email click."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Spring sale", "offer_url": "https://shop.example.com/sale?aff=42&email={email}",
         "currency": "EUR", "cost_total": "250", "cost_per_click": "0.05"}]})

    name: str = Field(max_length=4096)
    offer_url: str = Field(max_length=4096)
    currency: str | None = Field(default=None, max_length=16, description="ISO 4217; DEFAULT_CURRENCY if left out")
    cost_total: Decimal | None = Field(default=None, description="A fixed cost for the whole campaign")
    cost_per_click: Decimal | None = Field(default=None, description="A cost per email click")


class CampaignPatch(BaseModel):
    """What to change; fields left out stay as they are, a cost set to null is removed. The currency can
    change only while the campaign has no revenue."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "Spring sale (EU)"},
                                                                              {"cost_per_click": None}]})

    name: str | None = Field(default=None, max_length=4096)
    offer_url: str | None = Field(default=None, max_length=4096)
    currency: str | None = Field(default=None, max_length=16)
    cost_total: Decimal | None = None
    cost_per_click: Decimal | None = None


class CampaignOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": 7, "name": "Spring sale", "offer_url": "https://shop.example.com/sale?aff=42&email={email}",
         "currency": "EUR", "cost_total": "250.000000", "cost_per_click": "0.050000",
         "created_at": "2026-12-01T09:30:00Z", "archived": False, "archived_at": None}]})

    id: int
    name: str
    offer_url: str
    currency: str
    cost_total: Amount | None
    cost_per_click: Amount | None
    created_at: UtcTime
    archived: bool
    archived_at: UtcTime | None

    @classmethod
    def of(cls, campaign: Campaign) -> "CampaignOut":
        return cls(id=campaign.id, name=campaign.name, offer_url=campaign.offer_url, currency=campaign.currency,
                   cost_total=campaign.cost_total, cost_per_click=campaign.cost_per_click,
                   created_at=campaign.created_at, archived=campaign.archived_at is not None,
                   archived_at=campaign.archived_at)


class CampaignSummary(BaseModel):
    """One row of the home page's table."""

    id: int
    name: str
    created_at: UtcTime
    archived: bool
    currency: str
    clicks: int = Field(description="Email clicks")
    conversions: int
    conversion_rate: Amount | None = Field(description="Percent of email clicks; null without clicks")
    revenue: Amount
    cost: Amount
    profit: Amount
    roi: Amount | None = Field(description="Percent; null without a cost")
    epc: Amount | None = Field(description="Earnings per email click; null without clicks")

    @classmethod
    def of(cls, row: CampaignRow) -> "CampaignSummary":
        return cls(id=row.id, name=row.name, created_at=row.created_at, archived=row.archived,
                   currency=row.currency, clicks=row.clicks, conversions=row.conversions,
                   conversion_rate=row.conversion_rate, revenue=row.revenue, cost=row.cost, profit=row.profit,
                   roi=row.roi, epc=row.epc)


class CurrencyTotalOut(BaseModel):
    currency: str
    campaigns: int
    clicks: int
    conversions: int
    revenue: Amount
    cost: Amount
    profit: Amount

    @classmethod
    def of(cls, t: CurrencyTotal) -> "CurrencyTotalOut":
        return cls(currency=t.currency, campaigns=t.campaigns, clicks=t.clicks, conversions=t.conversions,
                   revenue=t.revenue, cost=t.cost, profit=t.profit)


class CampaignList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"campaigns": [{"id": 7, "name": "Spring sale", "created_at": "2026-12-01T09:30:00Z", "archived": False,
                        "currency": "EUR", "clicks": 1200, "conversions": 36, "conversion_rate": "3.0",
                        "revenue": "540.00", "cost": "310.00", "profit": "230.00", "roi": "74.19",
                        "epc": "0.45"}],
         "matches": 1, "page": 1, "pages": 1, "page_size": 50,
         "totals": [{"currency": "EUR", "campaigns": 1, "clicks": 1200, "conversions": 36, "revenue": "540.00",
                     "cost": "310.00", "profit": "230.00"}]}]})

    campaigns: list[CampaignSummary]
    matches: int = Field(description="Campaigns matching, over every page")
    page: int
    pages: int
    page_size: int
    totals: list[CurrencyTotalOut] = Field(description="The matches added up per currency")


class RangeOut(BaseModel):
    key: str = Field(description="all, today, 7d, 30d or custom")
    start: UtcTime | None = Field(description="Inclusive; null for all time")
    end: UtcTime | None = Field(description="Exclusive; null for all time")

    @classmethod
    def of(cls, period: Period) -> "RangeOut":
        return cls(key=period.key, start=period.start, end=period.end)


class TypeCountsOut(BaseModel):
    events: int
    bots: int = Field(description="Events flagged as bots (0 when only people are counted)")
    unknown: int = Field(description="Events from visitors nothing is known about")
    users: int = Field(description="Unique recipients with such an event (all traffic)")


def _types(counts: Counts) -> dict[str, TypeCountsOut]:
    return {t.type.plural: TypeCountsOut(events=t.events, bots=t.bots, unknown=t.unknown, users=t.users)
            for t in counts.types}


_TYPES_EXAMPLE: Any = {name: {"events": 100 * (3 - i), "bots": 0, "unknown": 2, "users": 80 * (3 - i)}
                  for i, name in enumerate(_TYPES)}


class StatsOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"campaign_id": 7, "counts": "human", "range": {"key": "7d", "start": "2026-11-30T00:00:00Z",
                                                         "end": "2026-12-07T00:00:00Z"},
         "users": 240, "types": _TYPES_EXAMPLE, "currency": "EUR", "revenue": "540.00", "cost": "310.00",
         "profit": "230.00", "roi": "74.19", "epc": "0.45", "conversion_rate": "3.0"}]})

    campaign_id: int
    counts: str = Field(description="human: people only (bots subtracted); all: every event")
    range: RangeOut
    users: int = Field(description="Unique recipients")
    types: dict[str, TypeCountsOut] = Field(description=f"Per event type: {', '.join(_TYPES)}")
    currency: str
    revenue: Amount
    cost: Amount
    profit: Amount
    roi: Amount | None
    epc: Amount | None
    conversion_rate: Amount | None

    @classmethod
    def of(cls, campaign_id: int, counts_mode: str, period: Period, shown: Counts, money: Money) -> "StatsOut":
        rate = shown.conversion_rate
        return cls(campaign_id=campaign_id, counts=counts_mode, range=RangeOut.of(period), users=shown.users,
                   types=_types(shown), currency=money.currency, revenue=money.revenue, cost=money.cost,
                   profit=money.profit, roi=money.roi, epc=money.epc,
                   conversion_rate=_rate(rate))


class DomainOut(BaseModel):
    domain: str
    users: int
    types: dict[str, TypeCountsOut]
    revenue: Amount


class DomainsOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"campaign_id": 7, "counts": "human", "range": {"key": "all", "start": None, "end": None},
         "domains": [{"domain": "news.example.com", "users": 240, "types": _TYPES_EXAMPLE, "revenue": "540.00"}]}]})

    campaign_id: int
    counts: str
    range: RangeOut
    domains: list[DomainOut] = Field(description="Most email clicks first")


def domain_out(domain: str, counts: Counts) -> DomainOut:
    return DomainOut(domain=domain, users=counts.users, types=_types(counts), revenue=counts.revenue)


class PointOut(BaseModel):
    start: datetime = Field(description="The bucket's start, local time of DASHBOARD_TIMEZONE (no offset)")
    events: dict[str, int] = Field(description=f"Per event type: {', '.join(_TYPES)}")
    revenue: Amount


class TimelineOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"campaign_id": 7, "counts": "human", "range": {"key": "today", "start": "2026-12-06T00:00:00Z",
                                                         "end": "2026-12-07T00:00:00Z"},
         "bucket": "hour", "zone": "UTC",
         "points": [{"start": "2026-12-06T09:00:00", "events": {name: 3 for name in _TYPES}, "revenue": "15.00"}]}]})

    campaign_id: int
    counts: str
    range: RangeOut
    bucket: str = Field(description="hour, day or week, by the range's span")
    zone: str
    points: list[PointOut] = Field(description="Every bucket of the range, empty ones included")


def point_out(start: datetime, counts: Counts) -> PointOut:
    return PointOut(start=start, events={t.type.plural: t.events for t in counts.types}, revenue=counts.revenue)


class ReportRowOut(BaseModel):
    value: str = Field(description='As stored: "" is no value, "(other)" the values past the top rows')
    label: str = Field(description="As the dashboard shows it: (none), Monday, 09:00")
    then_value: str | None = Field(None, description="A pair's second value, as stored (null for one dimension)")
    then_label: str | None = Field(None, description="A pair's second value as the dashboard shows it")
    types: dict[str, TypeCountsOut]
    revenue: Amount
    epc: Amount | None
    conversion_rate: Amount | None = Field(description="Percent of email clicks; null without clicks")
    bot_share: Amount | None = Field(description="Percent of all its events flagged as bots, whatever `counts`")


def _rate(rate: float | None) -> Decimal | None:
    return None if rate is None else Decimal(str(round(rate, 4)))


def report_row_out(row: ReportRow, pair: bool) -> ReportRowOut:
    c = row.counts
    value, then_value = row.values if pair else (row.value, None)
    return ReportRowOut(value=value, label=row.label, then_value=then_value,
                        then_label=row.labels[1] if pair else None, types=_types(c), revenue=c.revenue,
                        epc=c.epc, conversion_rate=_rate(c.conversion_rate), bot_share=_rate(row.bot_share))


class ReportOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"campaign_id": 7, "counts": "human", "range": {"key": "30d", "start": "2026-11-07T00:00:00Z",
                                                         "end": "2026-12-07T00:00:00Z"},
         "dimension": "country", "label": "Country", "values": 2, "sort": "email_clicks", "dir": "desc",
         "rows": [{"value": "DE", "label": "DE", "types": _TYPES_EXAMPLE, "revenue": "300.00", "epc": "1.00",
                   "conversion_rate": "3.3", "bot_share": "4.2"}],
         "totals": _TYPES_EXAMPLE}]})

    campaign_id: int
    counts: str
    range: RangeOut
    dimension: str
    label: str
    then: str | None = Field(None, description="A pair's second dimension (null for one dimension)")
    values: int = Field(description="Distinct values in the range, before the top rows were taken")
    sort: str
    dir: str
    rows: list[ReportRowOut] = Field(description='The top rows, sorted, then "(other)" when there are more')
    totals: dict[str, TypeCountsOut]

    @classmethod
    def of(cls, campaign_id: int, counts_mode: str, period: Period, report: Report) -> "ReportOut":
        dim, pair = report.dimension, bool(report.dimension.parts)
        first = dim.parts[0] if pair else dim
        return cls(campaign_id=campaign_id, counts=counts_mode, range=RangeOut.of(period),
                   dimension=first.name, label=dim.label, then=dim.parts[1].name if pair else None,
                   values=report.values, sort=report.sort, dir="desc" if report.descending else "asc",
                   rows=[report_row_out(r, pair) for r in report.rows], totals=_types(report.totals))


class JourneyOut(BaseModel):
    email: str
    domain: str
    first_seen: UtcTime
    counts: dict[str, int] = Field(description="Events per type, and bot_events, unknown_events")


class JourneyPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"journeys": [{"email": "ann@example.org", "domain": "news.example.com",
                       "first_seen": "2026-12-06T09:12:44Z",
                       "counts": {**{name: 1 for name in _TYPES}, "bot_events": 0, "unknown_events": 0}}],
         "next_cursor": "WyIyMDI2LTEyLTA2VDA5OjEyOjQ0IiwiYW5uQGV4YW1wbGUub3JnIiwibmV3cy5leGFtcGxlLmNvbSJd"}]})

    journeys: list[JourneyOut] = Field(description="Newest recipient first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


ERROR_EXAMPLES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No token, or an unknown, revoked or expired one",
          "content": {"application/json": {"example": {"detail": "The API token is unknown, revoked or expired"}}}},
    403: {"description": "The token (or its user's role) does not allow this",
          "content": {"application/json": {"example": {"detail": "This token can only read"}}}},
    429: {"description": "Past the token's rate limit: retry after the Retry-After header's seconds",
          "content": {"application/json": {"example": {"detail": "Too many requests for this token"}}}},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such campaign", "content": {"application/json": {"example": {"detail": "No campaign 7"}}}},
}
