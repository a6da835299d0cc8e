"""/api/v1/campaigns/{id}/stats: a campaign's figures as its pages show them, overall, per sending domain and
over time (web/dashboard/figures.py), and broken down by a dimension (the Reports tab's web/dashboard/report.py).
"""
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from sqlalchemy import select

from common.models import ReportSlot
from common.report_dimensions import BY_NAME, DIMENSIONS, pair_dimension
from web.api.auth import READ, TokenRoute
from web.api.params import CampaignParam, CountsParam, PeriodParam
from web.api.schemas import (
    ERROR_EXAMPLES,
    NOT_FOUND,
    DomainsOut,
    RangeOut,
    ReportOut,
    StatsOut,
    TimelineOut,
    domain_out,
    point_out,
)
from web.dashboard import queries
from web.dashboard.counts import ZERO
from web.dashboard.deps import DbSession
from web.dashboard.figures import campaign_figures, campaign_timeline
from web.dashboard.pages import utc_now
from web.dashboard.report import DEFAULT_SORT, SORTS, THEN, TOP_ROWS, build_report, sorts

router = APIRouter(prefix="/api/v1/campaigns/{campaign_id}/stats", tags=["stats"], route_class=TokenRoute,
                   dependencies=READ,
                   responses={**ERROR_EXAMPLES, **NOT_FOUND})


@router.get("", response_model=StatsOut, summary="A campaign's totals and money")
def overall(session: DbSession, campaign: CampaignParam, period: PeriodParam, counts: CountsParam = "human") -> StatsOut:
    figures = campaign_figures(session=session, campaign=campaign, period=period, all_counts=counts == "all")
    return StatsOut.of(campaign.id, counts, period, figures.shown, figures.money)


@router.get("/domains", response_model=DomainsOut, summary="A campaign's counts per sending domain")
def per_domain(session: DbSession, campaign: CampaignParam, period: PeriodParam,
               counts: CountsParam = "human") -> DomainsOut:
    rows = queries.domain_rows(session=session, campaign_id=campaign.id, period=period)
    return DomainsOut(campaign_id=campaign.id, counts=counts, range=RangeOut.of(period),
                      domains=[domain_out(row.domain, row.shown(counts == "all")) for row in rows])


@router.get("/timeline", response_model=TimelineOut, summary="A campaign's events per hour, day or week")
def over_time(request: Request, session: DbSession, campaign: CampaignParam, period: PeriodParam,
              counts: CountsParam = "human") -> TimelineOut:
    zone = request.app.state.settings.dashboard_timezone
    timeline = campaign_timeline(session=session, campaign=campaign, period=period, zone=zone, now=utc_now())
    return TimelineOut(campaign_id=campaign.id, counts=counts, range=RangeOut.of(period), bucket=timeline.bucket,
                       zone=zone, points=[point_out(start, timeline.counts.get(start, ZERO).shown(counts == "all"))
                                          for start in timeline.starts])


DIMENSION_PATTERN = "^(" + "|".join(d.name for d in DIMENSIONS) + ")$"
REPORT_SORT_PATTERN = "^(" + "|".join([*SORTS, THEN]) + ")$"


@router.get("/reports/{dimension_name}", response_model=ReportOut,
            summary="A campaign's counts broken down by a dimension: country, device, utm_source, hour…")
def report(request: Request, session: DbSession, campaign: CampaignParam, period: PeriodParam,
           dimension_name: Annotated[str, Path(pattern=DIMENSION_PATTERN,
                                               description=", ".join(d.name for d in DIMENSIONS))],
           then: Annotated[str | None, Query(pattern=DIMENSION_PATTERN, description=(
               "A second dimension: the pair's report (both values per row), if the campaign reports on that pair "
               "(chosen on its Reports tab); else 404"))] = None,
           counts: CountsParam = "human",
           sort: Annotated[str, Query(pattern=REPORT_SORT_PATTERN, description="`then`: a pair's second value")
                           ] = DEFAULT_SORT,
           direction: Annotated[Literal["asc", "desc"] | None, Query(
               alias="dir", description="Default: descending, but ascending for value")] = None,
           top: Annotated[int, Query(ge=1, le=1000, description="Rows before (other)")] = TOP_ROWS) -> ReportOut:
    dim, filled = BY_NAME[dimension_name], False
    if then is not None and then != dimension_name:
        dim = pair_dimension(dim, BY_NAME[then])
        slot_filled = session.scalar(select(ReportSlot.filled).where(ReportSlot.campaign_id == campaign.id,
                                                                     ReportSlot.dimension == dim.name))
        if slot_filled is None:
            raise HTTPException(status_code=404, detail=f"Campaign {campaign.id} does not report on {dim.label}: "
                                                        "choose the pair on its Reports tab")
        filled = slot_filled
    if sort not in sorts(dim):
        sort = "value"  # `then` of a single dimension: its value
    descending = sort not in ("value", THEN) if direction is None else direction == "desc"
    built = build_report(session=session, campaign_id=campaign.id, dim=dim, period=period,
                         tz=request.app.state.settings.timezone, all_counts=counts == "all", sort=sort,
                         descending=descending, top=top, filled=filled)
    return ReportOut.of(campaign.id, counts, period, built)
