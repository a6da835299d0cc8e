"""The campaign page's webhook panel: the URL, the signing secret (rotatable) and the delivery log with its
Redeliver buttons. Every route needs a signed-in user; every change the session's CSRF token and a role that
may change campaigns (a viewer sees the log, not the secret nor the forms)."""
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from common.models import Campaign
from common.webhooks import WebhookUrlError, redeliver, rotate_secret, set_webhook_url
from web.dashboard import queries
from web.dashboard.auth import EDIT, current_user
from web.dashboard.deps import DbSession
from web.dashboard.pages import CampaignDep
from web.dashboard.render import is_htmx, render, secured
from web.dashboard.timing import TimedRoute

router = APIRouter(dependencies=[Depends(current_user)], include_in_schema=False, route_class=TimedRoute)

_MAX_DELIVERY_ID = 2**63 - 1


def panel_context(campaign: Campaign, *, url: str | None = None, error: str | None = None) -> dict[str, Any]:
    """The panel's form: the saved URL, or what was typed when it was refused."""
    return {"campaign": campaign, "webhook_form_url": campaign.webhook_url or "" if url is None else url,
            "webhook_error": error}


def _panel(request: Request, campaign: Campaign, status_code: int = 200, **form: Any) -> Response:
    """HTMX gets the panel back in place; a plain form goes back to the campaign page (errors come inline only
    with HTMX: a plain form's refused URL is shown as the page's 422)."""
    if is_htmx(request) or status_code != 200:
        template = "partials/webhook.html" if is_htmx(request) else "webhook.html"
        return render(request, template, panel_context(campaign, **form), status_code=status_code)
    return secured(RedirectResponse(f"/campaign/{campaign.id}#webhook", status_code=303))


@router.get("/campaign/{campaign_id:int}/webhook/deliveries")
def delivery_log(request: Request, session: DbSession, campaign: CampaignDep) -> Response:
    """The latest deliveries (the panel polls it)."""
    deliveries = queries.webhook_deliveries(session=session, campaign_id=campaign.id)
    return render(request, "partials/webhook_log.html", {"campaign": campaign, "deliveries": deliveries})


@router.post("/campaign/{campaign_id:int}/webhook", dependencies=EDIT)
def save_url(request: Request, session: DbSession, campaign: CampaignDep,
             url: Annotated[str, Form(max_length=4096)] = "") -> Response:
    """Set the webhook URL (empty: no webhook); a refused URL comes back with the reason and changes nothing."""
    try:
        set_webhook_url(session=session, campaign=campaign, url=url, settings=request.app.state.settings)
    except WebhookUrlError as exc:
        session.rollback()
        return _panel(request, campaign, 422, url=url, error=str(exc))
    session.commit()
    return _panel(request, campaign)


@router.post("/campaign/{campaign_id:int}/webhook/secret", dependencies=EDIT)
def new_secret(request: Request, session: DbSession, campaign: CampaignDep) -> Response:
    """A new signing secret; the old one stops working at once."""
    rotate_secret(session=session, campaign=campaign)
    session.commit()
    return _panel(request, campaign)


@router.post("/campaign/{campaign_id:int}/webhook/deliveries/{delivery_id:int}/redeliver",
             dependencies=EDIT)
def redeliver_one(request: Request, session: DbSession, campaign: CampaignDep, delivery_id: int) -> Response:
    """Send a delivery again now (with a new retry window); a delivery of another campaign is a 404."""
    if delivery_id > _MAX_DELIVERY_ID or not redeliver(session=session, campaign=campaign, delivery_id=delivery_id):
        raise HTTPException(status_code=404, detail="No such delivery")
    session.commit()
    if is_htmx(request):
        return delivery_log(request, session, campaign)
    return secured(RedirectResponse(f"/campaign/{campaign.id}#webhook", status_code=303))
