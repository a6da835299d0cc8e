"""Webhooks without the network: URL rules, the signature as docs/api.md verifies it, the back-off, the
production guard, and the outbox rows the ingest statement writes (real PostgreSQL)."""
import hashlib
import hmac
import time
import uuid
from typing import Any

import psycopg
import pytest
from pydantic import ValidationError

from common.campaigns import create_campaign
from common.config import Settings
from common.db import get_session
from common.webhooks import WebhookUrlError, backoff_seconds, signature, validate_webhook_url
from tests.events import CHROME, store

STRICT = Settings(environment="development")


def verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """docs/api.md's Python verification, as a receiver would write it."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - timestamp) <= tolerance and hmac.compare_digest(expected, fields["v1"])


def test_signature__verifies_with_the_documented_code() -> None:
    body = b'{"event_id":1,"payout":"12.5"}'
    header = signature("s3cret", body, int(time.time()))
    assert header.startswith("t=") and ",v1=" in header
    assert verify("s3cret", body, header)
    assert not verify("other", body, header)
    assert not verify("s3cret", body + b" ", header)
    assert not verify("s3cret", body, signature("s3cret", body, int(time.time()) - 3600))  # a replay


@pytest.mark.parametrize(("url", "why"), [
    ("http://hooks.example.com/x", "https://"),
    ("ftp://hooks.example.com/x", "https://"),
    ("/relative", "https://"),
    ("https://user:pw@hooks.example.com/", "user name or password"),
    ("https://127.0.0.1/hook", "private or reserved"),
    ("https://[::1]:8443/hook", "private or reserved"),
    ("https://10.1.2.3/hook", "private or reserved"),
    ("https://169.254.169.254/latest/meta-data", "private or reserved"),
    ("https://hooks.example.com:99999/", "not a valid URL"),
    ("https://hooks.example.com/" + "x" * 2048, "at most 2048"),
])
def test_webhook_url__refused(url: str, why: str) -> None:
    with pytest.raises(WebhookUrlError, match=why.replace("+", r"\+").replace("(", r"\(")):
        validate_webhook_url(url, STRICT)


def test_webhook_url__development_settings_allow_http_and_private_targets() -> None:
    assert validate_webhook_url(" https://hooks.example.com/c?x=1 ", STRICT) == "https://hooks.example.com/c?x=1"
    relaxed = Settings(environment="development", webhook_allow_http=True, webhook_allow_private_targets=True)
    assert validate_webhook_url("http://127.0.0.1:9000/h", relaxed) == "http://127.0.0.1:9000/h"


@pytest.mark.parametrize("flag", ["webhook_allow_http", "webhook_allow_private_targets"])
def test_settings__development_flags_refused_in_production(flag: str) -> None:
    with pytest.raises(ValidationError, match="development only"):
        Settings(environment="production", flower_password="x", **{flag: True})


def test_backoff__doubles_up_to_the_cap() -> None:
    s = Settings(webhook_backoff_base_seconds=30, webhook_backoff_max_seconds=3600)
    assert [backoff_seconds(n, s) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    # With the defaults, failures are retried over a day: about 30 attempts, the last ones an hour apart.
    default = Settings()
    waited, attempts = 0.0, 0
    while waited < default.webhook_retry_window_seconds:
        attempts += 1
        waited += backoff_seconds(attempts, default)
    assert 24 <= attempts <= 40


# --- the outbox, written by the ingest statement -----------------------------------------------------------

def _campaign(webhook_url: str | None) -> int:
    with get_session() as session:
        campaign = create_campaign(session=session, name=f"Hook {uuid.uuid4().hex[:6]}",
                                   offer_url="https://offer.example.com/")
        campaign.webhook_url = webhook_url
        return campaign.id


def _events(db: psycopg.Connection[Any], cid: int, types: list[str]) -> list[dict[str, Any]]:
    ids = [r[0] for r in db.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (len(types),))]
    return [{"id": i, "cid": cid, "type": t, "email": "a@x.com", "domain": "d.com", "ip": "198.51.100.7",
             "ua": CHROME, "extra": {}, "ts": time.time()} for i, t in zip(ids, types, strict=True)]


def _deliveries(db: psycopg.Connection[Any], cid: int) -> list[tuple[int, str]]:
    return [(r[0], r[1]) for r in db.execute(
        "SELECT event_id, status FROM webhook_deliveries WHERE campaign_id = %s ORDER BY event_id", (cid,))]


def test_outbox__one_row_per_conversion_of_a_campaign_with_a_webhook(db: psycopg.Connection[Any]) -> None:
    hooked, plain = _campaign("https://hooks.example.com/a"), _campaign(None)
    batch = [*_events(db, hooked, ["email_click", "landing_click", "conversion", "conversion"]),
             *_events(db, plain, ["email_click", "conversion"])]
    assert store(db, batch) == 6
    conversions = [e["id"] for e in batch[2:4]]
    assert _deliveries(db, hooked) == [(conversions[0], "pending"), (conversions[1], "pending")]
    assert _deliveries(db, plain) == []
    # A batch delivered twice stores nothing new, and makes no second delivery.
    assert store(db, batch) == 0
    assert len(_deliveries(db, hooked)) == 2


def test_outbox__a_batch_without_conversions_runs_the_statement_without_it(db: psycopg.Connection[Any]) -> None:
    from common import store as store_module

    assert "webhook_deliveries" not in store_module._STATEMENT
    assert "webhook_deliveries" in store_module._STATEMENT_WITH_OUTBOX
    hooked = _campaign("https://hooks.example.com/b")
    assert store(db, _events(db, hooked, ["email_click", "landing_click"])) == 2
    assert _deliveries(db, hooked) == []
