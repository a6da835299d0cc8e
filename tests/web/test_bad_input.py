"""Bad input for /api/event, generated from the OpenAPI schema and written by hand.

Whatever arrives: no 5xx, every refusal the app gives is a JSON body `{"status": "error", "error": ...}`
with a 4xx code, nothing is stored, and the service is still healthy afterwards.
"""

import socket
import uuid
from collections import Counter
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.checks import event_count
from tests.services import wait_until

GENERATED_PER_MODE = 600  # positive and negative: 1,200 generated requests (GET and POST)


def _assert_json_error(status: int, content_type: str, body: bytes) -> None:
    assert 400 <= status < 500, (status, body[:200])
    assert content_type.startswith("application/json"), (status, content_type, body[:200])
    answer = httpx.Response(status, content=body).json()
    assert answer["status"] == "error" and isinstance(answer["error"], str) and answer["error"], answer


def test_generated_requests__never_5xx_every_error_json(
    web: str, db: psycopg.Connection, campaign_id: int
) -> None:
    schema = schemathesis.openapi.from_url(f"{web}/openapi.json").include(path="/api/event")
    # Generated ids that exist belong to other tests' campaigns: send those to this test's own instead.
    existing = {row[0] for row in db.execute("SELECT id FROM campaigns")}
    statuses: Counter[int] = Counter()

    def check(case: Any) -> None:
        query = case.query if case.query is not None else {}
        cid = query.get("cid")
        if isinstance(cid, str) and cid.isascii() and cid.isdigit() and int(cid) in existing:
            query["cid"] = str(campaign_id)
        if case.operation.method.upper() == "POST" and isinstance(query.get("event"), str):
            # Random strings are never plausible addresses: let these cases reach the accept path, with the
            # generated event, ip, ua and whatever else Schemathesis sends.
            query.update(cid=str(campaign_id), email="fuzz@example.com", domain="example.com")
        case.query = query
        response = case.call(base_url=web, timeout=30)
        statuses[response.status_code] += 1
        assert response.status_code < 500, (case.as_curl_command(), response.text[:300])
        if response.status_code >= 400:
            content_type = response.headers.get("content-type", [""])[0]  # Schemathesis: name -> values
            _assert_json_error(response.status_code, content_type, response.content)

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        run = settings(
            max_examples=GENERATED_PER_MODE,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(case=schema.as_strategy(mode))(check))
        run()
    print(f"generated requests by status: {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) >= 1000, statuses
    # Both sides were exercised: accepted events and refusals.
    assert statuses[200] > 0 and sum(n for s, n in statuses.items() if s >= 400) > 0, statuses
    assert httpx.get(f"{web}/healthz", timeout=10).status_code == 200


def _raw(
    base_url: str, method: str, target: bytes, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    """One HTTP/1.1 request written byte for byte (no client-side encoding or URL limits)."""
    host, port = base_url.removeprefix("http://").split(":")
    lines = [
        f"{method} ".encode() + target + b" HTTP/1.1",
        f"Host: {host}".encode(),
        b"Connection: close",
        f"Content-Length: {len(body)}".encode(),
    ]
    lines += [f"{name}: {value}".encode() for name, value in (headers or {}).items()]
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in header_lines)
    content_type = next((v for k, v in fields.items() if k.lower() == "content-type"), "")
    return int(status_line.split()[1]), content_type, payload


VALID = "cid={cid}&event=email_click&email={marker}%40example.com&domain=example.com"

# (id, query string) for GET: every one must be refused by the app with a JSON 4xx.
BAD_QUERIES = [
    ("query-string-40kb", VALID + "&pad=" + "x" * 40_000),
    ("10000-params-under-size-limit", VALID + "&a=" * 10_000),
    ("repeated-cid", VALID + "&cid={cid}"),
    ("repeated-email", VALID + "&email=other%40example.com"),
    ("repeated-extra", VALID + "&utm=a&utm=b"),
    ("nul-in-value", VALID + "&note=a%00b"),
    ("nul-in-email", "cid={cid}&event=email_click&email={marker}%00%40example.com&domain=example.com"),
    ("nul-in-name", VALID + "&a%00b=1"),
    ("invalid-utf8-ff", VALID + "&note=%ff"),
    ("invalid-utf8-truncated", VALID + "&note=%c3%28"),
    ("invalid-utf8-surrogate", VALID + "&note=%ed%a0%80"),
    ("invalid-utf8-in-email", VALID.replace("{marker}%40", "{marker}%e9%40")),
    ("cid-0", VALID.replace("cid={cid}", "cid=0")),
    ("cid-negative", VALID.replace("cid={cid}", "cid=-1")),
    ("cid-exponent", VALID.replace("cid={cid}", "cid=1e3")),
    ("cid-20-digits", VALID.replace("cid={cid}", "cid=99999999999999999999")),
    ("cid-2-pow-31", VALID.replace("cid={cid}", "cid=2147483648")),
    ("cid-float", VALID.replace("cid={cid}", "cid={cid}.0")),
    ("cid-empty", VALID.replace("cid={cid}", "cid=")),
    ("email-10000-chars", VALID.replace("{marker}%40", "{marker}" + "e" * 10_000 + "%40")),
    ("domain-10000-chars", VALID.replace("domain=example.com", "domain=" + "d" * 10_000 + ".com")),
    ("domain-label-too-long", VALID.replace("domain=example.com", "domain=" + "d" * 64 + ".com")),
    ("reserved-enrichment-key", VALID + "&_tracker=%7B%22is_bot%22%3Afalse%7D"),
    ("unknown-event", VALID.replace("event=email_click", "event=open")),
    ("missing-domain", "cid={cid}&event=email_click&email={marker}%40example.com"),
    ("bad-ip", VALID + "&ip=999.1.1.1"),
    ("extra-value-too-long", VALID + "&note=" + "v" * 3000),
    ("too-many-extras", VALID + "".join(f"&x{i}=1" for i in range(60))),
]

FORM = "application/x-www-form-urlencoded"
# (id, raw body, content type) for POST.
BAD_BODIES = [
    ("json-array", b"[1, 2]", "application/json"),
    ("json-string", b'"cid=1"', "application/json"),
    ("json-number", b"5", "application/json"),
    ("json-null", b"null", "application/json"),
    ("json-true", b"true", "application/json"),
    ("json-broken", b"{bad", "application/json"),
    (
        "json-nested-extra",
        b'{"cid": {cid}, "event": "email_click", "email": "{marker}@example.com", '
        b'"domain": "example.com", "x": {"a": 1}}',
        "application/json",
    ),
    (
        "json-cid-bool",
        b'{"cid": true, "event": "email_click", "email": "{marker}@example.com", "domain": "example.com"}',
        "application/json",
    ),
    (
        "json-cid-float",
        b'{"cid": 1.5, "event": "email_click", "email": "{marker}@example.com", "domain": "example.com"}',
        "application/json",
    ),
    (
        "json-reserved-key",
        b'{"cid": {cid}, "event": "email_click", "email": "{marker}@example.com", '
        b'"domain": "example.com", "_tracker": {}}',
        "application/json",
    ),
    (
        "json-nul",
        b'{"cid": {cid}, "event": "email_click", "email": "{marker}@example.com", '
        b'"domain": "example.com", "note": "a\\u0000b"}',
        "application/json",
    ),
    ("form-10000-params", "&".join(f"p{i}=1" for i in range(10_000)).encode(), FORM),
    ("form-100kb", b"cid={cid}&pad=" + b"x" * 100_000, FORM),
    ("form-invalid-utf8", VALID.encode() + b"&n=%ff", FORM),
    ("form-repeated", VALID.encode() + b"&cid={cid}", FORM),
    ("unsupported-type", b"\x89PNG", "image/png"),
]

# Refused by the HTTP server before the app sees them (a URL over 64 KB, raw bytes the request line may not
# carry): a 4xx, though not the app's JSON.
BAD_REQUEST_LINES = [
    ("query-string-100kb", ("/api/event?" + VALID + "&pad=" + "x" * 100_000).encode()),
    ("10000-params", ("/api/event?" + VALID + "".join(f"&p{i}=1" for i in range(10_000))).encode()),
    ("raw-nul", b"/api/event?" + VALID.encode().replace(b"{marker}", b"{marker}\x00")),
    ("raw-invalid-utf8", b"/api/event?" + VALID.encode().replace(b"{marker}", b"{marker}\xff")),
]


def _fill(template: str | bytes, cid: int, marker: str) -> bytes:
    raw = template.encode() if isinstance(template, str) else template
    return raw.replace(b"{cid}", str(cid).encode()).replace(b"{marker}", marker.encode())


def _assert_nothing_stored_and_healthy(
    http: httpx.Client, db: psycopg.Connection, campaign_id: int, marker: str
) -> None:
    """A valid event sent afterwards is stored; once it is, a refused one would have been too."""
    assert http.get("/healthz").status_code == 200
    r = http.get(
        "/api/event",
        params={
            "cid": campaign_id,
            "event": "email_click",
            "email": "ok@example.com",
            "domain": "example.com",
        },
    )
    assert r.status_code == 200, r.text
    wait_until(lambda: event_count(db, campaign_id) >= 1, message="the valid event stored")
    assert event_count(db, campaign_id) == 1
    row = db.execute("SELECT count(*) FROM events WHERE email LIKE %s", (f"{marker}%",)).fetchone()
    assert row is not None and row[0] == 0


@pytest.mark.parametrize("query", [q for _, q in BAD_QUERIES], ids=[i for i, _ in BAD_QUERIES])
def test_bad_query__json_4xx_nothing_stored(
    web: str, http: httpx.Client, db: psycopg.Connection, campaign_id: int, query: str
) -> None:
    marker = f"bad-{uuid.uuid4().hex[:12]}"
    for method in ("GET", "POST"):  # POST: the same parameters in the query string, no body
        status, content_type, body = _raw(web, method, b"/api/event?" + _fill(query, campaign_id, marker))
        _assert_json_error(status, content_type, body)
    _assert_nothing_stored_and_healthy(http, db, campaign_id, marker)


@pytest.mark.parametrize(
    ("body", "content_type"), [(b, t) for _, b, t in BAD_BODIES], ids=[i for i, _, _ in BAD_BODIES]
)
def test_bad_body__json_4xx_nothing_stored(
    web: str, http: httpx.Client, db: psycopg.Connection, campaign_id: int, body: bytes, content_type: str
) -> None:
    marker = f"bad-{uuid.uuid4().hex[:12]}"
    status, answered_type, answer = _raw(
        web, "POST", b"/api/event", _fill(body, campaign_id, marker), {"Content-Type": content_type}
    )
    _assert_json_error(status, answered_type, answer)
    _assert_nothing_stored_and_healthy(http, db, campaign_id, marker)


@pytest.mark.parametrize("target", [t for _, t in BAD_REQUEST_LINES], ids=[i for i, _ in BAD_REQUEST_LINES])
def test_bad_request_line__4xx_from_the_server_nothing_stored(
    web: str, http: httpx.Client, db: psycopg.Connection, campaign_id: int, target: bytes
) -> None:
    marker = f"bad-{uuid.uuid4().hex[:12]}"
    status, _, _ = _raw(web, "GET", _fill(target, campaign_id, marker))
    assert 400 <= status < 500
    _assert_nothing_stored_and_healthy(http, db, campaign_id, marker)
