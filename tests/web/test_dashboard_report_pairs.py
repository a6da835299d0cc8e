"""The Reports tab's pairs (`?by=utm_source&then=device`): chosen on the page by an editor (never by a viewer),
filled in the background, then both values per row, "(none)" for either, the modes, the range, the visitor-unknown
class, sorting by every column, the cap, the CSV, and each row's drill-down into the journeys of both values.
Every case checks the recount (tests/checks.py counts pairs too)."""
import csv
import io
import re
from datetime import UTC
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from common.config import get_settings
from common.db import get_session
from common.report_dimensions import BY_NAME, pair_dimension
from common.report_slots import add_pair
from common.reports import backfill_step
from tests.checks import assert_reports_match_recount
from tests.conftest import sign_in
from tests.events import store
from tests.web import test_dashboard_reports as single
from tests.web.api_helpers import new_user
from tests.web.test_dashboard import HX, csrf_of, new_campaign
from tests.web.test_dashboard_reports import CONV, EMAIL, LANDING, REVENUE, _event, _fold
from web.dashboard.period import Period
from web.dashboard.report import build_report

Client = TestClient
BOTS = 9
report_campaign = single.report_campaign  # the single reports' campaign (a fixture), paired below


def _add(client: Client, cid: int, by: str, then: str) -> Any:
    return client.post(f"/campaign/{cid}/reports/pairs", data={"by": by, "then": then, "csrf_token": csrf_of(client)},
                       follow_redirects=False)


def _fill(db: psycopg.Connection[Any]) -> None:
    """Run the background backfill until every slot is filled."""
    settings = get_settings()
    while backfill_step(db, timezone=settings.dashboard_timezone, max_values=settings.report_max_values):
        pass


def _pairs(html: str) -> dict[tuple[str, str], list[str]]:
    """The pair report's rows: (first label, second label) -> the row's other cells (text), in order."""
    rows = {}
    for body in re.findall(r"<tr(?: class=\"other\")?>\s*<td class=\"value\">(.*?)</tr>", html, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", "<td>" + body, re.S)]
        rows[(cells[0], cells[1])] = cells[2:]
    return rows


def _report(client: Client, cid: int, **params: str) -> dict[tuple[str, str], list[str]]:
    response = client.get(f"/campaign/{cid}/reports", params=params)
    assert response.status_code == 200
    return _pairs(response.text)


@pytest.fixture
def paired(dashboard_client: Client, report_campaign: int, db: psycopg.Connection[Any]) -> int:
    """report_campaign, reporting on utm_source then device, and browser then utm_medium, filled."""
    for by, then in (("utm_source", "device"), ("browser", "utm_medium")):
        response = _add(dashboard_client, report_campaign, by, then)
        assert response.status_code == 303
        assert response.headers["location"] == f"/campaign/{report_campaign}/reports?by={by}&then={then}"
    _fill(db)
    assert_reports_match_recount(db, report_campaign)
    return report_campaign


def test_pair__both_values_per_row_in_both_modes_and_a_range(dashboard_client: Client, paired: int) -> None:
    everything = _report(dashboard_client, paired, by="utm_source", then="device", counts="all")
    assert set(everything) == {("news", "mobile"), ("ads", "desktop"), ("ads", "other"), ("(none)", "other")}
    news = everything[("news", "mobile")]
    assert news[EMAIL] == "2" and news[CONV] == "1" and news[REVENUE] == "$20.00"
    assert everything[("ads", "desktop")][EMAIL] == "2" and everything[("ads", "other")][BOTS] == "100.0%"
    assert everything[("(none)", "other")][LANDING] == "1"
    humans = _report(dashboard_client, paired, by="utm_source", then="device")
    assert humans[("ads", "other")][EMAIL] == "0"
    week = _report(dashboard_client, paired, by="utm_source", then="device", counts="all", range="7d")
    assert week[("ads", "desktop")][EMAIL] == "1"  # old@x.com's click was 40 days ago


def test_pair__none_for_either_value_and_visitor_unknown(dashboard_client: Client, paired: int) -> None:
    html = dashboard_client.get(f"/campaign/{paired}/reports", params={"by": "browser", "then": "utm_medium"}).text
    rows = _pairs(html)
    assert rows[("(none)", "(none)")][LANDING] == "1"  # the server-side call: no browser, no utm_medium
    assert all(then == "(none)" for _, then in rows)
    assert 'id="report-visitor-unknown"' in html


def test_pair__sorted_by_every_column(dashboard_client: Client, paired: int) -> None:
    pair = {"by": "utm_source", "then": "device", "counts": "all"}
    assert list(_report(dashboard_client, paired, **pair, sort="value", dir="asc")) == [
        ("(none)", "other"), ("ads", "desktop"), ("ads", "other"), ("news", "mobile")]
    assert list(_report(dashboard_client, paired, **pair, sort="then", dir="asc")) == [
        ("ads", "desktop"), ("news", "mobile"), ("(none)", "other"), ("ads", "other")]
    assert list(_report(dashboard_client, paired, **pair, sort="then", dir="desc"))[:2] == [
        ("ads", "other"), ("(none)", "other")]
    assert next(iter(_report(dashboard_client, paired, **pair, sort="conversions"))) == ("news", "mobile")
    html = dashboard_client.get(f"/campaign/{paired}/reports", params={**pair, "sort": "bots"}, headers=HX).text
    assert next(iter(_pairs(html))) == ("ads", "other")
    assert 'data-sort="then"' in html and "then=device" in html


def test_pair__csv_has_two_value_columns(dashboard_client: Client, paired: int) -> None:
    response = dashboard_client.get(f"/campaign/{paired}/reports.csv",
                                    params={"by": "utm_source", "then": "device", "counts": "all", "sort": "value"})
    assert response.status_code == 200
    assert f'campaign-{paired}-report-utm_source-then-device.csv' in response.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0][:3] == ["utm_source", "Device", "Email clicks"]
    assert [line[:3] for line in lines[1:]] == [["(none)", "other", "0"], ["ads", "desktop", "2"],
                                                ["ads", "other", "1"], ["news", "mobile", "2"]]


def test_pair__a_row_opens_the_journeys_of_both_values(dashboard_client: Client, paired: int) -> None:
    html = dashboard_client.get(f"/campaign/{paired}/reports", params={"by": "utm_source", "then": "device"}).text
    link = re.search(r'href="([^"]*by=utm_source&amp;value=ads&amp;then=device&amp;then_value=desktop[^"]*)"', html)
    assert link is not None
    page = dashboard_client.get(link.group(1).replace("&amp;", "&").split("#")[0]).text
    assert "utm_source: ads · Device: desktop" in page
    assert 'name="then_value" value="desktop"' in page  # the filter form keeps both
    assert "d@x.com" in page and "old@x.com" in page and "bot@x.com" not in page and "p@x.com" not in page
    users = dashboard_client.get(f"/campaign/{paired}/users", params={
        "by": "utm_source", "value": "", "then": "device", "then_value": "other"}, headers=HX).text
    assert "p@x.com" in users and "d@x.com" not in users  # both (none) and other: the landing click
    export = dashboard_client.get(f"/campaign/{paired}/export/events.csv", params={
        "by": "utm_source", "value": "news", "then": "device", "then_value": "mobile"}).text
    assert export.count("p@x.com") == 3 and "d@x.com" not in export


def test_pair__top_rows_then_other_and_the_cap(dashboard_client: Client, db: psycopg.Connection[Any]) -> None:
    cid = new_campaign()
    assert _add(dashboard_client, cid, "utm_term", "param:sub1").status_code == 303
    assert _add(dashboard_client, cid, "param:sub1", "domain").status_code == 303  # a key not chosen alone
    _fill(db)
    store(db, [_event(db, cid, "email_click", f"u{i}@x.com", extra={"utm_term": f"t{i:03d}", "sub1": "s"})
               for i in range(103)])
    _fold(db)
    rows = _report(dashboard_client, cid, by="utm_term", then="param:sub1", sort="value", dir="asc")
    assert len(rows) == 101 and list(rows)[-1] == ("(other)", "") and rows[("(other)", "")][EMAIL] == "3"
    assert rows[("t000", "s")][EMAIL] == "1"
    store(db, [_event(db, cid, "email_click", f"v{i}@x.com", extra={"sub1": f"x{i}"}) for i in range(5)])
    _fold(db, max_values=2)  # the day is past the cap: the new pairs are counted in "(other)"
    rows = _report(dashboard_client, cid, by="param:sub1", then="domain")
    # The day had one pair: one more gets a row (the cap is 2), the other four are counted in "(other)".
    assert len(rows) == 3 and rows[("(other)", "")][EMAIL] == "4" and rows[("s", "a.com")][EMAIL] == "103"
    assert_reports_match_recount(db, cid)


def test_pair__not_reported_on_is_offered_not_computed(dashboard_app: FastAPI, dashboard_client: Client,
                                                       db: psycopg.Connection[Any]) -> None:
    cid = new_campaign()
    store(db, [_event(db, cid, "email_click", "a@x.com")])
    _fold(db)
    html = dashboard_client.get(f"/campaign/{cid}/reports", params={"by": "country", "then": "device"}).text
    assert 'id="report-pair-missing"' in html and 'id="pair-form"' in html and 'id="report-table"' not in html
    assert dashboard_client.get(f"/campaign/{cid}/reports.csv", params={"by": "country", "then": "device"}
                                ).status_code == 404
    viewer = TestClient(dashboard_app, follow_redirects=False)
    assert sign_in(viewer, *new_user("viewer")).status_code == 303
    seen = viewer.get(f"/campaign/{cid}/reports", params={"by": "country", "then": "device"}).text
    assert 'id="report-pair-missing"' in seen and 'id="pair-form"' not in seen and "Ask an editor" in seen
    token = re.search(r'name="csrf_token" value="([^"]+)"', viewer.get("/settings").text)
    assert token is not None
    assert viewer.post(f"/campaign/{cid}/reports/pairs", data={"by": "country", "then": "device",
                                                                "csrf_token": token[1]}).status_code == 403
    assert _add(dashboard_client, cid, "country", "device").status_code == 303
    html = dashboard_client.get(f"/campaign/{cid}/reports", params={"by": "country", "then": "device"}).text
    assert 'id="report-filling"' in html and "(filling, 0%)" in html and 'id="report-pairs"' in html
    _fill(db)
    html = dashboard_client.get(f"/campaign/{cid}/reports", params={"by": "country", "then": "device"}).text
    assert 'id="report-filling"' not in html and _pairs(html)[("FR", "desktop")][EMAIL] == "1"
    assert_reports_match_recount(db, cid)


@pytest.mark.parametrize(("by", "then", "reason"), [("country", "country", "two different"),
                                                     ("country", "nonsense", "no dimension"),
                                                     ("param:_tracker", "device", "tracker's own")])
def test_pair__bad_choices_come_back_with_the_reason(dashboard_client: Client, by: str, then: str,
                                                     reason: str) -> None:
    cid = new_campaign()
    response = _add(dashboard_client, cid, by, then)
    assert response.status_code == 422 and reason in response.text.replace("&#39;", "'")


def test_pair__then_unknown_or_the_same_is_the_single_report(dashboard_client: Client, report_campaign: int) -> None:
    for then in ("nonsense", "device", ""):
        html = dashboard_client.get(f"/campaign/{report_campaign}/reports", params={"by": "device", "then": then}).text
        assert 'id="report-table"' in html and 'data-sort="then"' not in html
    # Any parameter may be paired, reported on alone or not: offered like any pair.
    html = dashboard_client.get(f"/campaign/{report_campaign}/reports", params={"by": "device", "then": "param:k"}).text
    assert 'id="report-pair-missing"' in html and '<option value="param:k" selected>k</option>' in html


def test_pair__values_escaped_in_page_and_csv(dashboard_client: Client, db: psycopg.Connection[Any]) -> None:
    cid = new_campaign()
    assert _add(dashboard_client, cid, "utm_source", "param:sub1").status_code == 303
    _fill(db)
    store(db, [_event(db, cid, "email_click", "x@x.com", extra={"utm_source": "<b>s</b>", "sub1": "<script>x</script>"}),
               _event(db, cid, "email_click", "y@x.com", extra={"utm_source": "ok", "sub1": "=HYPERLINK(\"http://e\")"})])
    _fold(db)
    pair = {"by": "utm_source", "then": "param:sub1"}
    html = dashboard_client.get(f"/campaign/{cid}/reports", params=pair).text
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html and "&lt;b&gt;s&lt;/b&gt;" in html
    lines = list(csv.reader(io.StringIO(dashboard_client.get(f"/campaign/{cid}/reports.csv", params=pair).text)))
    assert ["ok", "'=HYPERLINK(\"http://e\")"] in [line[:2] for line in lines]


def test_pair__totals_its_filled_days_while_filling_then_the_campaigns(report_campaign: int,
                                                                        db: psycopg.Connection[Any]) -> None:
    """A filled pair's totals are read off the weekday's few rows (web/dashboard/report.py): they must be its own."""
    add_pair(db, report_campaign, "utm_source", "device")
    pair = pair_dimension(BY_NAME["utm_source"], BY_NAME["device"])

    def totals(dim: Any, *, filled: bool) -> Any:
        with get_session() as session:
            return build_report(session=session, campaign_id=report_campaign, dim=dim, period=Period(), tz=UTC,
                                all_counts=True, sort="email_clicks", descending=True, filled=filled).totals

    settings = get_settings()
    assert backfill_step(db, timezone=settings.dashboard_timezone, max_values=settings.report_max_values)
    assert totals(pair, filled=False).entry.events == 1  # the oldest day alone: old@x.com's click, 40 days ago
    _fill(db)
    campaign = totals(BY_NAME["utm_source"], filled=False)
    assert campaign.entry.events == 5
    assert totals(pair, filled=False) == campaign == totals(pair, filled=True)
