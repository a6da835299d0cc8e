"""`/api/postback`: conversions reported by the offer's server (an affiliate network's "postback URL").

The network calls it server to server with the `click_id` the tracking link put in the offer URL, and the
campaign's secret. The conversion is recorded for the click's recipient (email, domain, and the visitor's IP
and browser, so enrichment describes the visitor rather than the network's server), synchronously (postbacks
are few, and the network wants a definite answer) and exactly once: a row in `postbacks`, unique per
(campaign, txid), or per (campaign, click) without a txid, is written in the same transaction as the event
(common.store.store_events), so concurrent repeats and a crash between the two are both impossible to
double-count. A repeat answers 200 "duplicate" with the first conversion's id, so the network stops retrying.
"""
import asyncio
import time
from typing import Any

import psycopg
from fastapi import APIRouter, Request, Response

from common.db import Conn, Database
from common.event import Event, Visitor
from common.money import AmountError, parse_amount, parse_currency
from common.store import StoreOptions, store_events
from common.validation import EventRejected, validate_event
from common.vocabulary import EVENT_TYPES, GOAL
from web.ingest.api import check_currency, json_response, request_params
from web.ingest.ids import IdsUnavailable
from web.ingest.pipeline import IngestPipeline
from web.security import tokens_match

router = APIRouter(tags=["ingest"])

_OWN = ("cid", "click_id", "secret", "payout", "currency", "txid")
# The conversion's recipient and visitor are the click's; a postback may not say otherwise.
_FROM_CLICK = ("event", "email", "domain", "ip", "ua")
# A conversion is reported for a click: any event type before the goal.
_CLICKS = frozenset(t.name for t in EVENT_TYPES if t != GOAL)
_MAX_CID = 2**31 - 1
_MAX_EVENT_ID = 2**63 - 1
_MAX_TXID = 255

_CAMPAIGN = "SELECT postback_secret, currency FROM campaigns WHERE id = %s"
_CLICK = "SELECT email, domain, ip, user_agent, event_type FROM events WHERE id = %s AND campaign_id = %s"
# No conflict target: either unique index (txid, or click without txid) makes the repeat a no-op. A repeat
# arriving while the first is uncommitted waits for it here, then finds its row.
_CLAIM = """
INSERT INTO postbacks (event_id, campaign_id, click_id, txid) VALUES (%s, %s, %s, %s)
ON CONFLICT DO NOTHING RETURNING event_id
"""
_FIRST_BY_TXID = "SELECT event_id FROM postbacks WHERE campaign_id = %s AND txid = %s"
_FIRST_BY_CLICK = "SELECT event_id FROM postbacks WHERE campaign_id = %s AND click_id = %s AND txid IS NULL"

_OPENAPI = {
    "parameters": [
        {"name": "cid", "in": "query", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"},
         "description": "Campaign id"},
        {"name": "secret", "in": "query", "required": True, "schema": {"type": "string"},
         "description": "The campaign's postback secret (shown on its page)"},
        {"name": "click_id", "in": "query", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"},
         "description": "The {click_id} the tracking link put in the offer URL"},
        {"name": "payout", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "The conversion's amount: a non-negative decimal with a dot, at most 6 decimals, e.g. 12.50"},
        {"name": "currency", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "ISO 4217 code of the payout; it must be the campaign's (default: the campaign's)"},
        {"name": "txid", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 255},
         "description": "The network's transaction id: one conversion per txid (without it: one per click)"},
    ],
    "responses": {
        "200": {"description": "Stored, or a repeat of a stored conversion", "content": {"application/json": {
            "examples": {"ok": {"value": {"status": "ok", "event_id": 12346}},
                         "duplicate": {"value": {"status": "duplicate", "event_id": 12346}}}}}},
        "403": {"description": "Missing or wrong secret"},
        "404": {"description": "Unknown campaign, or no such click (yet): retry later"},
        "422": {"description": "Invalid or missing parameter"},
        "503": {"description": "Storage unavailable; retry after Retry-After seconds"},
    },
}

_DESCRIPTION = (
    "Record a conversion for a tracking-link click, called by the offer's server. Other parameters go to "
    "`extra_params`. POST accepts the same as a form or JSON body."
)


def _split(pairs: list[tuple[str, Any]]) -> tuple[dict[str, str], list[tuple[str, Any]]]:
    """The postback's own parameters (trimmed strings), and the extras to store with the conversion."""
    own: dict[str, str] = {}
    extras: list[tuple[str, Any]] = []
    for key, value in pairs:
        if key in _FROM_CLICK:
            raise EventRejected(422, f"{key} is taken from the click; do not send it", key)
        if key not in _OWN:
            extras.append((key, value))
            continue
        if key in own:
            raise EventRejected(422, f"parameter {key!r} is repeated", key)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise EventRejected(422, f"{key} must be a string or a number", key)
        text = str(value).strip()
        if "\x00" in text:
            raise EventRejected(422, f"{key} contains a NUL byte", key)
        own[key] = text
    return own, extras


def _positive_int(own: dict[str, str], field: str, largest: int) -> int:
    raw = own.get(field, "")
    if not raw:
        raise EventRejected(422, f"missing required parameter(s): {field}", field)
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) <= largest):
        raise EventRejected(422, f"{field} must be a positive integer", field)
    return int(raw)


def _campaign(conn: Conn, campaign_id: int) -> tuple[str, str] | None:
    """The campaign's postback secret and currency."""
    row = conn.execute(_CAMPAIGN, (campaign_id,)).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def _click(conn: Conn, campaign_id: int, click_id: int) -> tuple[Any, ...] | None:
    return conn.execute(_CLICK, (click_id, campaign_id)).fetchone()


async def _wait_for_click(db: Database, campaign_id: int, click_id: int,
                          wait: float) -> tuple[Any, ...] | None:
    """The click, looked for up to `wait` seconds: its batch may still be on its way to the database."""
    deadline = time.monotonic() + wait
    pause = 0.05
    while True:
        click = await db.run(_click, campaign_id, click_id)
        left = deadline - time.monotonic()
        if click is not None or left <= 0:
            return click
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, 0.5)


def store_once(conn: Conn, event: Event, click_id: int, txid: str | None,
               options: StoreOptions) -> tuple[str, int]:
    """("ok", new id) after storing the conversion, or ("duplicate", the first one's id)."""
    with conn.transaction():  # the key and the event commit together, or neither does
        claimed = conn.execute(_CLAIM, (event.id, event.campaign_id, click_id, txid)).fetchone()
        if claimed is None:
            first = (conn.execute(_FIRST_BY_TXID, (event.campaign_id, txid)) if txid is not None
                     else conn.execute(_FIRST_BY_CLICK, (event.campaign_id, click_id))).fetchone()
            if first is None:  # the first one's campaign was deleted meanwhile
                raise EventRejected(404, f"campaign {event.campaign_id} does not exist", "cid")
            return "duplicate", int(first[0])
        store_events(conn, [event], options)
    return "ok", event.id


async def _postback(request: Request, pipeline: IngestPipeline, wait: float) -> tuple[str, int]:
    own, extras = _split(await request_params(request, pipeline))
    campaign_id = _positive_int(own, "cid", _MAX_CID)
    campaign = await pipeline.db.run(_campaign, campaign_id)
    if campaign is None:
        raise EventRejected(404, f"campaign {campaign_id} does not exist", "cid")
    expected, campaign_currency = campaign
    if not tokens_match(expected, own.get("secret")):
        raise EventRejected(403, "secret is missing or wrong", "secret")

    click_id = _positive_int(own, "click_id", _MAX_EVENT_ID)
    # An empty value is a macro the network had nothing for: the same as not sending it.
    payout, currency, txid = own.get("payout") or None, own.get("currency") or None, own.get("txid") or None
    try:  # at once, not after waiting for the click: the network learns of a bad macro without a retry
        payout = parse_amount(payout, "payout") if payout is not None else None
        currency = parse_currency(currency) if currency is not None else None
    except AmountError as exc:
        raise EventRejected(422, str(exc), str(exc).split()[0]) from None  # names the field first
    if currency is not None:
        check_currency(currency, campaign_id, campaign_currency)
    if txid is not None and len(txid) > _MAX_TXID:
        raise EventRejected(422, f"txid is longer than {_MAX_TXID} characters", "txid")

    click = await _wait_for_click(pipeline.db, campaign_id, click_id, wait)
    if click is None:
        raise EventRejected(404, f"click {click_id} is not stored in campaign {campaign_id} "
                                 "(a click made a moment ago may still be queued: retry later)", "click_id")
    email, domain, ip, user_agent, event_type = click
    if event_type not in _CLICKS:
        raise EventRejected(422, f"event {click_id} is a {event_type}, not a click", "click_id")

    pairs: list[tuple[str, Any]] = [("cid", str(campaign_id)), ("event", GOAL.name), ("email", email),
                                    ("domain", domain), ("click_id", click_id)]
    if ip is not None:
        pairs.append(("ip", ip))
    if payout is not None:
        pairs.append(("payout", payout))
    if currency is not None:
        pairs.append(("currency", currency))
    if txid is not None:
        pairs.append(("txid", txid))
    # The click's visitor: its address goes in as `ip` above, its browser as the request's.
    event = validate_event([*pairs, *extras], limits=pipeline.limits, visitor=Visitor(ip=None, user_agent=user_agent))
    event.id = await pipeline.ids.take()
    return await pipeline.db.run(store_once, event, click_id, txid, pipeline.store_options)


@router.api_route("/api/postback", methods=["GET", "POST"], summary="Record a conversion (postback)",
                  description=_DESCRIPTION, openapi_extra=_OPENAPI, response_class=Response)
async def postback(request: Request) -> Response:
    pipeline: IngestPipeline = request.app.state.pipeline
    try:
        status, event_id = await _postback(request, pipeline, request.app.state.settings.postback_click_wait_seconds)
    except EventRejected as exc:
        return json_response(exc.body(), exc.status)
    except (IdsUnavailable, psycopg.Error, OSError):
        return json_response({"status": "error", "error": "storage unavailable, retry later"}, 503,
                             {"Retry-After": pipeline.retry_after})
    return json_response({"status": status, "event_id": event_id})
