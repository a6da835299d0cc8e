"""CSV export of a campaign's events and journeys: filters, every row once, safe cells, streamed in chunks."""
import csv
import io
import json
import time
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.events import store
from tests.web.test_dashboard import new_campaign
from web.dashboard.export import CHUNK_BYTES

Client = TestClient
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
EVENT_COLUMNS = ["id", "created_at", "event_type", "email", "domain", "ip", "user_agent", "is_bot", "visitor_unknown",
                 "payout", "extra_params"]
JOURNEY_COLUMNS = ["email", "domain", "first_seen", "last_seen", "email_clicks", "landing_clicks", "conversions",
                   "bot_events", "unknown_events", "revenue"]
HOSTILE_EMAIL = "=hyperlink(\"http://evil.example\")@x.com"
EVENTS = 3_000


def _ids(db: psycopg.Connection[Any], n: int) -> list[int]:
    return [r[0] for r in db.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (n,))]


@pytest.fixture(scope="module")
def exported_campaign() -> int:
    """3,000 events stored by the worker's own insert: recipients r0000..r0998 each with an email click, a
    landing click and a conversion (odd ones on gmail.com / a.com, even ones on yahoo.com / b.com), r0999 with
    an email and a landing click, and one recipient with hostile strings."""
    from common.db import connect

    cid = new_campaign()
    with connect() as db:
        kinds = ("email_click", "landing_click", "conversion")
        specs = [(kinds[i % 3], f"r{i // 3:04d}@{'gmail' if (i // 3) % 2 else 'yahoo'}.com",
                  "a.com" if (i // 3) % 2 else "b.com") for i in range(EVENTS - 1)]
        specs.append(("email_click", HOSTILE_EMAIL, "+b.com"))
        ids, now = _ids(db, len(specs)), time.time()
        events = [{"id": id_, "cid": cid, "type": kind, "email": email, "domain": domain, "ip": "198.51.100.7",
                   "ua": "@SUM(1+1)" if email == HOSTILE_EMAIL else CHROME, "extra": {"sub": f"-{n}", "n": n},
                   "ts": now - n} for n, (id_, (kind, email, domain)) in enumerate(zip(ids, specs, strict=True))]
        for start in range(0, len(events), 500):
            assert store(db, events[start:start + 500]) == len(events[start:start + 500])
    return cid


def download(client: Client, url: str, **params: str) -> tuple[list[dict[str, str]], int, Any]:
    """The CSV's rows as dicts, how many chunks the body came in, and the response."""
    chunks = []
    with client.stream("GET", url, params=params) as r:
        assert r.status_code == 200, r.read()
        chunks = [c for c in r.iter_text() if c]
    text = "".join(chunks)
    return list(csv.DictReader(io.StringIO(text))), len(chunks), r


def test_events_csv__every_event_once_in_chunks(dashboard_client: Client, exported_campaign: int,
                                                db: psycopg.Connection) -> None:
    cid = exported_campaign
    rows, chunks, r = download(dashboard_client, f"/campaign/{cid}/export/events.csv")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="campaign-{cid}-events.csv"'
    assert r.headers["Cache-Control"] == "no-store" and "content-length" not in r.headers
    assert chunks > 1  # streamed as Postgres writes it, not built whole
    assert list(rows[0]) == EVENT_COLUMNS
    stored = {row[0]: row[1:] for row in db.execute(
        "SELECT id, event_type, email, domain, extra_params FROM events WHERE campaign_id = %s", (cid,))}
    assert len(rows) == EVENTS and {int(row["id"]) for row in rows} == set(stored)
    for row in rows:
        event_type, email, domain, extra = stored[int(row["id"])]
        if email != HOSTILE_EMAIL:
            assert (row["event_type"], row["email"], row["domain"]) == (event_type, email, domain)
            assert row["user_agent"] == CHROME and row["ip"] == "198.51.100.7" and row["is_bot"] == "false"
        assert json.loads(row["extra_params"]) == extra  # JSON text, the enrichment (_tracker) included
        assert "_tracker" in json.loads(row["extra_params"])


def test_events_csv__formula_cells_are_quoted(dashboard_client: Client, exported_campaign: int) -> None:
    rows, _, _ = download(dashboard_client, f"/campaign/{exported_campaign}/export/events.csv", q="hyperlink")
    assert len(rows) == 1
    row = rows[0]
    assert row["email"] == "'" + HOSTILE_EMAIL and row["domain"] == "'+b.com" and row["user_agent"] == "'@SUM(1+1)"
    assert row["is_bot"] == "true"  # not a browser's user agent


def test_csv__spreadsheet_formulas_stay_text_everything_else_as_stored(dashboard_client: Client,
                                                                      db: psycopg.Connection) -> None:
    cid = new_campaign()
    emails = ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "a=1", "'q", 'say "hi", then\nleave']
    for n, email in enumerate(emails):
        db.execute("INSERT INTO journeys (campaign_id, email, domain, first_seen, last_seen, email_clicks) "
                   "VALUES (%s, %s, '-d.com', '2026-01-15 12:00'::timestamp - %s * interval '1 minute', "
                   "'2026-01-15 12:00', 1)", (cid, email, n))
    rows, _, _ = download(dashboard_client, f"/campaign/{cid}/export/journeys.csv")
    assert [r["email"] for r in rows] == ["'=1+1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "a=1", "'q",
                                          'say "hi", then\nleave']
    assert {r["domain"] for r in rows} == {"'-d.com"}
    assert rows[0]["first_seen"] == "2026-01-15 12:00:00" and rows[0]["email_clicks"] == "1"


def test_csv__large_exports_arrive_in_bounded_chunks(dashboard_client: Client, exported_campaign: int) -> None:
    sizes = []
    with dashboard_client.stream("GET", f"/campaign/{exported_campaign}/export/events.csv") as r:
        sizes = [len(c) for c in r.iter_raw()]
    assert len(sizes) > 2 and max(sizes) < 2 * CHUNK_BYTES


def test_events_csv__full_address_search(dashboard_client: Client, exported_campaign: int,
                                         db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index is asked for the part before the provider (web/dashboard/search.py); the whole address is matched."""
    from web.dashboard import search

    monkeypatch.setattr(search.common_in_emails, "get", lambda session: frozenset({"gma", "mai", "ail", "com", "om "}))
    cid = exported_campaign
    rows, _, _ = download(dashboard_client, f"/campaign/{cid}/export/events.csv", q="R0999@Gmail.com")
    expected = db.execute("SELECT count(*) FROM events WHERE campaign_id = %s AND email = 'r0999@gmail.com'",
                          (cid,)).fetchone()[0]
    assert len(rows) == expected > 0 and {r["email"] for r in rows} == {"r0999@gmail.com"}


def test_events_csv__domain_and_event_filters(dashboard_client: Client, exported_campaign: int) -> None:
    rows, _, _ = download(dashboard_client, f"/campaign/{exported_campaign}/export/events.csv",
                          domain="a.com", event="conversion")
    assert len(rows) == 499 and {(r["domain"], r["event_type"]) for r in rows} == {("a.com", "conversion")}


def test_journeys_csv__the_filtered_table_in_its_order(dashboard_client: Client, exported_campaign: int) -> None:
    cid = exported_campaign
    rows, _, r = download(dashboard_client, f"/campaign/{cid}/export/journeys.csv")
    assert r.headers["content-disposition"] == f'attachment; filename="campaign-{cid}-journeys.csv"'
    assert list(rows[0]) == JOURNEY_COLUMNS and len(rows) == 1_001
    assert [r["first_seen"] for r in rows] == sorted((r["first_seen"] for r in rows), reverse=True)
    counts = {r["email"]: (r["email_clicks"], r["landing_clicks"], r["conversions"], r["bot_events"]) for r in rows}
    assert counts.pop("'" + HOSTILE_EMAIL) == ("1", "0", "0", "1")
    assert counts.pop("r0999@gmail.com") == ("1", "1", "0", "0")
    assert set(counts.values()) == {("1", "1", "1", "0")}

    gmail, _, _ = download(dashboard_client, f"/campaign/{cid}/export/journeys.csv", q="GMAIL", domain="a.com")
    listed = dashboard_client.get(f"/campaign/{cid}/users", params={"q": "GMAIL", "domain": "a.com"},
                                  headers={"HX-Request": "true"})
    assert len(gmail) == listed.context["total"].value > 0
    assert [g["email"] for g in gmail[:50]] == [j.email for j in listed.context["rows"]]
    assert all("gmail" in g["email"] and g["domain"] == "a.com" for g in gmail)


def test_export_links__carry_the_current_filters(dashboard_client: Client, exported_campaign: int) -> None:
    cid = exported_campaign
    r = dashboard_client.get(f"/campaign/{cid}/users", params={"domain": "a.com", "q": "r00"},
                             headers={"HX-Request": "true"})
    assert f'href="/campaign/{cid}/export/journeys.csv?domain=a.com&amp;q=r00" download' in r.text
    assert f'href="/campaign/{cid}/export/events.csv?domain=a.com&amp;q=r00" download' in r.text


def test_export__needs_sign_in_and_a_live_campaign(anonymous_client: Client, exported_campaign: int,
                                                   dashboard_user: tuple[str, str]) -> None:
    r = anonymous_client.get(f"/campaign/{exported_campaign}/export/events.csv")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
