"""The event as it crosses the tiers: built once by validation (common/validation.py), given its id by the web
tier, published in batches, and stored by the worker (common/store.py).

One typed value, a msgspec Struct: cheaper to build, encode and decode than a slotted dataclass with orjson
or a pydantic model (docs/performance.md, "The typed event"). On the wire it is plain JSON under the short
names the first version gave its dict (cid, type, ua, extra, ts), so a batch queued by any earlier version is
stored as it was sent, and the store statement reads those names straight from the batch.
"""
from typing import Any

import msgspec

# Field name -> name on the wire (and in the store statement's jsonb_to_recordset).
WIRE_NAMES = {
    "campaign_id": "cid",
    "event_type": "type",
    "user_agent": "ua",
    "extra_params": "extra",
    "received_at": "ts",
}


# omit_defaults: fields at their default stay off the wire (a batch is smaller; a reader fills them back in).
class Event(msgspec.Struct, kw_only=True, rename=WIRE_NAMES, omit_defaults=True):
    campaign_id: int
    event_type: str  # one of common.vocabulary.EVENT_TYPE_NAMES
    email: str  # lower-cased, validated
    domain: str  # lower-cased, validated, IDNA-encoded
    ip: str | None = None  # the visitor's address, when known
    user_agent: str | None = None  # the visitor's User-Agent, when known
    extra_params: dict[str, Any] = msgspec.field(default_factory=dict)  # every other parameter, as sent
    # A conversion's amount, an exact decimal as text ("12.50"), in its campaign's currency; also kept in
    # extra_params as it was sent.
    payout: str | None = None
    currency: str | None = None  # ISO 4217, when the event named one: the web tier checks it is the campaign's
    received_at: float  # when the web tier accepted it, epoch seconds: the event's created_at
    id: int = 0  # allocated by the web tier (from the events sequence) before the event is queued
    # The address / user agent are the calling client's own, not forwarded for a visitor: an /api/event request
    # that sent no `ip` / `ua` (a browser snippet's, or a server-side script's; common/enrich.py tells which).
    caller_ip: bool = False
    caller_ua: bool = False


Batch = list[Event]


class Visitor(msgspec.Struct, frozen=True):
    """Who sent a request, as the web tier sees it: the client's address and User-Agent header. `direct`: the
    request is the visitor's own (a tracking link or pixel their browser fetched); otherwise (/api/event) it may
    come from a server-side landing script calling on the visitor's behalf."""

    ip: str | None
    user_agent: str | None
    direct: bool = True

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Batch)


def encode(events: Batch) -> bytes:
    """A batch as the JSON the broker, the in-flight journal and the store statement carry."""
    return _encoder.encode(events)


def decode(data: bytes | str) -> Batch:
    """A batch from that JSON. Fields a later version may add are ignored; fields an earlier one lacked take
    their defaults."""
    return _decoder.decode(data)


def from_wire(items: list[dict[str, Any]]) -> Batch:
    """A batch from already-decoded JSON (a Celery task's argument)."""
    return msgspec.convert(items, Batch)


def to_wire(events: Batch) -> list[dict[str, Any]]:
    """A batch as plain JSON values, for a serializer of someone else's (Celery's, over RabbitMQ)."""
    wire: list[dict[str, Any]] = msgspec.to_builtins(events)
    return wire
