"""validate_event and parse_query: what a landing script may send, and every refusal."""

from typing import Any

import pytest

from common.config import get_settings
from common.event import Event, Visitor
from common.validation import EventRejected, Limits, parse_query, validate_event

LIMITS = Limits.from_settings(get_settings())
BASE = [("cid", "5"), ("event", "email_click"), ("email", "John@Gmail.com "), ("domain", "Example1.com")]


def validate(pairs: list[tuple[str, Any]], **kw: Any) -> Event:
    return validate_event(
        pairs, limits=LIMITS, visitor=Visitor(ip=kw.get("ip", "203.0.113.9"), user_agent=kw.get("ua"))
    )


def rejected(pairs: list[tuple[str, Any]]) -> EventRejected:
    with pytest.raises(EventRejected) as info:
        validate(pairs)
    return info.value


def test_valid_event__normalised() -> None:
    event = validate([*BASE, ("utm_source", "mail"), ("sub", "7")], ua="Mozilla/5.0")
    assert event.campaign_id == 5
    assert event.event_type == "email_click"
    assert event.email == "john@gmail.com"
    assert event.domain == "example1.com"
    assert event.ip == "203.0.113.9"
    assert event.user_agent == "Mozilla/5.0"
    assert event.extra_params == {"utm_source": "mail", "sub": "7"}


def test_forwarded_ip_and_ua__override_connection() -> None:
    event = validate([*BASE, ("ip", "2001:db8::1"), ("ua", "Forwarded UA")], ua="Server UA")
    assert (event.ip, event.user_agent) == ("2001:db8::1", "Forwarded UA")
    assert "ip" not in event.extra_params and "ua" not in event.extra_params


def test_idn_domain__punycode() -> None:
    assert validate([*BASE[:3], ("domain", "bücher.de")]).domain == "xn--bcher-kva.de"


@pytest.mark.parametrize("cid", ["0", "-1", "1e3", "99999999999999999999", "2147483648", "abc", "", " "])
def test_bad_cid__422(cid: str) -> None:
    error = rejected([("cid", cid), *BASE[1:]])
    assert (error.status, error.field) == (422, "cid")


@pytest.mark.parametrize("field", ["cid", "event", "email", "domain"])
def test_missing_field__422(field: str) -> None:
    error = rejected([p for p in BASE if p[0] != field])
    assert error.status == 422 and field in error.error


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event", "open"),
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("email", "x" * 250 + "@example.com"),
        ("email", "a b@example.com"),
        ("domain", "exa mple.com"),
        ("domain", "-bad-.com"),
        ("domain", "d" * 10_000),
        ("ip", "999.1.1.1"),
    ],
)
def test_bad_value__422(field: str, value: str) -> None:
    pairs = [(k, value if k == field else v) for k, v in BASE]
    if field == "ip":
        pairs.append(("ip", value))
    error = rejected(pairs)
    assert (error.status, error.field) == (422, field)


def test_nul_byte__422() -> None:
    assert rejected([*BASE, ("note", "a\x00b")]).status == 422
    assert rejected([*BASE[:2], ("email", "a\x00@b.com"), BASE[3]]).status == 422


def test_repeated_param__422() -> None:
    assert "repeated" in rejected([*BASE, ("cid", "6")]).error
    assert "repeated" in rejected([*BASE, ("x", "1"), ("x", "2")]).error


def test_reserved_enrichment_key__422() -> None:
    assert "reserved" in rejected([*BASE, ("_tracker", "{}")]).error


def test_extras_limits__413() -> None:
    many = [(f"k{i}", "v") for i in range(LIMITS.max_params + 1)]
    assert rejected([*BASE, *many]).status == 413
    assert rejected([*BASE, ("big", "v" * (LIMITS.max_value_length + 1))]).status == 413
    assert rejected([*BASE, ("k" * (LIMITS.max_key_length + 1), "v")]).status == 422


def test_json_values__scalars_only() -> None:
    assert validate([*BASE, ("n", 3), ("f", 1.5)]).extra_params == {"n": 3, "f": 1.5}
    assert rejected([*BASE, ("obj", {"a": 1})]).status == 422
    assert rejected([*BASE, ("nan", float("nan"))]).status == 422
    assert rejected([*BASE, ("flag", True)]).status == 422


def test_parse_query__invalid_utf8_refused() -> None:
    with pytest.raises(EventRejected) as info:
        parse_query(b"cid=1&email=%ff%fe", LIMITS)
    assert info.value.status == 422


def test_parse_query__oversize_refused() -> None:
    with pytest.raises(EventRejected) as info:
        parse_query(b"a=" + b"x" * (LIMITS.max_query_bytes + 1), LIMITS)
    assert info.value.status == 413
    with pytest.raises(EventRejected) as info:
        parse_query("&".join(f"k{i}=v" for i in range(10_000)).encode()[: LIMITS.max_query_bytes], LIMITS)
    assert info.value.status == 413


def test_parse_query__raw_utf8_accepted_invalid_bytes_refused() -> None:
    assert parse_query("name=é".encode(), LIMITS) == [("name", "é")]
    with pytest.raises(EventRejected):
        parse_query(b"name=\xff", LIMITS)
