"""/api/v1/campaigns/{id}/journeys: the recipients, newest first, with the journeys table's filters, a page at
a time after a keyset cursor (web/dashboard/queries.py's listing: no page reads the rows before it)."""
from typing import Annotated

from fastapi import APIRouter, Query

from web.api.auth import READ, TokenRoute
from web.api.params import CampaignParam, FiltersParam, PeriodParam, invalid
from web.api.schemas import ERROR_EXAMPLES, NOT_FOUND, JourneyOut, JourneyPage
from web.dashboard import queries
from web.dashboard.deps import DbSession
from web.dashboard.queries import JourneyCursor

router = APIRouter(prefix="/api/v1", tags=["journeys"], route_class=TokenRoute, dependencies=READ,
                   responses={**ERROR_EXAMPLES, **NOT_FOUND})

MAX_LIMIT = 1000


@router.get("/campaigns/{campaign_id}/journeys", response_model=JourneyPage,
            summary="A campaign's recipients and their events, newest first, paged")
def journeys(session: DbSession, campaign: CampaignParam, period: PeriodParam, filters: FiltersParam,
             cursor: Annotated[str | None, Query(max_length=2000, description="next_cursor of the page before")] = None,
             limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100) -> JourneyPage:
    after = JourneyCursor.decode(cursor)
    if cursor and after is None:
        raise invalid("query", "cursor", "Not a cursor this API gave out")
    rows, more = queries.list_journeys(session=session, campaign_id=campaign.id, filters=filters, limit=limit,
                                       after=after, period=period)
    return JourneyPage(
        journeys=[JourneyOut(email=r.email, domain=r.domain, first_seen=r.first_seen, counts=r.counts) for r in rows],
        next_cursor=JourneyCursor.after(rows[-1]).encode() if more else None)
