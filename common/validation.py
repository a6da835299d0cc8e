"""Validation of incoming events. Every refusal is an EventRejected with an HTTP status and a clear message."""

import ipaddress
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from common.config import Settings
from common.enrich import ENRICH_KEY
from common.event import Event, Visitor
from common.money import AmountError, parse_amount, parse_currency
from common.vocabulary import BY_NAME, EVENT_TYPE_NAMES, PAYING_TYPES, EventType

REQUIRED = ("cid", "event", "email", "domain")
# Server-side landing scripts may forward their visitor's address and browser under these names.
FORWARDED = ("ip", "ua")
# A conversion's amount, and its currency (the campaign's when not given): validated, and kept in extra_params
# as they were sent, as before they were counted.
MONEY = ("payout", "currency")
_RESERVED = frozenset((*REQUIRED, *FORWARDED, *MONEY))
_EVENT_TYPES = frozenset(EVENT_TYPE_NAMES)
_MAX_CID = 2**31 - 1
_CID = re.compile(r"[1-9][0-9]{0,9}")
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
_HOST_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")
_MAX_FIELD = 255


class EventRejected(Exception):
    """A request that must be refused with `status` and stores nothing."""

    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.field = field

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": "error", "error": self.error}
        if self.field:
            out["field"] = self.field
        return out


@dataclass(frozen=True, slots=True)
class Limits:
    max_query_bytes: int
    max_params: int
    max_key_length: int
    max_value_length: int
    max_extras_bytes: int

    @classmethod
    def from_settings(cls, s: Settings) -> "Limits":
        return cls(
            max_query_bytes=s.max_query_bytes,
            max_params=s.max_extra_params,
            max_key_length=s.max_extra_key_length,
            max_value_length=s.max_extra_value_length,
            max_extras_bytes=s.max_extras_bytes,
        )


def parse_query(raw: bytes, limits: Limits) -> list[tuple[str, str]]:
    """Decode a query string strictly: invalid UTF-8 is refused, not replaced."""
    if len(raw) > limits.max_query_bytes:
        raise EventRejected(413, f"query string is larger than {limits.max_query_bytes} bytes")
    try:
        text = raw.decode("utf-8")
        return parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=limits.max_params + len(_RESERVED),
        )
    except UnicodeDecodeError:
        raise EventRejected(422, "parameters must be valid UTF-8") from None
    except ValueError:
        raise EventRejected(413, f"too many parameters (at most {limits.max_params} extra)") from None


def _text(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise EventRejected(422, f"{field} must be a string or a number", field)
    if isinstance(value, float) and not math.isfinite(value):
        raise EventRejected(422, f"{field} must be a finite number", field)
    text = str(value)
    if "\x00" in text:
        raise EventRejected(422, f"{field} contains a NUL byte", field)
    return text


def _cid(raw: str) -> int:
    raw = raw.strip()
    if not _CID.fullmatch(raw) or int(raw) > _MAX_CID:
        raise EventRejected(422, "cid must be a positive integer campaign id", "cid")
    return int(raw)


def _bounded(raw: str, field: str) -> str:
    value = raw.strip().lower()
    if not value:
        raise EventRejected(422, f"{field} is empty", field)
    if len(value) > _MAX_FIELD:
        raise EventRejected(422, f"{field} is longer than {_MAX_FIELD} characters", field)
    return value


def _email(raw: str) -> str:
    value = _bounded(raw, "email")
    if not _EMAIL.fullmatch(value):
        raise EventRejected(422, "email is not a valid address", "email")
    return value


def stored_email(raw: str) -> str:
    """An email address as events store it (trimmed, lower-cased); EventRejected when it is not one."""
    return _email(raw)


def _domain(raw: str) -> str:
    value = _bounded(raw, "domain").rstrip(".")
    if not value.isascii():
        try:
            value = value.encode("idna").decode("ascii")
        except UnicodeError:
            raise EventRejected(422, "domain is not a valid host name", "domain") from None
    if len(value) > _MAX_FIELD or not _DOMAIN.fullmatch(value):
        raise EventRejected(422, "domain is not a valid host name", "domain")
    return value


def _ip(raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise EventRejected(422, "ip is not a valid IPv4 or IPv6 address", "ip") from None


def _money(fields: dict[str, str], event_type: EventType) -> tuple[str | None, str | None]:
    """The payout (exact decimal text) and currency code an event carries; an empty value is not sent (a
    network's macro with nothing in it)."""
    payout, currency = fields.get("payout", "").strip() or None, fields.get("currency", "").strip() or None
    try:
        currency = parse_currency(currency) if currency is not None else None
    except AmountError as exc:
        raise EventRejected(422, str(exc), "currency") from None
    if payout is None:
        return None, currency
    try:
        payout = parse_amount(payout, "payout")
    except AmountError as exc:
        raise EventRejected(422, str(exc), "payout") from None
    if not event_type.pays:
        paying = ", ".join(t.name for t in PAYING_TYPES)
        raise EventRejected(422, f"payout is only for {paying} events, not {event_type.name}", "payout")
    return payout, currency


def validate_event(pairs: Iterable[tuple[str, Any]], *, limits: Limits, visitor: Visitor) -> Event:
    """Turn request parameters, from a request `visitor` sent, into an Event; a server-side landing script
    may forward its own visitor's `ip` and `ua`."""
    fields: dict[str, str] = {}
    extras: dict[str, Any] = {}
    extras_size = 0
    for key, value in pairs:
        if "\x00" in key:
            raise EventRejected(422, "a parameter name contains a NUL byte")
        if key in fields or key in extras:
            raise EventRejected(422, f"parameter {key!r} is repeated", key[:64])
        if key in _RESERVED:
            fields[key] = _text(value, key)
            continue
        if key == ENRICH_KEY:
            raise EventRejected(422, f"{ENRICH_KEY} is reserved for the tracker's own data", key)
        if not key or len(key) > limits.max_key_length:
            raise EventRejected(422, f"extra parameter names must be 1-{limits.max_key_length} characters")
        if len(extras) >= limits.max_params:
            raise EventRejected(413, f"too many extra parameters (at most {limits.max_params})")
        text = _text(value, key)
        if len(text) > limits.max_value_length:
            raise EventRejected(413, f"{key} is longer than {limits.max_value_length} characters", key)
        extras_size += len(key) + len(text)
        if extras_size > limits.max_extras_bytes:
            raise EventRejected(413, f"extra parameters exceed {limits.max_extras_bytes} characters in total")
        # Numbers from a JSON body stay numbers; query parameters are strings.
        extras[key] = value

    missing = [name for name in REQUIRED if name not in fields]
    if missing:
        raise EventRejected(422, f"missing required parameter(s): {', '.join(missing)}", missing[0])
    event_type = fields["event"].strip().lower()
    if event_type not in _EVENT_TYPES:
        raise EventRejected(422, f"event must be one of: {', '.join(EVENT_TYPE_NAMES)}", "event")
    ua = fields.get("ua", visitor.user_agent)
    if ua is not None and len(ua) > limits.max_value_length:
        ua = ua[: limits.max_value_length]  # a browser's UA is never this long; keep what identifies it
    payout, currency = _money(fields, BY_NAME[event_type])
    for name in MONEY:
        if name in fields and fields[name].strip():
            extras[name] = fields[name]
    return Event(
        campaign_id=_cid(fields["cid"]),
        event_type=event_type,
        email=_email(fields["email"]),
        domain=_domain(fields["domain"]),
        ip=_ip(fields["ip"]) if "ip" in fields else visitor.ip,
        user_agent=ua,
        extra_params=extras,
        payout=payout,
        currency=currency,
        received_at=time.time(),
        caller_ip=not visitor.direct and "ip" not in fields,
        caller_ua=not visitor.direct and "ua" not in fields,
    )
