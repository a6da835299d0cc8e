"""Contract tests of /api/v1: every route's answer, against real PostgreSQL (events stored by the worker's own
statement) and Redis (the rate limit), through the app in this process."""
import csv
import io
import json
import time
import uuid
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.events import CHROME, store
from tests.web.api_helpers import bearer, new_token, new_user
from tests.web.test_dashboard import new_campaign

# Per recipient i of 60 (30 on a.com, 30 on b.com): an email click; every 2nd a landing click; every 3rd a
# conversion paying 2.50. Recipient 0 also sends one scanner (bot) email click.
RECIPIENTS = 60


@pytest.fixture(scope="module")
def api(dashboard_app: FastAPI) -> TestClient:
    return TestClient(dashboard_app, follow_redirects=False)


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    """A read and a write token of an editor, and a read token of a viewer."""
    editor, _ = new_user("editor")
    viewer, _ = new_user("viewer")
    return {"read": new_token(editor, "read"), "write": new_token(editor, "write"), "viewer": new_token(viewer, "read")}


@pytest.fixture(scope="module")
def tracked() -> dict[str, Any]:
    """A campaign with events, its name unique to this module."""
    from common.db import connect

    name = f"API {uuid.uuid4().hex[:8]}"
    cid = new_campaign(name)
    now = time.time()
    events: list[dict[str, Any]] = []
    with connect() as db:
        for i in range(RECIPIENTS):
            email, domain = f"r{i:03d}@mail.example", "a.com" if i % 2 else "b.com"
            kinds = ["email_click"] + ["landing_click"] * (i % 2 == 0) + ["conversion"] * (i % 3 == 0)
            for k, kind in enumerate(kinds):
                events.append({"cid": cid, "type": kind, "email": email, "domain": domain, "ua": CHROME,
                               "ip": "198.51.100.7", "ts": now - 3600 + i * 10 + k,
                               **({"payout": "2.50"} if kind == "conversion" else {})})
        events.append({"cid": cid, "type": "email_click", "email": "r000@mail.example", "domain": "b.com",
                       "ua": "Mozilla/5.0 (compatible; Barracuda Sentinel)", "ts": now - 3000})
        ids = [r[0] for r in db.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (len(events),))]
        for event, id_ in zip(events, ids, strict=True):
            event["id"] = id_
        assert store(db, events) == len(events)
    return {"id": cid, "name": name, "events": len(events)}


def test_no_token__401_json(api: TestClient, tracked: dict[str, Any]) -> None:
    for headers in ({}, bearer("ctk_wrong"), {"Authorization": "Basic eDp5"}, bearer("")):
        r = api.get(f"/api/v1/campaigns/{tracked['id']}", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == "Bearer"
        assert "token" in r.json()["detail"]


def test_campaigns_list__home_table_columns_sorted_and_searched(api: TestClient, tokens: dict[str, str],
                                                                tracked: dict[str, Any]) -> None:
    other = new_campaign(f"{tracked['name']} twin")
    r = api.get("/api/v1/campaigns", params={"q": tracked["name"], "sort": "clicks"}, headers=bearer(tokens["read"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["id"] for c in body["campaigns"]] == [tracked["id"], other]
    row = body["campaigns"][0]
    conversions = len(range(0, RECIPIENTS, 3))
    assert (row["clicks"], row["conversions"]) == (RECIPIENTS, conversions)  # the bot's click is not counted
    assert row["revenue"] == f"{conversions * 2.5:.6f}"
    assert body["matches"] == 2 and body["pages"] == 1
    assert body["totals"][0]["campaigns"] == 2
    everything = api.get("/api/v1/campaigns", params={"q": tracked["name"], "sort": "clicks", "counts": "all"},
                         headers=bearer(tokens["read"])).json()
    assert everything["campaigns"][0]["clicks"] == RECIPIENTS + 1
    ascending = api.get("/api/v1/campaigns", params={"q": tracked["name"], "sort": "clicks", "dir": "asc"},
                        headers=bearer(tokens["read"])).json()
    assert [c["id"] for c in ascending["campaigns"]] == [other, tracked["id"]]
    today = api.get("/api/v1/campaigns", params={"q": tracked["name"], "range": "today", "sort": "id"},
                    headers=bearer(tokens["read"]))
    assert today.status_code == 200 and len(today.json()["campaigns"]) == 2


@pytest.mark.parametrize("params", [{"sort": "bogus"}, {"range": "custom"}, {"range": "custom", "from": "2026-02-01",
                                                                             "to": "2026-01-01"},
                                    {"range": "forever"}, {"page": "0"}, {"dir": "up"}, {"page_size": "5000"}])
def test_campaigns_list__bad_parameters_422(api: TestClient, tokens: dict[str, str], params: dict[str, str]) -> None:
    r = api.get("/api/v1/campaigns", params=params, headers=bearer(tokens["read"]))
    assert r.status_code == 422, (params, r.text)
    assert isinstance(r.json()["detail"], list)


def test_campaign_get__and_404(api: TestClient, tokens: dict[str, str], tracked: dict[str, Any]) -> None:
    r = api.get(f"/api/v1/campaigns/{tracked['id']}", headers=bearer(tokens["read"]))
    assert r.status_code == 200
    assert r.json()["name"] == tracked["name"] and r.json()["created_at"].endswith("Z")
    assert r.json()["archived"] is False and r.json()["currency"] == "USD"
    for missing in (0, 2**31, 2**63, 999_999_999):
        r = api.get(f"/api/v1/campaigns/{missing}", headers={**bearer(tokens["read"]), "Accept": "text/html"})
        assert r.status_code == 404 and r.json() == {"detail": f"No campaign {missing}"}
    assert api.get("/api/v1/campaigns/x", headers=bearer(tokens["read"])).status_code == 422


def test_campaign_create_update_archive(api: TestClient, tokens: dict[str, str], db: psycopg.Connection) -> None:
    write = bearer(tokens["write"])
    r = api.post("/api/v1/campaigns", json={"name": "Made by API", "offer_url": "https://o.example/?e={email}",
                                            "currency": "EUR", "cost_total": "250", "cost_per_click": 0.05},
                 headers=write)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["currency"], made["cost_total"], made["cost_per_click"]) == ("EUR", "250.000000", "0.050000")
    cid = made["id"]
    r = api.patch(f"/api/v1/campaigns/{cid}", json={"name": "Renamed", "cost_per_click": None}, headers=write)
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["offer_url"], r.json()["cost_total"], r.json()["cost_per_click"]) == (
        "Renamed", "https://o.example/?e={email}", "250.000000", None)
    r = api.post(f"/api/v1/campaigns/{cid}/archive", headers=write)
    assert r.status_code == 200 and r.json()["archived"] is True and r.json()["archived_at"].endswith("Z")
    listed = api.get("/api/v1/campaigns", params={"archived": "true", "q": "Renamed", "page_size": 1000},
                     headers=write).json()
    assert cid in [c["id"] for c in listed["campaigns"]]
    r = api.post(f"/api/v1/campaigns/{cid}/unarchive", headers=write)
    assert r.status_code == 200 and r.json()["archived"] is False
    assert db.execute("SELECT name, archived_at FROM campaigns WHERE id = %s", (cid,)).fetchone() == ("Renamed", None)


@pytest.mark.parametrize("body", [{"name": "", "offer_url": "https://o.example/"},
                                  {"name": "x", "offer_url": "javascript:alert(1)"},
                                  {"name": "x", "offer_url": "https://o.example/", "currency": "XXQ"},
                                  {"name": "x", "offer_url": "https://o.example/", "cost_total": "-1"},
                                  {"name": "x", "offer_url": "https://o.example/", "cost_total": "NaN"},
                                  {"name": "x", "offer_url": "https://o.example/", "unknown": 1},
                                  {"name": "x"}, []])
def test_campaign_create__bad_body_422_and_nothing_stored(api: TestClient, tokens: dict[str, str],
                                                          db: psycopg.Connection, body: Any) -> None:
    before = db.execute("SELECT count(*) FROM campaigns").fetchone()
    r = api.post("/api/v1/campaigns", json=body, headers=bearer(tokens["write"]))
    assert r.status_code == 422, (body, r.text)
    assert db.execute("SELECT count(*) FROM campaigns").fetchone() == before


def test_campaign_update__bad_body_422_and_unchanged(api: TestClient, tokens: dict[str, str],
                                                     tracked: dict[str, Any]) -> None:
    for body in ({"offer_url": "ftp://x"}, {"name": " "}, {"cost_total": "abc"}):
        r = api.patch(f"/api/v1/campaigns/{tracked['id']}", json=body, headers=bearer(tokens["write"]))
        assert r.status_code == 422, (body, r.text)
    assert api.get(f"/api/v1/campaigns/{tracked['id']}", headers=bearer(tokens["read"])).json()["name"] == tracked["name"]


def test_write_routes__read_token_and_viewer_403(api: TestClient, tokens: dict[str, str], tracked: dict[str, Any],
                                                 db: psycopg.Connection) -> None:
    before = db.execute("SELECT count(*), max(archived_at) FROM campaigns").fetchone()
    for token in (tokens["read"], tokens["viewer"]):
        calls = [api.post("/api/v1/campaigns", json={"name": "No", "offer_url": "https://o.example/"},
                          headers=bearer(token)),
                 api.patch(f"/api/v1/campaigns/{tracked['id']}", json={"name": "No"}, headers=bearer(token)),
                 api.post(f"/api/v1/campaigns/{tracked['id']}/archive", headers=bearer(token))]
        assert [r.status_code for r in calls] == [403, 403, 403]
    assert db.execute("SELECT count(*), max(archived_at) FROM campaigns").fetchone() == before


def test_stats__overall_domains_timeline(api: TestClient, tokens: dict[str, str], tracked: dict[str, Any]) -> None:
    read = bearer(tokens["read"])
    cid = tracked["id"]
    conversions = len(range(0, RECIPIENTS, 3))
    r = api.get(f"/api/v1/campaigns/{cid}/stats", headers=read)
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["types"]["email_clicks"]["events"] == RECIPIENTS
    assert stats["types"]["landing_clicks"]["events"] == RECIPIENTS // 2
    assert stats["types"]["conversions"]["events"] == conversions
    assert stats["users"] == RECIPIENTS and stats["counts"] == "human"
    assert stats["revenue"] == f"{conversions * 2.5:.6f}" and stats["range"] == {"key": "all", "start": None,
                                                                                   "end": None}
    every = api.get(f"/api/v1/campaigns/{cid}/stats", params={"counts": "all", "range": "7d"}, headers=read).json()
    assert every["types"]["email_clicks"] == {"events": RECIPIENTS + 1, "bots": 1, "unknown": 0, "users": RECIPIENTS}
    assert every["range"]["key"] == "7d" and every["range"]["start"].endswith("Z")

    domains = api.get(f"/api/v1/campaigns/{cid}/stats/domains", headers=read).json()["domains"]
    assert {d["domain"]: d["types"]["email_clicks"]["events"] for d in domains} == {"a.com": 30, "b.com": 30}
    assert sum(d["users"] for d in domains) == RECIPIENTS

    timeline = api.get(f"/api/v1/campaigns/{cid}/stats/timeline", params={"range": "today", "counts": "all"},
                       headers=read).json()
    assert timeline["bucket"] == "hour" and timeline["zone"] == "UTC"
    assert sum(p["events"]["email_clicks"] for p in timeline["points"]) in (0, RECIPIENTS + 1)  # unless past midnight
    whole = api.get(f"/api/v1/campaigns/{cid}/stats/timeline", headers=read).json()
    assert sum(p["events"]["email_clicks"] for p in whole["points"]) == RECIPIENTS
    assert sum(float(p["revenue"]) for p in whole["points"]) == conversions * 2.5


def test_stats_report__by_dimension(api: TestClient, tokens: dict[str, str], tracked: dict[str, Any],
                                   db: psycopg.Connection) -> None:
    from common.config import get_settings
    from common.reports import fold

    settings = get_settings()
    fold(db, timezone=settings.dashboard_timezone, max_values=settings.report_max_values)
    read, url = bearer(tokens["read"]), f"/api/v1/campaigns/{tracked['id']}/stats/reports"
    r = api.get(f"{url}/domain", headers=read)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["dimension"], body["label"], body["sort"], body["dir"]) == ("domain", "Sending domain",
                                                                              "email_clicks", "desc")
    assert {row["value"]: row["types"]["email_clicks"]["events"] for row in body["rows"]} == {"a.com": 30, "b.com": 30}
    assert body["totals"]["conversions"]["events"] == len(range(0, RECIPIENTS, 3))
    hours = api.get(f"{url}/hour", params={"sort": "value", "counts": "all", "top": 1}, headers=read).json()
    assert hours["dir"] == "asc" and len(hours["rows"]) <= 2  # the top row, then "(other)"
    assert sum(row["types"]["email_clicks"]["events"] for row in hours["rows"]) == RECIPIENTS + 1
    for bad in ("/planet", "/domain?sort=nope", "/domain?top=0", "/domain?dir=sideways"):
        assert api.get(url + bad, headers=read).status_code == 422, bad


def test_stats_report__by_a_pair_the_campaign_reports_on(api: TestClient, tokens: dict[str, str],
                                                         tracked: dict[str, Any], db: psycopg.Connection) -> None:
    from common.config import get_settings
    from common.report_slots import add_pair
    from common.reports import backfill_step, fold

    settings = get_settings()
    options = {"timezone": settings.dashboard_timezone, "max_values": settings.report_max_values}
    read, url = bearer(tokens["read"]), f"/api/v1/campaigns/{tracked['id']}/stats/reports/domain"
    missing = api.get(url, params={"then": "weekday"}, headers=read)
    assert missing.status_code == 404 and "Reports tab" in missing.json()["detail"]
    add_pair(db, tracked["id"], "domain", "weekday")
    while backfill_step(db, **options):
        pass
    fold(db, **options)
    body = api.get(url, params={"then": "weekday", "sort": "then", "counts": "all"}, headers=read).json()
    assert (body["dimension"], body["then"], body["label"]) == ("domain", "weekday", "Sending domain then Weekday")
    assert {row["value"] for row in body["rows"]} == {"a.com", "b.com"}
    assert all(row["then_label"] in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
               for row in body["rows"])
    assert sum(row["types"]["email_clicks"]["events"] for row in body["rows"]) == RECIPIENTS + 1
    assert api.get(url, params={"then": "planet"}, headers=read).status_code == 422
    single = api.get(url, params={"then": "domain"}, headers=read).json()  # the same dimension: no pair
    assert single["then"] is None and single["rows"][0]["then_value"] is None


def test_journeys__cursor_pages_every_recipient_once(api: TestClient, tokens: dict[str, str],
                                                     tracked: dict[str, Any]) -> None:
    read, url = bearer(tokens["read"]), f"/api/v1/campaigns/{tracked['id']}/journeys"
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 7}
    while True:
        page = api.get(url, params=params, headers=read).json()
        seen += [j["email"] for j in page["journeys"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen)) == RECIPIENTS
    assert seen[0] == f"r{RECIPIENTS - 1:03d}@mail.example"  # newest first
    converted = api.get(url, params={"event": "conversion", "domain": "b.com", "limit": 1000}, headers=read).json()
    assert {j["email"] for j in converted["journeys"]} == {f"r{i:03d}@mail.example" for i in range(0, RECIPIENTS, 6)}
    assert converted["journeys"][0]["counts"]["conversions"] == 1
    found = api.get(url, params={"q": "R01"}, headers=read).json()["journeys"]
    assert sorted(j["email"] for j in found) == [f"r{i:03d}@mail.example" for i in range(10, 20)]
    for bad in ({"cursor": "not-ours"}, {"event": "purchase"}, {"limit": 0}, {"limit": 5000}):
        assert api.get(url, params=bad, headers=read).status_code == 422, bad


def test_events__ndjson_and_csv_every_event_once(api: TestClient, tokens: dict[str, str],
                                                 tracked: dict[str, Any]) -> None:
    read, url = bearer(tokens["read"]), f"/api/v1/campaigns/{tracked['id']}/events"
    r = api.get(url, headers=read)
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert len(rows) == len({e["id"] for e in rows}) == tracked["events"]
    bot = [e for e in rows if e["is_bot"]]
    assert len(bot) == 1 and bot[0]["email"] == "r000@mail.example" and bot[0]["created_at"].endswith("Z")
    assert {e["payout"] for e in rows if e["event_type"] == "conversion"} == {2.5}
    assert isinstance(rows[0]["extra_params"], dict | None)

    r = api.get(url, params={"format": "csv", "event": "conversion", "domain": "a.com"}, headers=read)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert len(table) == len([i for i in range(RECIPIENTS) if i % 3 == 0 and i % 2])
    assert {row["event_type"] for row in table} == {"conversion"}
    tomorrow = api.get(url, params={"range": "custom", "from": "2099-01-01", "to": "2099-01-02"}, headers=read)
    assert tomorrow.status_code == 200 and tomorrow.text == ""
    assert api.get(url, params={"format": "xml"}, headers=read).status_code == 422


def test_openapi__every_v1_route_documented_with_examples(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    v1 = {path: ops for path, ops in schema["paths"].items() if path.startswith("/api/v1")}
    assert len(v1) >= 8
    assert "token" in schema["components"]["securitySchemes"]
    for path, ops in v1.items():
        for method, op in ops.items():
            assert {"401", "403", "429"} <= set(op["responses"]), (method, path)
            assert op.get("security"), (method, path)
