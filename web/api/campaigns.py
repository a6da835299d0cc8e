"""/api/v1/campaigns: the home page's table (web/dashboard/campaign_table.py), one campaign, and create,
update, archive (common/campaigns.py, as the dashboard's forms)."""
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy.orm import Session

from common.campaigns import CampaignError, Money, create_campaign, set_archived, update_campaign
from common.models import Campaign
from web.api.auth import READ, WRITE, TokenRoute
from web.api.params import CampaignParam, CountsParam, PeriodParam
from web.api.schemas import (
    ERROR_EXAMPLES,
    NOT_FOUND,
    CampaignIn,
    CampaignList,
    CampaignOut,
    CampaignPatch,
    CampaignSummary,
    CurrencyTotalOut,
)
from web.dashboard.campaign_table import DEFAULT_SORT, DESCENDING_FIRST, SORTS, TableQuery, campaign_table
from web.dashboard.deps import DbSession

# One router per route class: reading, and changing campaigns (a write token of an editor or an admin).
reader = APIRouter(prefix="/api/v1", tags=["campaigns"], route_class=TokenRoute, dependencies=READ,
                   responses=ERROR_EXAMPLES)
writer = APIRouter(prefix="/api/v1", tags=["campaigns"], route_class=TokenRoute, dependencies=WRITE,
                   responses=ERROR_EXAMPLES)

SORT_PATTERN = "^(" + "|".join(sorted(SORTS)) + ")$"  # the home table's columns


@reader.get("/campaigns", response_model=CampaignList, summary="List campaigns, as the home page compares them")
def list_campaigns(request: Request, session: DbSession, period: PeriodParam, counts: CountsParam = "human",
                   archived: Annotated[bool, Query(description="The archived campaigns instead")] = False,
                   search: Annotated[str | None, Query(alias="q", max_length=255,
                                                       description="Part of the name")] = None,
                   sort: Annotated[str, Query(pattern=SORT_PATTERN)] = DEFAULT_SORT,
                   direction: Annotated[Literal["asc", "desc"] | None, Query(
                       alias="dir", description="Default: the column's own (numbers and dates descending)")] = None,
                   page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                   page_size: Annotated[int | None, Query(ge=1, le=1000,
                                                          description="Default: CAMPAIGNS_PAGE_SIZE")] = None,
                   ) -> CampaignList:
    settings = request.app.state.settings
    query = TableQuery(archived=archived, all_counts=counts == "all", period=period,
                       search=(search or "").strip() or None, sort=sort,
                       descending=DESCENDING_FIRST[sort] if direction is None else direction == "desc",
                       page=page, page_size=page_size or settings.campaigns_page_size, timezone=settings.timezone)
    table = campaign_table(session=session, query=query)
    return CampaignList(campaigns=[CampaignSummary.of(r) for r in table.rows], matches=table.matches, page=page,
                        pages=table.pages, page_size=query.page_size,
                        totals=[CurrencyTotalOut.of(t) for t in table.totals])


@reader.get("/campaigns/{campaign_id}", response_model=CampaignOut, responses=NOT_FOUND, summary="One campaign")
def get_one(campaign: CampaignParam) -> CampaignOut:
    return CampaignOut.of(campaign)


def _amount(value: object) -> str:
    return "" if value is None else f"{value:f}"


def _unprocessable(exc: CampaignError) -> HTTPException:
    return HTTPException(status_code=422, detail=[{"type": "value_error", "loc": ["body", field], "msg": message}
                                                  for field, message in exc.errors.items()])


def _saved(session: Session, campaign: Campaign) -> CampaignOut:
    session.commit()
    session.refresh(campaign)
    return CampaignOut.of(campaign)


@writer.post("/campaigns", status_code=201, response_model=CampaignOut, summary="Create a campaign")
def create(request: Request, session: DbSession, body: CampaignIn) -> CampaignOut:
    money = Money(currency=body.currency or request.app.state.settings.default_currency,
                  cost_total=_amount(body.cost_total), cost_per_click=_amount(body.cost_per_click))
    try:
        campaign = create_campaign(session=session, name=body.name, offer_url=body.offer_url, money=money)
    except CampaignError as exc:
        raise _unprocessable(exc) from None
    return _saved(session, campaign)


@writer.patch("/campaigns/{campaign_id}", response_model=CampaignOut, responses=NOT_FOUND,
              summary="Change a campaign's name, offer URL, currency or costs")
def update(session: DbSession, campaign: CampaignParam, body: CampaignPatch) -> CampaignOut:
    given = body.model_fields_set
    money = Money(currency=body.currency if "currency" in given else None,
                  cost_total=_amount(body.cost_total if "cost_total" in given else campaign.cost_total),
                  cost_per_click=_amount(body.cost_per_click if "cost_per_click" in given else campaign.cost_per_click))
    try:
        update_campaign(session=session, campaign=campaign,
                        name=body.name if body.name is not None else campaign.name,
                        offer_url=body.offer_url if body.offer_url is not None else campaign.offer_url, money=money)
    except CampaignError as exc:
        session.rollback()
        raise _unprocessable(exc) from None
    return _saved(session, campaign)


@writer.post("/campaigns/{campaign_id}/archive", response_model=CampaignOut, responses=NOT_FOUND,
             summary="Archive a campaign: off the list, still tracking")
def archive(session: DbSession, campaign: CampaignParam) -> CampaignOut:
    set_archived(session=session, campaign=campaign, archived=True)
    return _saved(session, campaign)


@writer.post("/campaigns/{campaign_id}/unarchive", response_model=CampaignOut, responses=NOT_FOUND,
             summary="Bring an archived campaign back to the list")
def unarchive(session: DbSession, campaign: CampaignParam) -> CampaignOut:
    set_archived(session=session, campaign=campaign, archived=False)
    return _saved(session, campaign)
