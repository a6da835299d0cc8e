"""`/api/event`: what landing scripts call. Validation is hand-rolled for speed; errors are JSON 4xx."""
from typing import Any

import orjson
import psycopg
from fastapi import APIRouter, Request, Response

from common import metrics
from common.campaigns import campaign_currency
from common.event import Visitor
from common.validation import EventRejected, parse_query, validate_event
from common.vocabulary import EVENT_TYPE_NAMES
from web.ingest.ids import IdsUnavailable
from web.ingest.pipeline import IngestPipeline
from web.ingest.publisher import Overloaded, Unavailable
from web.ingest.visitor import visitor_of

router = APIRouter(tags=["ingest"])

CORS_HEADERS = {"Access-Control-Allow-Origin": "*"}


def json_response(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers={**CORS_HEADERS, **(headers or {})})


def tracker_error(message: str) -> dict[str, str]:
    """`X-Tracker-Error`, for answers whose body cannot say what went wrong (a redirect, a GIF).
    Printable ASCII only: messages may quote a caller's parameter names."""
    return {"X-Tracker-Error": "".join(c if " " <= c <= "~" else "?" for c in message)[:200]}


def _param(name: str, description: str, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": {"type": "string", **schema}}


_OPENAPI = {
    "parameters": [
        _param("cid", "Campaign id", True, pattern="^[0-9]+$"),
        _param("event", "Event type", True, enum=list(EVENT_TYPE_NAMES)),
        _param("email", "Recipient's email address", True, maxLength=255),
        _param("domain", "Sending domain the email came from", True, maxLength=255),
        _param("ip", "Visitor's IP, when a server-side script calls on the visitor's behalf"),
        _param("ua", "Visitor's User-Agent, when a server-side script calls on the visitor's behalf"),
        _param("payout", "A conversion's amount: a non-negative decimal with a dot, at most 6 decimals, e.g. 12.50"),
        _param("currency", "ISO 4217 code of the payout; it must be the campaign's (default: the campaign's)"),
    ],
    "responses": {
        "200": {"description": "Accepted", "content": {"application/json": {"example":
                {"status": "ok", "event_id": 12345}}}},
        "404": {"description": "Unknown campaign"},
        "413": {"description": "Request too large"},
        "422": {"description": "Invalid or missing parameter"},
        "503": {"description": "Overloaded or storage unavailable; retry after Retry-After seconds"},
    },
}

_DESCRIPTION = (
    "Record one event. Required: `cid`, `event`, `email`, `domain`; every other parameter is stored in "
    "`extra_params`. POST accepts the same as a query string, a form body or a JSON object."
)


async def request_params(request: Request, pipeline: IngestPipeline) -> list[tuple[str, Any]]:
    """The query string's parameters, and a POST's form or JSON body's after them."""
    limits = pipeline.limits
    pairs: list[tuple[str, Any]] = parse_query(request.scope["query_string"], limits)
    if request.method != "POST":
        return pairs
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limits.max_query_bytes:
            raise EventRejected(413, f"body is larger than {limits.max_query_bytes} bytes")
    if not body:
        return pairs
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise EventRejected(422, "body is not valid JSON") from None
        if not isinstance(data, dict):
            raise EventRejected(422, "JSON body must be an object of parameters")
        return pairs + list(data.items())
    if ctype in ("application/x-www-form-urlencoded", "text/plain", ""):
        return pairs + parse_query(body, limits)
    raise EventRejected(415, "body must be application/json or application/x-www-form-urlencoded")


def check_currency(currency: str, campaign_id: int, expected: str | None) -> None:
    """A payout is in its campaign's one currency: another is refused, naming both."""
    if expected is not None and currency != expected:
        raise EventRejected(422, f"currency {currency} is not the currency of campaign {campaign_id}, {expected}",
                            "currency")


# A refusal's reason, for tracker_events_refused_total (common/metrics.py), by its status; 503s are counted
# where they are answered.
_REASONS = {404: "unknown_campaign", 413: "too_large", 415: "unsupported_media_type"}


def refused(exc: EventRejected) -> EventRejected:
    """Counts the refusal (not the fast path: a valid event never comes here)."""
    metrics.refused(_REASONS.get(exc.status, "invalid"))
    return exc


async def record(pipeline: IngestPipeline, pairs: list[tuple[str, Any]],
                 visitor: Visitor) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Validate and accept one event: (status, JSON body, extra headers). Shared by every ingest route."""
    try:
        event = validate_event(pairs, limits=pipeline.limits, visitor=visitor)
        if not await pipeline.campaigns.exists(event.campaign_id):
            raise EventRejected(404, f"campaign {event.campaign_id} does not exist", "cid")
        if event.currency is not None:  # rare (a conversion that names its currency): asked afresh, not cached
            check_currency(event.currency, event.campaign_id, await pipeline.db.run(campaign_currency,
                                                                                    event.campaign_id))
        event_id = await pipeline.accept(event)
    except EventRejected as exc:
        return refused(exc).status, exc.body(), {}
    except (Overloaded, Unavailable, IdsUnavailable, psycopg.Error, OSError) as exc:
        overloaded = isinstance(exc, Overloaded)
        metrics.refused("overloaded" if overloaded else "unavailable")
        reason = "overloaded" if overloaded else "storage unavailable"
        return 503, {"status": "error", "error": f"{reason}, retry later"}, {"Retry-After": pipeline.retry_after}
    return 200, {"status": "ok", "event_id": event_id}, {}


@router.api_route("/api/event", methods=["GET", "POST"], summary="Record an event", description=_DESCRIPTION,
                  openapi_extra=_OPENAPI, response_class=Response)
async def record_event(request: Request) -> Response:
    pipeline: IngestPipeline = request.app.state.pipeline
    try:
        pairs = await request_params(request, pipeline)
    except EventRejected as exc:
        return json_response(exc.body(), refused(exc).status)
    status, body, headers = await record(pipeline, pairs, visitor_of(request.scope, direct=False))
    return json_response(body, status, headers)


@router.options("/api/event", include_in_schema=False)
async def event_preflight() -> Response:
    return Response(status_code=204, headers={
        **CORS_HEADERS, "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "86400",
    })
