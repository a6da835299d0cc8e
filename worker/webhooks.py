"""The webhook sender: a Celery task on its own queue (WEBHOOK_QUEUE), run by its own worker process and
scheduled by beat every WEBHOOK_POLL_SECONDS. It only reads the outbox the ingest statement writes
(common/webhooks.py), so a receiver that is down, slow or failing never touches ingest.

Each run sends the due deliveries a batch at a time, concurrently (a slow receiver holds up only its own
delivery, for at most WEBHOOK_TIMEOUT_SECONDS), until none is due or the run has gone on for the poll period
times ten; beat's next tick carries on.
"""
import asyncio
import ipaddress
import logging
import socket
import ssl
import time
from functools import cache
from urllib.parse import urlsplit, urlunsplit

import certifi
import httpx
import orjson

from common.db import Conn, connect
from common.queue import WEBHOOK_LOG_TASK, WEBHOOK_TASK
from common.webhooks import (
    SIGNATURE_HEADER,
    Delivery,
    Outcome,
    address_refusal,
    claim_due,
    prune_log,
    record_outcome,
    signature,
)
from worker.celery_app import celery_app, settings

log = logging.getLogger(__name__)

_USER_AGENT = "click-tracker-webhooks/1"
_MAX_ERROR = 500


class _Connection:
    """The sender's one database connection, reopened after a failure."""

    conn: Conn | None = None

    def get(self) -> Conn:
        if self.conn is None or self.conn.closed or self.conn.broken:
            self.conn = connect()
        return self.conn


_db = _Connection()


@cache
def _tls() -> ssl.SSLContext:
    """The public CAs, and WEBHOOK_CA_BUNDLE's too when set (a private CA, or the tests' own)."""
    context = ssl.create_default_context(cafile=certifi.where())
    if settings.webhook_ca_bundle:
        context.load_verify_locations(settings.webhook_ca_bundle)
    return context


async def _pinned_url(url: str) -> tuple[str, str]:
    """(the URL with its host replaced by the address it resolves to, its host name), or WebhookRefused.

    The address is checked against the private-network rule and then connected to as is: a name that resolves
    to a public address when checked and to a private one when connected (DNS rebinding) cannot slip through.
    TLS still verifies the certificate against the name (sni_hostname)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # IPv4 first: a receiver's AAAA record is no promise that this machine can reach it over IPv6.
    addresses = sorted({str(info[4][0]) for info in infos}, key=lambda a: ipaddress.ip_address(a).version)
    if not addresses:
        raise WebhookRefused(f"{host} does not resolve")
    for address in addresses:
        refusal = address_refusal(address, settings)
        if refusal:
            raise WebhookRefused(f"{host} resolves to {address}: {refusal}")
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    return urlunsplit(parts._replace(netloc=f"{literal}:{port}")), host


class WebhookRefused(Exception):
    """The receiver may not be sent to (or cannot be found); counted as a failed attempt."""


async def _send(client: httpx.AsyncClient, delivery: Delivery) -> Outcome:
    if delivery.url is None:
        return Outcome(ok=False, error="the campaign has no webhook URL")
    if delivery.payload is None:
        return Outcome(ok=False, error=f"event {delivery.event_id} is no longer stored")
    body = orjson.dumps(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": _USER_AGENT,
        SIGNATURE_HEADER: signature(delivery.secret, body, int(time.time())),
        "X-Tracker-Delivery": str(delivery.id),
        "X-Tracker-Attempt": str(delivery.attempts + 1),
    }
    started = time.monotonic()
    try:
        url, host = await _pinned_url(delivery.url)
        response = await client.post(url, content=body, extensions={"sni_hostname": host},
                                     headers={**headers, "Host": urlsplit(delivery.url).netloc})
    except (WebhookRefused, OSError, httpx.HTTPError) as exc:
        latency = round((time.monotonic() - started) * 1000)
        return Outcome(ok=False, latency_ms=latency, error=(str(exc) or type(exc).__name__)[:_MAX_ERROR])
    latency = round((time.monotonic() - started) * 1000)
    ok = 200 <= response.status_code < 300
    return Outcome(ok=ok, status=response.status_code, latency_ms=latency,
                   error=None if ok else f"HTTP {response.status_code}")


async def _send_all(deliveries: list[Delivery]) -> list[Outcome]:
    timeout = httpx.Timeout(settings.webhook_timeout_seconds)
    # No redirects: a receiver's 3xx is an answer, not a way to send the signed body somewhere else.
    async with httpx.AsyncClient(verify=_tls(), timeout=timeout, follow_redirects=False, trust_env=False) as client:
        return await asyncio.gather(*(_send(client, d) for d in deliveries))


def send_due() -> int:
    """Send what is due, a batch at a time, for a bounded time; returns how many attempts were made."""
    deadline = time.monotonic() + settings.webhook_poll_seconds * 10
    attempts = 0
    while time.monotonic() < deadline:
        conn = _db.get()
        deliveries = claim_due(conn, settings)
        if not deliveries:
            break
        outcomes = asyncio.run(_send_all(deliveries))
        for delivery, outcome in zip(deliveries, outcomes, strict=True):
            record_outcome(conn, delivery, outcome, settings)
            if not outcome.ok:
                log.info("webhook delivery %s (attempt %d) failed: %s", delivery.id, delivery.attempts + 1,
                         outcome.error)
        attempts += len(deliveries)
    return attempts


@celery_app.task(name=WEBHOOK_TASK, ignore_result=True)
def send_webhooks() -> int:
    """Send the due webhook deliveries (beat runs it every WEBHOOK_POLL_SECONDS)."""
    try:
        return send_due()
    except Exception:
        # The next tick tries again; a lease keeps whatever was claimed from being lost.
        if _db.conn is not None:
            _db.conn.close()
        log.exception("webhook run failed")
        return 0


@celery_app.task(name=WEBHOOK_LOG_TASK, ignore_result=True)
def prune_webhook_log() -> int:
    """Delete finished deliveries older than WEBHOOK_LOG_DAYS (beat runs it hourly)."""
    if settings.webhook_log_days <= 0:
        return 0
    deleted = prune_log(_db.get(), keep_days=settings.webhook_log_days)
    if deleted:
        log.info("webhook log: deleted %d deliveries finished over %d days ago", deleted, settings.webhook_log_days)
    return deleted
