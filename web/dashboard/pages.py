"""Dashboard pages and the HTMX fragments they include. Every route here needs a signed-in user."""
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from common.campaigns import CampaignError, create_campaign, get_campaign
from common.models import Campaign
from web import queries
from web.auth import current_user, require_csrf
from web.dashboard.deps import DbSession
from web.dashboard.render import is_htmx, render, secured
from web.queries import JourneyCursor, JourneyFilters

MAX_CAMPAIGN_ID = 2**31 - 1

router = APIRouter(dependencies=[Depends(current_user)], include_in_schema=False)

EVENT_CHOICES = (
    ("email_click", "Email click"),
    ("landing_click", "Landing click"),
    ("conversion", "Conversion"),
)

# Filter parameters as the journeys filter form sends them; `offset` only on "Load more".
Domain = Annotated[str | None, Query(max_length=255)]
EventType = Annotated[str | None, Query(max_length=50)]
Search = Annotated[str | None, Query(alias="q", max_length=1000)]


class CampaignNotFound(Exception):
    """An unknown campaign id in a dashboard URL; rendered as the 404 page."""


def _campaign_or_404(session: DbSession, campaign_id: int) -> Campaign:
    # Ids are Postgres integers: a longer number in the URL is simply not a campaign (not a database error).
    if campaign_id > MAX_CAMPAIGN_ID:
        raise CampaignNotFound()
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    if campaign is None:
        raise CampaignNotFound()
    return campaign


CampaignDep = Annotated[Campaign, Depends(_campaign_or_404)]


@router.get("/")
def home(request: Request, session: DbSession) -> Response:
    return render(request, "home.html", {"campaigns": queries.list_campaigns(session=session)})


@router.get("/campaigns")
def campaigns_table(request: Request, session: DbSession) -> Response:
    """The home page's table, polled by the page."""
    campaigns = queries.list_campaigns(session=session)
    return render(request, "partials/campaigns_table.html", {"campaigns": campaigns})


@router.get("/create")
def create_page(request: Request) -> Response:
    return render(request, "create.html", {"form": {}, "errors": {}})


@router.post("/campaigns", dependencies=[Depends(require_csrf)])
def create(request: Request, session: DbSession, name: Annotated[str, Form()] = "",
           offer_url: Annotated[str, Form()] = "") -> Response:
    """Create a campaign; HTMX gets the form back with inline errors, or is sent on to the new campaign."""
    try:
        campaign = create_campaign(session=session, name=name, offer_url=offer_url)
    except CampaignError as exc:
        context = {"form": {"name": name, "offer_url": offer_url}, "errors": exc.errors}
        template = "partials/campaign_form.html" if is_htmx(request) else "create.html"
        return render(request, template, context, status_code=422)
    session.commit()
    url = f"/campaign/{campaign.id}"
    if is_htmx(request):
        # HX-Location: HTMX fetches the new page and swaps it in, pushing its URL: no full page load.
        return secured(Response(headers={"HX-Location": json.dumps({"path": url, "target": "body"})}))
    return secured(RedirectResponse(url, status_code=303))


def _journeys_context(session: DbSession, campaign: Campaign, filters: JourneyFilters, page_size: int,
                      offset: int = 0, after: str | None = None) -> dict[str, Any]:
    """The journeys table's rows and footer. `offset` counts the rows already shown; `after` is where they
    ended (without it, e.g. in a hand-made URL, the listing skips `offset` rows instead)."""
    rows, has_more = queries.list_journeys(session=session, campaign_id=campaign.id, filters=filters,
                                           limit=page_size, offset=offset, after=JourneyCursor.decode(after))
    shown = offset + len(rows)
    next_url = None
    if has_more:
        cursor = JourneyCursor.after(rows[-1]).encode()
        next_url = f"/campaign/{campaign.id}/users?" + urlencode(
            {"offset": shown, **filters.params(), "after": cursor})
    if not has_more and offset == 0 and filters.search:
        total = queries.Total(len(rows))  # everything that matches is on the page: nothing left to count
    else:
        total = queries.count_journeys(session=session, campaign_id=campaign.id, filters=filters)
    return {
        "campaign": campaign,
        "filters": filters,
        "rows": rows,
        "shown": shown,
        "total": total,
        "next_url": next_url,
    }


@router.get("/campaign/{campaign_id:int}")
def campaign_page(request: Request, session: DbSession, campaign: CampaignDep, domain: Domain = None,
                  event: EventType = None, search: Search = None) -> Response:
    """The campaign page; the filter parameters let the journeys filter work without JavaScript too."""
    filters = JourneyFilters.parse(domain=domain, event=event, search=search)
    page_size = request.app.state.settings.journeys_page_size
    return render(request, "campaign.html", {
        **_journeys_context(session, campaign, filters, page_size),
        "totals": queries.campaign_totals(session=session, campaign_id=campaign.id),
        "domains": queries.domain_rows(session=session, campaign_id=campaign.id),
        "domain_choices": queries.campaign_domains(session=session, campaign_id=campaign.id),
        "event_choices": EVENT_CHOICES,
    })


@router.get("/campaign/{campaign_id:int}/stats")
def overall_stats(request: Request, session: DbSession, campaign: CampaignDep) -> Response:
    totals = queries.campaign_totals(session=session, campaign_id=campaign.id)
    return render(request, "partials/overall_stats.html", {"campaign": campaign, "totals": totals})


@router.get("/campaign/{campaign_id:int}/domains")
def domain_stats(request: Request, session: DbSession, campaign: CampaignDep) -> Response:
    domains = queries.domain_rows(session=session, campaign_id=campaign.id)
    return render(request, "partials/domain_stats.html", {"campaign": campaign, "domains": domains})


@router.get("/campaign/{campaign_id:int}/users")
def journeys(request: Request, session: DbSession, campaign: CampaignDep, domain: Domain = None,
             event: EventType = None, search: Search = None,
             offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
             after: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    """The journeys table for the filters; with an offset ("Load more"), just the next rows and the footer."""
    filters = JourneyFilters.parse(domain=domain, event=event, search=search)
    page_size = request.app.state.settings.journeys_page_size
    context = _journeys_context(session, campaign, filters, page_size, offset=offset, after=after)
    if offset:
        return render(request, "partials/journey_rows_more.html", context)
    # The address bar follows the filters, so a reload or a shared link shows the same table.
    page_url = f"/campaign/{campaign.id}" + (f"?{urlencode(filters.params())}" if filters.params() else "")
    return render(request, "partials/journeys.html", context, headers={"HX-Push-Url": page_url})
