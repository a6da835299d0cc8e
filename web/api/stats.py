"""/api/v1/campaigns/{id}/stats: a campaign's figures as its page shows them (web/dashboard/figures.py),
overall, per sending domain and over time.

Reports by dimension go here too once common/reports.py lands: a `/stats/reports/{dimension}` route on this
router, reading the report and returning it with the same range and counts parameters.
"""
from fastapi import APIRouter, Request

from web.api.auth import READ, TokenRoute
from web.api.params import CampaignParam, CountsParam, PeriodParam
from web.api.schemas import (
    ERROR_EXAMPLES,
    NOT_FOUND,
    DomainsOut,
    RangeOut,
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
