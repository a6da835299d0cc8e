"""The dashboard's read queries. Counts come from the rollups (domain_stats, journeys), never from `events`.

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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from common.models import EVENT_TYPES, Campaign, DomainStats, Journey

# Past this many matches a search shows "1,000+": counting further would cost more than the page itself.
SEARCH_COUNT_CAP = 1_000
MAX_SEARCH_LENGTH = 255

_JOURNEY_EVENT_COLUMNS: dict[str, InstrumentedAttribute[int]] = {
    "email_click": Journey.email_clicks,
    "landing_click": Journey.landing_clicks,
    "conversion": Journey.conversions,
}
# The rollup's count of unique recipients who have each event: what "Showing 50 of N" needs for that filter.
_EVENT_USER_COLUMNS: dict[str, InstrumentedAttribute[int]] = {
    "email_click": DomainStats.email_click_users,
    "landing_click": DomainStats.landing_click_users,
    "conversion": DomainStats.conversion_users,
}


@dataclass(frozen=True)
class Counts:
    email_clicks: int
    landing_clicks: int
    conversions: int
    bot_email_clicks: int = 0

    @property
    def conversion_rate(self) -> float | None:
        """Conversions per email click, in percent; None when there were no email clicks."""
        return 100.0 * self.conversions / self.email_clicks if self.email_clicks else None


@dataclass(frozen=True)
class DomainRow(Counts):
    domain: str = ""


@dataclass(frozen=True)
class CampaignRow:
    id: int
    name: str
    created_at: datetime
    email_clicks: int
    conversions: int


@dataclass(frozen=True)
class JourneyRow:
    email: str
    domain: str
    email_clicks: int
    landing_clicks: int
    conversions: int
    first_seen: datetime


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

    @classmethod
    def parse(cls, *, domain: str | None = None, event: str | None = None,
              search: str | None = None) -> "JourneyFilters":
        """Filters from query parameters; unknown events and blank values mean "all"."""
        domain = (domain or "").strip() or None
        term = (search or "").strip().lower()[:MAX_SEARCH_LENGTH] or None
        return cls(domain=domain, event=event if event in EVENT_TYPES else None, search=term)

    def params(self) -> dict[str, str]:
        """As query parameters (the names the filter form uses)."""
        found = {"domain": self.domain, "event": self.event, "q": self.search}
        return {k: v for k, v in found.items() if v}


@dataclass(frozen=True)
class Total:
    value: int
    capped: bool = False  # True: there are more than `value`


def list_campaigns(*, session: Session) -> list[CampaignRow]:
    """Every campaign, newest first, with its email clicks and conversions."""
    totals = (
        select(DomainStats.campaign_id,
               func.sum(DomainStats.email_clicks).label("email_clicks"),
               func.sum(DomainStats.conversions).label("conversions"))
        .group_by(DomainStats.campaign_id)
        .subquery()
    )
    stmt = (
        select(Campaign.id, Campaign.name, Campaign.created_at,
               func.coalesce(totals.c.email_clicks, 0), func.coalesce(totals.c.conversions, 0))
        .outerjoin(totals, totals.c.campaign_id == Campaign.id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    )
    return [CampaignRow(*row) for row in session.execute(stmt)]


def campaign_totals(*, session: Session, campaign_id: int) -> Counts:
    stmt = select(
        *(func.coalesce(func.sum(column), 0) for column in (
            DomainStats.email_clicks, DomainStats.landing_clicks, DomainStats.conversions,
            DomainStats.bot_email_clicks,
        ))
    ).where(DomainStats.campaign_id == campaign_id)
    return Counts(*(int(v) for v in session.execute(stmt).one()))


def domain_rows(*, session: Session, campaign_id: int) -> list[DomainRow]:
    """Per sending domain, most email clicks first."""
    stmt = (
        select(DomainStats.email_clicks, DomainStats.landing_clicks, DomainStats.conversions,
               DomainStats.bot_email_clicks, DomainStats.domain)
        .where(DomainStats.campaign_id == campaign_id)
        .order_by(DomainStats.email_clicks.desc(), DomainStats.domain)
    )
    return [DomainRow(*row) for row in session.execute(stmt)]


def campaign_domains(*, session: Session, campaign_id: int) -> list[str]:
    """The campaign's sending domains, alphabetically (the domain filter's choices)."""
    stmt = select(DomainStats.domain).where(DomainStats.campaign_id == campaign_id)
    return list(session.scalars(stmt.order_by(DomainStats.domain)))


def _like_pattern(term: str) -> str:
    # Backslash is Postgres's default LIKE escape; no ESCAPE clause keeps the trigram index usable.
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _journey_conditions(campaign_id: int, filters: JourneyFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Journey.campaign_id == campaign_id]
    if filters.domain:
        conditions.append(Journey.domain == filters.domain)
    if filters.event:
        conditions.append(_JOURNEY_EVENT_COLUMNS[filters.event] > 0)
    if filters.search:
        # Emails are stored lower-cased and the term is lower-cased: LIKE is a case-insensitive match here.
        conditions.append(Journey.email.like(_like_pattern(filters.search)))
    return conditions


def _after(cursor: JourneyCursor) -> ColumnElement[bool]:
    # Rows after the cursor in (first_seen DESC, email, domain) order. The plain `first_seen <=` bound is
    # what lets the index scan start at the cursor; the rest only sorts out rows seen at the same instant.
    return and_(
        Journey.first_seen <= cursor.first_seen,
        or_(Journey.first_seen < cursor.first_seen,
            tuple_(Journey.email, Journey.domain) > tuple_(literal(cursor.email), literal(cursor.domain))),
    )


def list_journeys(*, session: Session, campaign_id: int, filters: JourneyFilters, limit: int,
                  after: JourneyCursor | None = None, offset: int = 0) -> tuple[list[JourneyRow], bool]:
    """One page of recipients, newest first, after `after` (else from `offset`); and whether more follow."""
    conditions = _journey_conditions(campaign_id, filters)
    if after is not None:
        conditions.append(_after(after))
    stmt = (
        select(Journey.email, Journey.domain, Journey.email_clicks, Journey.landing_clicks,
               Journey.conversions, Journey.first_seen)
        .where(*conditions)
        .order_by(Journey.first_seen.desc(), Journey.email, Journey.domain)
        .offset(None if after is not None else offset)
        .limit(limit + 1)  # one extra row tells whether "Load more" has anything left to load
    )
    rows = [JourneyRow(*row) for row in session.execute(stmt)]
    return rows[:limit], len(rows) > limit


def count_journeys(*, session: Session, campaign_id: int, filters: JourneyFilters) -> Total:
    """How many recipients match: from domain_stats, or (for an email search only) counted up to a cap."""
    if filters.search:
        matching = (select(literal(1)).where(*_journey_conditions(campaign_id, filters))
                    .limit(SEARCH_COUNT_CAP + 1).subquery())
        found = int(session.scalar(select(func.count()).select_from(matching)) or 0)
        return Total(min(found, SEARCH_COUNT_CAP), capped=found > SEARCH_COUNT_CAP)
    column: Any = _EVENT_USER_COLUMNS[filters.event] if filters.event else DomainStats.users
    stmt = select(func.coalesce(func.sum(column), 0)).where(DomainStats.campaign_id == campaign_id)
    if filters.domain:
        stmt = stmt.where(DomainStats.domain == filters.domain)
    return Total(int(session.scalar(stmt) or 0))
