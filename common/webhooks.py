"""Webhooks: each stored conversion of a campaign with a webhook URL is POSTed to it, signed.

The ingest statement writes the outbox row (common/store.py); the webhook worker claims due rows, sends them
and records each answer (worker/webhooks.py, with the SQL below); the campaign page shows the log and can
redeliver (web/dashboard/webhooks.py). Nothing here runs on the ingest path.

The signature (docs/api.md#webhooks): `X-Tracker-Signature: t=<unix seconds>,v1=<hex>`, where v1 is
HMAC-SHA256 with the campaign's webhook secret over `<t>.<raw body>`, as Stripe signs: the timestamp is signed
with the body, so a receiver that refuses old timestamps cannot be fed a replayed delivery.
"""
import hashlib
import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from common.config import Settings
from common.db import Conn
from common.models import Campaign, WebhookDelivery
from common.vocabulary import EMAIL_CLICK, LANDING_CLICK

log = logging.getLogger(__name__)

MAX_URL = 2048
SIGNATURE_HEADER = "X-Tracker-Signature"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# Times in the outbox are naive UTC, as events' are.
_NOW = "(now() AT TIME ZONE 'UTC')"


class WebhookUrlError(ValueError):
    """A webhook URL the tracker will not send to; the message says why, for the form."""


def validate_webhook_url(url: str, settings: Settings) -> str:
    """The cleaned URL, or WebhookUrlError: absolute https (http only with WEBHOOK_ALLOW_HTTP), no credentials,
    and not an address on a private network unless WEBHOOK_ALLOW_PRIVATE_TARGETS (names are checked again when
    sending: see target_refusal)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        raise WebhookUrlError("The webhook URL is not a valid URL.") from None
    schemes = ("https", "http") if settings.webhook_allow_http else ("https",)
    if len(url) > MAX_URL:
        raise WebhookUrlError(f"The webhook URL must be at most {MAX_URL} characters.")
    if parts.scheme not in schemes or not host or any(c.isspace() for c in url):
        raise WebhookUrlError("The webhook URL must be an absolute https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlError("The webhook URL may not hold a user name or password: check the signature instead.")
    refusal = address_refusal(host, settings)
    if refusal:
        raise WebhookUrlError(refusal)
    return url


def address_refusal(address: str, settings: Settings) -> str | None:
    """Why the tracker will not send to this IP address (None when it will, or when it is a name)."""
    if settings.webhook_allow_private_targets:
        return None
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return None
    if not ip.is_global or ip.is_multicast:
        return f"The webhook URL points at a private or reserved address ({ip}): the tracker does not send there."
    return None


def new_secret() -> str:
    """A webhook secret: 256 random bits as 64 hex characters."""
    return secrets.token_hex(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Tracker-Signature header's value for this body, signed at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def backoff_seconds(attempts: int, settings: Settings) -> float:
    """How long to wait after the `attempts`-th failed attempt: base, 2 x base, 4 x base, ..., at most max."""
    exponent = min(max(attempts - 1, 0), 32)
    return float(min(settings.webhook_backoff_max_seconds, settings.webhook_backoff_base_seconds * 2**exponent))


# --- the dashboard's side ---------------------------------------------------------------------------------

def set_webhook_url(*, session: Session, campaign: Campaign, url: str, settings: Settings) -> None:
    """Set (or with "" remove) the campaign's webhook URL; WebhookUrlError when it is refused."""
    campaign.webhook_url = validate_webhook_url(url, settings) if url.strip() else None
    session.flush()


def rotate_secret(*, session: Session, campaign: Campaign) -> None:
    """A new secret: deliveries are signed with it from now on, retries of older ones included."""
    campaign.webhook_secret = new_secret()
    session.flush()


def redeliver(*, session: Session, campaign: Campaign, delivery_id: int) -> bool:
    """Send a delivery again now, with a new retry window; False when the campaign has no such delivery."""
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.campaign_id == campaign.id)
        .values(status=PENDING, next_attempt_at=text(_NOW), retry_until=None)
    )
    return bool(getattr(result, "rowcount", 0))


# --- the worker's side --------------------------------------------------------------------------------------

# Due rows, taken with a lease: another sweep skips them (SKIP LOCKED, then the lease), and a worker killed
# mid-send leaves them to be sent again once the lease is over.
_CLAIM = f"""
WITH due AS (
    SELECT id FROM webhook_deliveries
    WHERE status = '{PENDING}' AND next_attempt_at <= {_NOW}
    ORDER BY next_attempt_at LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE webhook_deliveries d
SET next_attempt_at = {_NOW} + make_interval(secs => %(lease)s),
    retry_until = coalesce(d.retry_until, {_NOW} + make_interval(secs => %(window)s))
FROM due, campaigns c
WHERE d.id = due.id AND c.id = d.campaign_id
RETURNING d.id, d.event_id, d.attempts, c.webhook_url, c.webhook_secret
"""

# The latest click of a type in the conversion's journey, at or before it. A postback names its click: that
# one wins for its own type.
_CLICK = """coalesce(
        (SELECT p.click_id FROM postbacks p JOIN events pc ON pc.id = p.click_id
         WHERE p.event_id = e.id AND pc.event_type = '{type}'),
        (SELECT x.id FROM events x
         WHERE x.email = e.email AND x.campaign_id = e.campaign_id AND x.domain = e.domain
           AND x.event_type = '{type}' AND x.created_at <= e.created_at
         ORDER BY x.created_at DESC, x.id DESC LIMIT 1))"""

# The body, made once at the first attempt and kept: retries and redeliveries send the same bytes' content.
_PAYLOADS = f"""
UPDATE webhook_deliveries d SET payload = jsonb_build_object(
    'type', 'conversion',
    'event_id', e.id,
    'campaign', jsonb_build_object('id', c.id, 'name', c.name),
    'email', e.email,
    'domain', e.domain,
    'payout', trim_scale(e.payout)::text,
    'currency', c.currency,
    'time', to_char(e.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'click', jsonb_build_object(
        'email_click_id', {_CLICK.format(type=EMAIL_CLICK.name)},
        'landing_click_id', {_CLICK.format(type=LANDING_CLICK.name)}))
FROM events e, campaigns c
WHERE d.id = ANY(%(ids)s) AND d.payload IS NULL AND e.id = d.event_id AND c.id = d.campaign_id
"""
_READ_PAYLOADS = "SELECT id, payload FROM webhook_deliveries WHERE id = ANY(%(ids)s)"

_RECORD = f"""
UPDATE webhook_deliveries SET
    attempts = attempts + 1,
    last_attempt_at = {_NOW},
    response_status = %(status)s,
    latency_ms = %(latency_ms)s,
    last_error = %(error)s,
    -- Retried until an attempt is made at or after retry_until: retries span the whole window.
    status = CASE WHEN %(ok)s THEN '{DELIVERED}' WHEN {_NOW} >= retry_until THEN '{FAILED}' ELSE '{PENDING}' END,
    delivered_at = CASE WHEN %(ok)s THEN {_NOW} END,
    next_attempt_at = {_NOW} + make_interval(secs => %(backoff)s)
WHERE id = %(id)s
"""


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed delivery, ready to send."""

    id: int
    event_id: int
    attempts: int  # before this one
    url: str | None  # None: the campaign's webhook was removed since
    secret: str
    payload: dict[str, Any] | None  # None: its event is gone (retention, or a deleted campaign)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got."""

    ok: bool
    status: int | None = None  # the receiver's HTTP status, if it answered
    latency_ms: int | None = None
    error: str | None = None


def claim_due(conn: Conn, settings: Settings) -> list[Delivery]:
    """Take up to WEBHOOK_BATCH_SIZE due deliveries (with a lease) and their bodies."""
    lease = settings.webhook_timeout_seconds + 60
    with conn.transaction():
        rows = conn.execute(_CLAIM, {"limit": settings.webhook_batch_size, "lease": lease,
                                     "window": settings.webhook_retry_window_seconds}).fetchall()
        if not rows:
            return []
        ids = [row[0] for row in rows]
        conn.execute(_PAYLOADS, {"ids": ids})
        payloads: dict[int, dict[str, Any] | None] = {
            row[0]: row[1] for row in conn.execute(_READ_PAYLOADS, {"ids": ids}).fetchall()}
    return [Delivery(id=row[0], event_id=row[1], attempts=row[2], url=row[3], secret=row[4],
                     payload=payloads.get(row[0])) for row in rows]


# Finished deliveries past the log's window, oldest first; an hourly job, so a scan of the table is affordable.
_PRUNE = f"""
DELETE FROM webhook_deliveries WHERE id IN (
    SELECT id FROM webhook_deliveries
    WHERE status <> '{PENDING}' AND coalesce(last_attempt_at, created_at) < {_NOW} - make_interval(days => %(days)s)
    ORDER BY id LIMIT %(batch)s)
"""


def prune_log(conn: Conn, *, keep_days: int, batch: int = 10_000) -> int:
    """Delete the delivered and failed deliveries last attempted more than `keep_days` ago, `batch` rows a
    transaction (short locks, bounded WAL a commit); pending ones are kept whatever their age. Returns how many."""
    deleted = 0
    while True:
        with conn.transaction():
            n = conn.execute(_PRUNE, {"days": keep_days, "batch": batch}).rowcount
        deleted += n
        if n < batch:
            return deleted


def record_outcome(conn: Conn, delivery: Delivery, outcome: Outcome, settings: Settings) -> None:
    """Log the attempt; a failure is retried after the back-off, or marked failed past the retry window."""
    conn.execute(_RECORD, {"id": delivery.id, "ok": outcome.ok, "status": outcome.status,
                           "latency_ms": outcome.latency_ms, "error": outcome.error,
                           "backoff": backoff_seconds(delivery.attempts + 1, settings)})
