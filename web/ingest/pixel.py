"""`/api/event.gif`: the event API as an image, for pages that cannot run a script (`<img src=...>`).

Same parameters, validation and `record()` as GET `/api/event`. The answer is always the same 1x1 transparent
GIF, so that no page shows a broken image; a refusal keeps its status (4xx/503, which browsers ignore for an
image) and says why in `X-Tracker-Error`.
"""
import base64

from fastapi import APIRouter, Request, Response

from common.validation import EventRejected, parse_query
from web.ingest.api import CORS_HEADERS, record, refused, tracker_error
from web.ingest.pipeline import IngestPipeline
from web.ingest.visitor import visitor_of

router = APIRouter(tags=["ingest"])

# GIF89a, 1x1, one colour, marked transparent by its graphic control extension: 42 bytes.
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

# A cached pixel is an event not recorded.
_HEADERS = {**CORS_HEADERS, "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0",
            "Pragma": "no-cache", "Expires": "0"}


@router.get("/api/event.gif", summary="Record an event, answer a 1x1 GIF", response_class=Response,
            description="The same parameters as `GET /api/event`. Always answers a transparent 1x1 GIF; a "
                        "refused event keeps its 4xx/503 status and names the problem in `X-Tracker-Error`.",
            responses={200: {"content": {"image/gif": {}}, "description": "Accepted"}})
async def pixel(request: Request) -> Response:
    pipeline: IngestPipeline = request.app.state.pipeline
    headers: dict[str, str]
    try:
        pairs = parse_query(request.scope["query_string"], pipeline.limits)
    except EventRejected as exc:
        status, body, headers = refused(exc).status, exc.body(), {}
    else:
        status, body, headers = await record(pipeline, pairs, visitor_of(request.scope, direct=True))
    if status != 200:
        headers = {**headers, **tracker_error(body["error"])}
    return Response(GIF, status_code=status, media_type="image/gif", headers={**_HEADERS, **headers})
