"""`/r/{key}`: the tracking link. Records the recipient's email click and sends them on to the offer.

The key is the campaign's unguessable link token (what the campaign page shows), or, in links sent before
tokens, its id: those keep working until the campaign switches them off (`id_links`), then they are a 404 like
a link to no campaign, so walking /r/1, /r/2, ... reveals no offer.

The click goes through the same `record()` as `/api/event` (same validation, ids, batching, backpressure).
A recipient is never stranded on the tracker: when the email or domain would be refused, or the tracker cannot
take the event right now, they are still sent to the offer (nothing recorded; `X-Tracker-Error` says why).
Only a link to no campaign gets a page of its own (404); and while the database is unreachable, a campaign
this process has not cached has nowhere to send them to (503).
"""
import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

import psycopg
from fastapi import APIRouter, Request, Response

from common.validation import EventRejected, parse_query
from common.vocabulary import EMAIL_CLICK
from web.ingest.api import record, refused, tracker_error
from web.ingest.campaign_cache import CampaignCache, Link
from web.ingest.pipeline import IngestPipeline
from web.ingest.visitor import visitor_of
from web.security import SECURITY_HEADERS

router = APIRouter(tags=["ingest"])

MACROS = ("email", "domain", "cid", "click_id")
# {email}, or %7Bemail%7D from a tool that percent-encoded the braces of the URL it was given.
_MACRO = re.compile(r"(?:\{|%7[bB])(" + "|".join(MACROS) + r")(?:\}|%7[dD])")
# Kept as they are when the filled URL is made ASCII for the Location header: RFC 3986's reserved characters,
# and % so that escapes already there stay. Anything else (non-ASCII, spaces, quotes, braces) is encoded.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
_MAX_CID = 2**31 - 1
# Tokens are secrets.token_urlsafe(16) (22 characters) or, for campaigns older than tokens, 32 hex digits;
# an id has at most 10 digits.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Every click must reach the tracker: a browser or proxy must not replay a cached redirect.
_NO_STORE = {"Cache-Control": "no-store"}

_OPENAPI = {
    "parameters": [
        {"name": "email", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 255},
         "description": "Recipient's email address (your mailer's merge tag)"},
        {"name": "domain", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 255},
         "description": "Sending domain the email came from"},
    ],
    "responses": {
        "302": {"description": "To the offer URL with {email}, {domain}, {cid} and {click_id} filled in. "
                               "Also when the click could not be recorded: see the X-Tracker-Error header"},
        "404": {"description": "No such campaign (a plain HTML page)"},
        "503": {"description": "Database unreachable and the campaign not cached: nowhere to redirect to"},
    },
}

_DESCRIPTION = (
    "The link to put in emails: `key` is the campaign's link token (shown on its page); its id also works "
    "until the campaign switches id links off (then 404). Records an `email_click` (extra parameters go to `extra_params`, as with "
    "`/api/event`) and redirects to the campaign's offer URL with its macros filled in, URL-encoded; "
    "`{click_id}` is the click's event id. HEAD answers the same redirect and records nothing."
)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><h1>{title}</h1><p>{message}</p></body></html>
"""


def _page(status: int, title: str, message: str, error: str, headers: Mapping[str, str] | None = None) -> Response:
    """A plain page for the recipient (fixed text, nothing from the request in it)."""
    return Response(_PAGE.format(title=title, message=message), status_code=status, media_type="text/html",
                    headers={**SECURITY_HEADERS, **tracker_error(error), **(headers or {})})


def _not_found(error: str) -> Response:
    return _page(404, "Link not found", "This link does not lead anywhere. It may be mistyped or out of date.",
                 error)


def _ascii_netloc(netloc: str) -> str:
    if netloc.isascii():
        return netloc
    userinfo, at, hostport = netloc.rpartition("@")
    host, colon, port = hostport.partition(":")  # a host that is not ASCII is no IPv6 literal
    return quote(userinfo, safe=":") + at + host.encode("idna").decode("ascii") + colon + port


def fill_offer(offer_url: str, values: Mapping[str, str]) -> str | None:
    """The offer URL with its macros replaced by the URL-encoded values, as ASCII; None unless http(s).

    Macros are filled in the path, query and fragment only: no link can make the tracker send anyone to a
    host the marketer did not write (creation refuses macros in the host, too)."""
    try:
        parts = urlsplit(offer_url.strip())
        authority = f"{parts.scheme}://{parts.netloc}"
        url = offer_url.strip()
        if parts.scheme not in ("http", "https") or not parts.netloc or url[: len(authority)].lower() != authority.lower():
            return None
        rest = _MACRO.sub(lambda m: quote(values.get(m[1], ""), safe=""), url[len(authority) :])
        return f"{parts.scheme}://{_ascii_netloc(parts.netloc)}{quote(rest, safe=_URL_SAFE)}"
    except (ValueError, UnicodeError):
        return None


def _campaign_id(raw: str) -> int | None:
    if not (0 < len(raw) <= 10 and raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if 0 < value <= _MAX_CID else None


async def _link(campaigns: CampaignCache, key: str) -> Link | None:
    """The campaign the link's key names: its token, or its id while its id links are on."""
    campaign_id = _campaign_id(key)
    if campaign_id is not None:
        link = await campaigns.by_id(campaign_id)
        return link if link is not None and link.id_links else None
    if _TOKEN.fullmatch(key):
        return await campaigns.by_token(key)
    return None


@router.api_route("/r/{key}", methods=["GET", "HEAD"], summary="Tracking link: record an email click, redirect",
                  description=_DESCRIPTION, openapi_extra=_OPENAPI, response_class=Response)
async def tracking_link(key: str, request: Request) -> Response:
    pipeline: IngestPipeline = request.app.state.pipeline
    try:
        link = await _link(pipeline.campaigns, key)
    except (psycopg.Error, OSError):
        return _page(503, "Please try again", "This link is briefly unavailable. Please try again in a moment.",
                     "storage unavailable, retry later", {"Retry-After": pipeline.retry_after})
    if link is None:
        # The same answer for a bogus key, a deleted campaign and an id link switched off: nothing to learn.
        return _not_found("no campaign at this link")
    campaign_id, offer = link.campaign_id, link.offer_url

    values = {"cid": str(campaign_id), "email": "", "domain": "", "click_id": ""}
    error: str | None = None
    try:
        pairs = parse_query(request.scope["query_string"], pipeline.limits)
    except EventRejected as exc:
        error = refused(exc).error
    else:
        # The offer gets what the link carried (trimmed), also when it is refused below.
        for name in ("email", "domain"):
            values[name] = next((value.strip() for key, value in pairs if key == name), "")
        if request.method == "HEAD":
            error = "HEAD requests are not recorded"
        else:
            status, body, _ = await record(pipeline, [("cid", str(campaign_id)), ("event", EMAIL_CLICK.name), *pairs],
                                           visitor_of(request.scope, direct=True))
            if status == 200:
                values["click_id"] = str(body["event_id"])
            else:
                error = body["error"]

    location = fill_offer(offer, values)
    if location is None:
        return _not_found(f"campaign {campaign_id} has no http(s) offer URL")
    headers = {"Location": location, **_NO_STORE, **(tracker_error(error) if error else {})}
    return Response(status_code=302, headers=headers)
