"""/api/v1/campaigns/{id}/events: every event of a campaign, streamed as NDJSON or CSV straight from
PostgreSQL's COPY (web/dashboard/export.py), with the journeys' filters and a date range."""
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from web.api.auth import READ, TokenRoute
from web.api.params import CampaignParam, FiltersParam, PeriodParam
from web.api.schemas import ERROR_EXAMPLES, NOT_FOUND
from web.dashboard import queries
from web.dashboard.deps import Db, DbSession
from web.dashboard.export import csv_download, ndjson_download

router = APIRouter(prefix="/api/v1", tags=["events"], route_class=TokenRoute, dependencies=READ,
                   responses={**ERROR_EXAMPLES, **NOT_FOUND})

_NDJSON_EXAMPLE = ('{"id":90211,"created_at":"2026-12-06T09:12:44.120000Z","event_type":"email_click",'
                   '"email":"ann@example.org","domain":"news.example.com","ip":"203.0.113.9",'
                   '"user_agent":"Mozilla/5.0 …","is_bot":false,"visitor_unknown":false,"payout":null,'
                   '"extra_params":{"utm_source":"newsletter"}}\n')


@router.get("/campaigns/{campaign_id}/events", response_class=StreamingResponse,
            summary="A campaign's events, streamed as NDJSON or CSV, in storage order",
            responses={200: {"description": "One event a line (NDJSON), or CSV with a header line",
                             "content": {"application/x-ndjson": {"example": _NDJSON_EXAMPLE},
                                         "text/csv": {"example": "id,created_at,event_type,email,...\n"}}}})
def events(db: Db, session: DbSession, campaign: CampaignParam, period: PeriodParam, filters: FiltersParam,
           format_: Annotated[Literal["ndjson", "csv"], Query(alias="format")] = "ndjson") -> StreamingResponse:
    csv = format_ == "csv"
    stmt = queries.export_events_query(session=session, campaign_id=campaign.id, filters=filters, period=period,
                                       spreadsheet=csv)
    filename = f"campaign-{campaign.id}-events.{format_}"
    return csv_download(db, filename, stmt) if csv else ndjson_download(db, filename, stmt)
