"""Query parameters the API's routes share, with the dashboard's meanings: the date range, the counts
switch, the journeys' filters; and the campaign in the path (404 when unknown)."""
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError

from common.campaigns import get_campaign
from common.models import Campaign
from common.vocabulary import EVENT_TYPES
from web.dashboard.deps import DbSession
from web.dashboard.pages import MAX_CAMPAIGN_ID, utc_now
from web.dashboard.period import Period
from web.dashboard.queries import MAX_SEARCH_LENGTH, JourneyFilters


def invalid(where: str, name: str, message: str) -> RequestValidationError:
    """A 422 shaped like FastAPI's own, for a check that needs more than the parameter's type."""
    return RequestValidationError([{"type": "value_error", "loc": (where, name), "msg": message}])


def _period(request: Request,
            range_: Annotated[Literal["all", "today", "7d", "30d", "custom"], Query(
                alias="range", description="Days of DASHBOARD_TIMEZONE; custom needs from and to")] = "all",
            first: Annotated[date | None, Query(alias="from", description="custom: first day, YYYY-MM-DD")] = None,
            last: Annotated[date | None, Query(alias="to", description="custom: last day, included")] = None,
            ) -> Period:
    period = Period.parse(range_, first.isoformat() if first else None, last.isoformat() if last else None,
                          now=utc_now(), tz=request.app.state.settings.timezone)
    if period.error:
        raise invalid("query", "range", period.error)
    return period


PeriodParam = Annotated[Period, Depends(_period)]
CountsParam = Annotated[Literal["human", "all"], Query(
    description="human: people only (events flagged as bots subtracted); all: every event")]

EVENT_PATTERN = "^(" + "|".join(t.name for t in EVENT_TYPES) + ")$"


def _filters(domain: Annotated[str | None, Query(max_length=255, description="One sending domain")] = None,
             event: Annotated[str | None, Query(pattern=EVENT_PATTERN,
                                                description="Recipients with this event type")] = None,
             search: Annotated[str | None, Query(alias="q", max_length=MAX_SEARCH_LENGTH,
                                                 description="Part of the recipient's email")] = None,
             ) -> JourneyFilters:
    return JourneyFilters.parse(domain=domain, event=event, search=search)


FiltersParam = Annotated[JourneyFilters, Depends(_filters)]


def _campaign(session: DbSession, campaign_id: int) -> Campaign:
    # Ids are Postgres integers: a longer number is simply not a campaign (not a database error).
    campaign = get_campaign(session=session, campaign_id=campaign_id) if 0 < campaign_id <= MAX_CAMPAIGN_ID else None
    if campaign is None or campaign.deleted_at is not None:
        raise HTTPException(status_code=404, detail=f"No campaign {campaign_id}")
    return campaign


CampaignParam = Annotated[Campaign, Depends(_campaign)]
