"""The dashboard's read queries. Counts come from the rollups (domain_stats, hourly_stats, journeys), never
from `events`. With a date range, event counts and the recipients first seen in the range (a cohort: what
they did since counts too) both come from hourly_stats, so a range costs one slice of its primary key.

Every query is shaped for the indexes in migration 0001, so pages stay fast at a million journeys:
journeys are listed newest recipient first off (campaign_id, first_seen DESC, email, domain) or its
per-domain twin (first_seen rather than last_seen: events never move a row, so "Load more" never repeats
or skips one), "Load more" continues after the last row shown (a keyset, not an OFFSET that reads and
drops every earlier row), and email search uses the trigram index. Only a search is ever counted over
journeys, and that count stops at SEARCH_COUNT_CAP rows.
"""
import base64
import binascii
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from common.enrich import ENRICH_KEY
from common.models import (
    Campaign,
    DomainStats,
    Event,
    HourlyStats,
    Journey,
    WebhookDelivery,
    counter,
)
from common.vocabulary import (
    ALL,
    AMOUNT_COUNTERS,
    BOTS,
    BY_NAME,
    ENTRY,
    EVENT_COUNTERS,
    GOAL,
    JOURNEY_AMOUNTS,
    JOURNEY_COUNTERS,
    JOURNEY_TYPE_COUNTERS,
    ROLLUP_COUNTERS,
    UNKNOWN,
    Traffic,
    events_column,
)
from web.dashboard.counts import Counts, total
from web.dashboard.drill_down import ReportMatch, ReportValue, report_match
from web.dashboard.period import ALL_TIME, Bucket, Period
from web.dashboard.search import common_in_emails, index_part

# Past this many matches a search shows "1,000+": counting further would cost more than the page itself.
SEARCH_COUNT_CAP = 1_000
MAX_SEARCH_LENGTH = 255



@dataclass(frozen=True)
class DomainRow(Counts):
    domain: str = ""


@dataclass(frozen=True)
class CampaignRow:
    id: int
    name: str
    created_at: datetime
    archived: bool
    counts: Counts  # HOME_COUNTERS

    def shown(self, all_counts: bool) -> "CampaignRow":
        return replace(self, counts=self.counts.shown(all_counts))


@dataclass(frozen=True)
class JourneyRow:
    email: str
    domain: str
    first_seen: datetime
    counts: dict[str, int]  # by JOURNEY_COUNTERS name: events per type, bot_events, unknown_events

    @property
    def events(self) -> int:
        return sum(self.counts[c] for c in JOURNEY_TYPE_COUNTERS)

    @property
    def only_bots(self) -> bool:
        """Every event of this recipient was flagged as a bot (a scanner, most likely, not a person)."""
        return 0 < self.events <= self.counts["bot_events"]

    @property
    def only_unknown(self) -> bool:
        """Nothing is known about the visitor behind any of this recipient's events (server-side calls)."""
        return 0 < self.events <= self.counts["unknown_events"]


@dataclass(frozen=True)
class JourneyCursor:
    """Where a page of journeys ended, in the listing's order: the next page starts right after it."""

    first_seen: datetime
    email: str
    domain: str

    @classmethod
    def after(cls, row: JourneyRow) -> "JourneyCursor":
        return cls(row.first_seen, row.email, row.domain)

    def encode(self) -> str:
        raw = json.dumps([self.first_seen.isoformat(), self.email, self.domain], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str | None) -> "JourneyCursor | None":
        """The cursor in a "Load more" URL; None when missing or not one of ours."""
        if not token:
            return None
        try:
            seen, email, domain = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            return cls(datetime.fromisoformat(seen), str(email), str(domain))
        except (ValueError, TypeError, binascii.Error):
            return None


@dataclass(frozen=True)
class JourneyFilters:
    """The journeys table's filters, normalised: None means "all"."""

    domain: str | None = None
    event: str | None = None
    search: str | None = None
    report: ReportValue | None = None

    @classmethod
    def parse(cls, *, domain: str | None = None, event: str | None = None,
              search: str | None = None, report: ReportValue | None = None) -> "JourneyFilters":
        """Filters from query parameters; unknown events and blank values mean "all"."""
        domain = (domain or "").strip() or None
        term = (search or "").strip().lower()[:MAX_SEARCH_LENGTH] or None
        return cls(domain=domain, event=event if event in BY_NAME else None, search=term, report=report)

    def params(self) -> dict[str, str]:
        """As query parameters (the names the filter form uses)."""
        found = {"domain": self.domain, "event": self.event, "q": self.search}
        report = self.report.params() if self.report else {}
        return {**{k: v for k, v in found.items() if v}, **report}


@dataclass(frozen=True)
class Total:
    value: int
    capped: bool = False  # True: there are more than `value`
    newest: int | None = None  # counted among the newest this many recipients only (drill_down.UNLISTED_SEARCH)


# What the home page shows of each campaign: the funnel's entry and goal events, all and bots.
HOME_COUNTERS = tuple(events_column(t, tr) for t in (ENTRY, GOAL) for tr in (ALL, BOTS))


def list_campaigns(*, session: Session, archived: bool = False) -> list[CampaignRow]:
    """Campaigns, newest first, with their HOME_COUNTERS: the active ones, or with `archived` the archived
    ones. Campaigns being deleted are never listed."""
    totals = (
        select(DomainStats.campaign_id, *(func.sum(counter(DomainStats, c)).label(c) for c in HOME_COUNTERS))
        .group_by(DomainStats.campaign_id)
        .subquery()
    )
    stmt = (
        select(Campaign.id, Campaign.name, Campaign.created_at, Campaign.archived_at.is_not(None),
               *(totals.c[c] for c in HOME_COUNTERS))
        .outerjoin(totals, totals.c.campaign_id == Campaign.id)
        .where(Campaign.deleted_at.is_(None),
               Campaign.archived_at.is_not(None) if archived else Campaign.archived_at.is_(None))
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    )
    return [CampaignRow(id=row[0], name=row[1], created_at=row[2], archived=row[3],
                        counts=Counts.of_row(row[4:], HOME_COUNTERS)) for row in session.execute(stmt)]


def count_archived(*, session: Session) -> int:
    stmt = select(func.count()).where(Campaign.archived_at.is_not(None), Campaign.deleted_at.is_(None))
    return int(session.scalar(stmt) or 0)


def campaigns_being_deleted(*, session: Session) -> list[str]:
    """Names of the campaigns whose events are still being removed in the background."""
    stmt = select(Campaign.name).where(Campaign.deleted_at.is_not(None)).order_by(Campaign.deleted_at)
    return list(session.scalars(stmt))


_COUNT_COLUMNS = tuple(counter(DomainStats, c) for c in ROLLUP_COUNTERS)


def campaign_totals(*, session: Session, campaign_id: int, period: Period = ALL_TIME) -> Counts:
    if not period.is_all:
        return total(domain_rows(session=session, campaign_id=campaign_id, period=period))
    stmt = select(*(func.sum(column) for column in _COUNT_COLUMNS)).where(DomainStats.campaign_id == campaign_id)
    return Counts.of_row(session.execute(stmt).one())


def _domain_row(row: Any) -> DomainRow:
    """A row of ROLLUP_COUNTERS followed by the domain."""
    counts = Counts.of_row(row[:-1])
    return DomainRow(counts.values, counts.amounts, domain=row[-1])


def domain_rows(*, session: Session, campaign_id: int, period: Period = ALL_TIME) -> list[DomainRow]:
    """Per sending domain, most entry events (email clicks) first (all traffic: the order stays put when counts
    switch)."""
    if not period.is_all:
        return _domain_rows_in(session, campaign_id, period)
    stmt = (
        select(*_COUNT_COLUMNS, DomainStats.domain)
        .where(DomainStats.campaign_id == campaign_id)
        .order_by(counter(DomainStats, events_column(ENTRY)).desc(), DomainStats.domain)
    )
    return [_domain_row(row) for row in session.execute(stmt)]


def _hourly_sum(name: str) -> Any:
    """The sum of hourly_stats' counter `name` over the rows a query reads."""
    column = counter(HourlyStats, name)
    if name in AMOUNT_COUNTERS:
        return func.sum(column)
    # An hour's count fits an int4, and sum(int4) adds in bigint where sum(bigint) adds in numeric (slower,
    # and read back as Decimal).
    return func.sum(cast(column, Integer))


def _in_period(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


def _domain_rows_in(session: Session, campaign_id: int, period: Period) -> list[DomainRow]:
    """Per domain: events in the range, and the recipients first seen in it (one slice of hourly_stats)."""
    stmt = (select(*(_hourly_sum(c) for c in ROLLUP_COUNTERS), HourlyStats.domain)
            .where(HourlyStats.campaign_id == campaign_id, _in_period(HourlyStats.hour, period))
            .group_by(HourlyStats.domain))
    rows = [_domain_row(row) for row in session.execute(stmt)]
    return sorted(rows, key=lambda row: (-row.entry.events, row.domain))


def first_hour(*, session: Session, campaign_id: int) -> datetime | None:
    """The campaign's first hour with events (where an all-time chart starts)."""
    return session.scalar(select(func.min(HourlyStats.hour)).where(HourlyStats.campaign_id == campaign_id))


def timeline(*, session: Session, campaign_id: int, start: datetime, end: datetime, bucket: Bucket,
             tz: str = "UTC") -> dict[datetime, Counts]:
    """Event counts per hour, day or week of time zone `tz` in [start, end) (naive UTC), from hourly_stats,
    keyed by the bucket's local start; buckets without events are absent."""
    local_hour: Any = HourlyStats.hour if tz == "UTC" else func.timezone(tz, func.timezone("UTC", HourlyStats.hour))
    moment = func.date_trunc(bucket, local_hour)
    measures = EVENT_COUNTERS + AMOUNT_COUNTERS
    stmt = (select(moment, *(_hourly_sum(c) for c in measures))
            .where(HourlyStats.campaign_id == campaign_id, HourlyStats.hour >= start, HourlyStats.hour < end)
            .group_by(moment))
    return {row[0]: Counts.of_row(row[1:], measures) for row in session.execute(stmt)}


def campaign_domains(*, session: Session, campaign_id: int) -> list[str]:
    """The campaign's sending domains, alphabetically (the domain filter's choices)."""
    stmt = select(DomainStats.domain).where(DomainStats.campaign_id == campaign_id)
    return list(session.scalars(stmt.order_by(DomainStats.domain)))


def _like_pattern(term: str) -> str:
    # Backslash is Postgres's default LIKE escape; no ESCAPE clause keeps the trigram index usable.
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(session: Session, column: InstrumentedAttribute[str], term: str) -> ColumnElement[bool]:
    """`column` contains `term`: the trigram index is asked for the part of the term that it can find without
    reading a list of most rows (web/dashboard/search.py), and strpos(), which the index does not use, checks the whole
    term on what it returns. Same rows as LIKE '%term%'; for one generated address among 1 M journeys, 58-65 ms
    -> 3-4 ms of SQL (docs/performance.md, session 6)."""
    part = index_part(term, common_in_emails.get(session))
    if part == term:
        return column.like(_like_pattern(term))
    return and_(column.like(_like_pattern(part)), func.strpos(column, term) > 0)


def _journey_conditions(session: Session, campaign_id: int, filters: JourneyFilters,
                        period: Period = ALL_TIME) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Journey.campaign_id == campaign_id]
    if not period.is_all:
        conditions.append(_in_period(Journey.first_seen, period))
    if filters.domain:
        conditions.append(Journey.domain == filters.domain)
    if filters.event:
        conditions.append(counter(Journey, BY_NAME[filters.event].plural) > 0)
    if filters.search:
        # Emails are stored lower-cased and the term is lower-cased: LIKE is a case-insensitive match here.
        conditions.append(_contains(session, Journey.email, filters.search))
    if filters.report:
        conditions.append(_report_match(session, campaign_id, filters.report).condition)
    return conditions


def _report_match(session: Session, campaign_id: int, report: ReportValue) -> ReportMatch:
    """The drill-down's journeys (web/dashboard/drill_down.py), worked out once per session: the journeys
    fragment lists a page and counts the matches in two statements."""
    key = ("report_match", campaign_id, report)
    if key not in session.info:
        session.info[key] = report_match(session, campaign_id, report, at_least=SEARCH_COUNT_CAP)
    match: ReportMatch = session.info[key]
    return match


def _after(cursor: JourneyCursor) -> ColumnElement[bool]:
    # Rows after the cursor in (first_seen DESC, email, domain) order. The plain `first_seen <=` bound is
    # what lets the index scan start at the cursor; the rest only sorts out rows seen at the same instant.
    return and_(
        Journey.first_seen <= cursor.first_seen,
        or_(Journey.first_seen < cursor.first_seen,
            tuple_(Journey.email, Journey.domain) > tuple_(literal(cursor.email), literal(cursor.domain))),
    )


def list_journeys(*, session: Session, campaign_id: int, filters: JourneyFilters, limit: int,
                  after: JourneyCursor | None = None, offset: int = 0,
                  period: Period = ALL_TIME) -> tuple[list[JourneyRow], bool]:
    """One page of recipients, newest first, after `after` (else from `offset`); and whether more follow."""
    conditions = _journey_conditions(session, campaign_id, filters, period)
    if after is not None:
        conditions.append(_after(after))
    stmt = (
        select(Journey.email, Journey.domain, Journey.first_seen, *(counter(Journey, c) for c in JOURNEY_COUNTERS))
        .where(*conditions)
        .order_by(Journey.first_seen.desc(), Journey.email, Journey.domain)
        .offset(None if after is not None else offset)
        .limit(limit + 1)  # one extra row tells whether "Load more" has anything left to load
    )
    rows = [JourneyRow(email=row[0], domain=row[1], first_seen=row[2],
                       counts=dict(zip(JOURNEY_COUNTERS, row[3:], strict=True))) for row in session.execute(stmt)]
    return rows[:limit], len(rows) > limit


def count_journeys(*, session: Session, campaign_id: int, filters: JourneyFilters,
                   period: Period = ALL_TIME) -> Total:
    """How many recipients match: from domain_stats (all time) or hourly_stats (first seen in a range), or
    for an email search counted over journeys up to a cap."""
    if filters.report and period.is_all and not (filters.search or filters.domain or filters.event):
        # The value's journeys were counted choosing how to list them.
        counted = _report_match(session, campaign_id, filters.report).total(SEARCH_COUNT_CAP)
        if counted is not None:
            return Total(*counted)
    if filters.search or filters.report:  # no rollup counts these: counted over journeys, up to the cap
        matching = (select(literal(1)).where(*_journey_conditions(session, campaign_id, filters, period))
                    .limit(SEARCH_COUNT_CAP + 1).subquery())
        found = int(session.scalar(select(func.count()).select_from(matching)) or 0)
        newest = _report_match(session, campaign_id, filters.report).newest if filters.report else None
        return Total(min(found, SEARCH_COUNT_CAP), capped=found > SEARCH_COUNT_CAP or newest is not None,
                     newest=newest)
    # Unique recipients (who have the filter's event): both rollups have the same counters.
    rollup: Any = DomainStats if period.is_all else HourlyStats
    name = BY_NAME[filters.event].users if filters.event else "users"
    stmt = select(func.coalesce(func.sum(counter(rollup, name)) if period.is_all else _hourly_sum(name), 0)).where(
        rollup.campaign_id == campaign_id)
    if not period.is_all:
        stmt = stmt.where(_in_period(HourlyStats.hour, period))
    if filters.domain:
        stmt = stmt.where(rollup.domain == filters.domain)
    return Total(int(session.scalar(stmt) or 0))


# --- CSV export ---------------------------------------------------------------------------------------------

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets ("CSV injection"):
# an email or a user agent like `=HYPERLINK(...)` must stay text, so such cells get a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(column: Any, name: str) -> Any:
    return case((func.left(column, 1).in_(FORMULA_STARTS), literal("'") + column), else_=column).label(name)


def _flag_cell(traffic: Traffic, name: str) -> Any:
    """"true" or "false": whether the event's stored enrichment puts it in `traffic`."""
    assert traffic.marker is not None
    key, value = traffic.marker
    return case((Event.extra_params[ENRICH_KEY][key].astext == value, "true"), else_="false").label(name)


def _flag(traffic: Traffic, name: str) -> Any:
    """Whether the event's stored enrichment puts it in `traffic`, as a boolean (for JSON)."""
    assert traffic.marker is not None
    key, value = traffic.marker
    return func.coalesce(Event.extra_params[ENRICH_KEY][key].astext == value, False).label(name)


_FLAGS = ((BOTS, "is_bot"), (UNKNOWN, "visitor_unknown"))


def _event_columns(spreadsheet: bool) -> list[Any]:
    """An event's exported columns: for a CSV opened in a spreadsheet, text cells quoted against formulas and
    every cell text; for JSON, the values as they are (UTC times with a Z, booleans, extra_params an object)."""
    if spreadsheet:
        return [Event.id, Event.created_at, Event.event_type, _text_cell(Event.email, "email"),
                _text_cell(Event.domain, "domain"), _text_cell(Event.ip, "ip"),
                _text_cell(Event.user_agent, "user_agent"), *(_flag_cell(t, name) for t, name in _FLAGS),
                Event.payout, cast(Event.extra_params, Text).label("extra_params")]
    return [Event.id, func.to_char(Event.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"').label("created_at"),
            Event.event_type, Event.email, Event.domain, Event.ip, Event.user_agent,
            *(_flag(t, name) for t, name in _FLAGS), Event.payout, Event.extra_params]


def export_events_query(*, session: Session, campaign_id: int, filters: JourneyFilters,
                        period: Period = ALL_TIME, spreadsheet: bool = True) -> Select[Any]:
    """The campaign's events for the domain, event and email filters (CSV-safe columns unless `spreadsheet` is
    off), in storage order: sorting millions of rows would hold back the first byte of the download until the
    whole sort is done."""
    stmt = select(*_event_columns(spreadsheet)).where(Event.campaign_id == campaign_id)
    if filters.domain:
        stmt = stmt.where(Event.domain == filters.domain)
    if filters.event:
        stmt = stmt.where(Event.event_type == filters.event)
    if filters.search:
        stmt = stmt.where(_contains(session, Event.email, filters.search))
    if filters.report:
        stmt = stmt.where(filters.report.of_events("events"))
    if not period.is_all:
        stmt = stmt.where(_in_period(Event.created_at, period))
    return stmt


def export_journeys_query(*, session: Session, campaign_id: int, filters: JourneyFilters,
                          period: Period = ALL_TIME) -> Select[Any]:
    """The journeys table's rows for the filters, in its order (newest recipient first, off its index)."""
    return (
        select(_text_cell(Journey.email, "email"), _text_cell(Journey.domain, "domain"), Journey.first_seen,
               Journey.last_seen, *(counter(Journey, c) for c in JOURNEY_COUNTERS + JOURNEY_AMOUNTS))
        .where(*_journey_conditions(session, campaign_id, filters, period))
        .order_by(Journey.first_seen.desc(), Journey.email, Journey.domain)
    )


WEBHOOK_LOG_SIZE = 20


def webhook_deliveries(*, session: Session, campaign_id: int,
                       limit: int = WEBHOOK_LOG_SIZE) -> list[WebhookDelivery]:
    """The campaign's latest webhook deliveries, newest first (ix_webhook_deliveries_campaign)."""
    return list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.campaign_id == campaign_id)
                                .order_by(WebhookDelivery.id.desc()).limit(limit)))
