"""The Reports tab: each dimension, the modes (humans / all traffic), the date range, the visitor-unknown class,
sorting, the top rows and "(other)", the cap, the CSV, escaping and bad input. Events go in through the real
insert statement and are folded into report_stats by the real fold; every case checks the recount."""
import csv
import io
import re
import time
from datetime import UTC
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.event import listen

from common.config import get_settings
from common.db import get_session
from common.report_dimensions import DIMENSIONS, Dimension, param_dimension
from common.report_slots import add_slot
from common.reports import backfill_step, fold
from tests.checks import assert_reports_match_recount
from tests.events import CHROME, store
from tests.web.test_dashboard import HX, csrf_of, new_campaign
from web.dashboard import drill_down
from web.dashboard.drill_down import ReportValue, break_even
from web.dashboard.period import ALL_TIME
from web.dashboard.queries import JourneyFilters, count_journeys, list_journeys
from web.dashboard.report import Report, build_report

Client = TestClient
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")
SCANNER = "Mozilla/5.0 (compatible; SafeLinks)"
DAY = 86_400.0


def _fold(db: psycopg.Connection[Any], max_values: int | None = None) -> None:
    settings = get_settings()
    fold(db, timezone=settings.dashboard_timezone, max_values=max_values or settings.report_max_values)


def _event(db: psycopg.Connection[Any], cid: int, event_type: str, email: str, *, ago: float = 0.0,
           ua: str | None = CHROME, ip: str | None = "90.0.0.1", extra: dict[str, Any] | None = None,
           payout: str | None = None, domain: str = "a.com", **flags: bool) -> dict[str, Any]:
    (event_id,) = db.execute("SELECT nextval('events_id_seq')").fetchone()
    return {"id": event_id, "cid": cid, "type": event_type, "email": email, "domain": domain, "ip": ip, "ua": ua,
            "extra": extra or {}, "ts": time.time() - ago, **({"payout": payout} if payout else {}), **flags}


@pytest.fixture
def report_campaign(db: psycopg.Connection[Any]) -> int:
    """Email clicks from a phone (utm news, converting for 20.00) and a desktop (utm ads), a scanner's click,
    a click 40 days ago, and a server-side call that forwarded nothing about its visitor."""
    cid = new_campaign()
    news, ads = {"utm_source": "news"}, {"utm_source": "ads"}
    store(db, [_event(db, cid, "email_click", "p@x.com", ua=IPHONE, extra=news),
               _event(db, cid, "email_click", "p@x.com", ua=IPHONE, extra=news),
               _event(db, cid, "conversion", "p@x.com", ua=IPHONE, extra=news, payout="20.00"),
               _event(db, cid, "email_click", "d@x.com", extra=ads, domain="b.com"),
               _event(db, cid, "email_click", "bot@x.com", ua=SCANNER, extra=ads),
               _event(db, cid, "email_click", "old@x.com", ago=40 * DAY, extra=ads),
               _event(db, cid, "landing_click", "p@x.com", ua="python-requests/2.31", ip="127.0.0.1",
                      caller_ip=True, caller_ua=True)])
    _fold(db)
    assert_reports_match_recount(db, cid)
    return cid


def _table(html: str) -> dict[str, list[str]]:
    """The report's rows: value label -> the row's cells (text)."""
    rows = {}
    for body in re.findall(r"<tr(?: class=\"other\")?>\s*<td class=\"value\">(.*?)</tr>", html, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", "<td>" + body, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


def _report(client: Client, cid: int, **params: str) -> dict[str, list[str]]:
    response = client.get(f"/campaign/{cid}/reports", params=params)
    assert response.status_code == 200
    return _table(response.text)


# Cells after the value: per type (email clicks, landing clicks, conversions) events then recipients; then the
# rate, revenue, EPC and bot share.
EMAIL, EMAIL_USERS, LANDING, CONV, RATE, REVENUE, EPC, BOTS = 0, 1, 2, 4, 6, 7, 8, 9


def test_reports__every_dimension_adds_up_to_the_campaign(dashboard_client: Client, report_campaign: int) -> None:
    for dim in DIMENSIONS:
        rows = _report(dashboard_client, report_campaign, by=dim.name, counts="all")
        assert sum(int(cells[EMAIL]) for cells in rows.values()) == 5, dim.name
        assert sum(int(cells[EMAIL_USERS]) for cells in rows.values()) == 4, dim.name
        assert sum(int(cells[LANDING]) for cells in rows.values()) == 1, dim.name


def test_reports__values_per_dimension(dashboard_client: Client, report_campaign: int) -> None:
    device = _report(dashboard_client, report_campaign, by="device", counts="all")
    assert device["mobile"][:2] == ["2", "1"] and device["mobile"][CONV] == "1"
    assert device["mobile"][REVENUE] == "$20.00" and device["mobile"][EPC] == "$10.00"
    assert device["mobile"][RATE] == "50.0%"
    assert device["desktop"][:2] == ["2", "2"]
    # The scanner (its user agent is no device) and the unknown visitor's landing click.
    assert device["other"][EMAIL] == "1" and device["other"][LANDING] == "1" and device["other"][BOTS] == "50.0%"
    assert _report(dashboard_client, report_campaign, by="utm_source")["(none)"][LANDING] == "1"
    assert set(_report(dashboard_client, report_campaign, by="domain")) == {"a.com", "b.com"}
    assert "FR" in _report(dashboard_client, report_campaign, by="country")
    assert "Orange" in _report(dashboard_client, report_campaign, by="network")
    weekday = time.strftime("%A", time.localtime(time.time())) if get_settings().dashboard_timezone != "UTC" else \
        time.strftime("%A", time.gmtime())
    assert weekday in _report(dashboard_client, report_campaign, by="weekday")
    assert f"{time.gmtime().tm_hour:02d}:00" in _report(dashboard_client, report_campaign, by="hour")


def test_reports__humans_leave_bots_out_and_range_leaves_old_days_out(dashboard_client: Client,
                                                                       report_campaign: int) -> None:
    humans = _report(dashboard_client, report_campaign, by="utm_source")
    everything = _report(dashboard_client, report_campaign, by="utm_source", counts="all")
    assert (humans["ads"][EMAIL], everything["ads"][EMAIL]) == ("2", "3")
    assert humans["ads"][BOTS] == everything["ads"][BOTS] == "33.3%"
    week = _report(dashboard_client, report_campaign, by="utm_source", counts="all", range="7d")
    assert week["ads"][EMAIL] == "2"
    assert week["news"][EMAIL] == "2"


def test_reports__visitor_unknown_shown_apart(dashboard_client: Client, report_campaign: int) -> None:
    html = dashboard_client.get(f"/campaign/{report_campaign}/reports", params={"by": "browser"}).text
    assert 'id="report-visitor-unknown"' in html
    assert "1 event: visitor unknown" in html
    assert _table(html)["(none)"][LANDING] == "1"


def test_reports__sorting_by_any_column(dashboard_client: Client, report_campaign: int) -> None:
    by_conversions = list(_report(dashboard_client, report_campaign, by="utm_source", sort="conversions", dir="desc"))
    assert by_conversions[0] == "news"
    by_value = list(_report(dashboard_client, report_campaign, by="utm_source", sort="value", dir="asc"))
    assert by_value == ["(none)", "ads", "news"]
    by_clicks = list(_report(dashboard_client, report_campaign, by="utm_source", sort="email_clicks", dir="asc"))
    assert by_clicks[0] == "(none)"


def test_reports__htmx_gets_the_table_and_the_url(dashboard_client: Client, report_campaign: int) -> None:
    response = dashboard_client.get(f"/campaign/{report_campaign}/reports", params={"by": "os"}, headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="report-table"' in response.text
    assert response.headers["HX-Push-Url"].startswith(f"/campaign/{report_campaign}/reports?by=os")


def test_reports__a_domain_row_opens_its_journeys(dashboard_client: Client, report_campaign: int) -> None:
    html = dashboard_client.get(f"/campaign/{report_campaign}/reports", params={"by": "domain"}).text
    assert f'href="/campaign/{report_campaign}?domain=b.com#journeys"' in html


def test_reports__top_rows_then_other_and_the_cap(dashboard_client: Client, db: psycopg.Connection[Any]) -> None:
    cid = new_campaign()
    store(db, [_event(db, cid, "email_click", f"u{i}@x.com", extra={"utm_term": f"t{i:03d}"}) for i in range(103)])
    _fold(db)
    rows = _report(dashboard_client, cid, by="utm_term", sort="value", dir="asc")
    assert len(rows) == 101 and list(rows)[-1] == "(other)" and rows["(other)"][EMAIL] == "3"
    # Past the cap, a day's new values are counted in "(other)" as they come: "(none)" holds one of the two rows.
    store(db, [_event(db, cid, "email_click", f"v{i}@x.com", extra={"utm_content": f"c{i}"}) for i in range(5)])
    _fold(db, max_values=2)
    rows = _report(dashboard_client, cid, by="utm_content")
    assert len(rows) == 3 and rows["(other)"][EMAIL] == "4" and rows["(none)"][EMAIL] == "103"
    assert_reports_match_recount(db, cid)


def test_reports__csv(dashboard_client: Client, report_campaign: int) -> None:
    response = dashboard_client.get(f"/campaign/{report_campaign}/reports.csv",
                                    params={"by": "utm_source", "counts": "all"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0][:3] == ["utm_source", "Email clicks", "Email click recipients"]
    assert {line[0]: line[1] for line in lines[1:]} == {"ads": "3", "news": "2", "(none)": "0"}


def test_reports__values_escaped_in_page_and_csv(dashboard_client: Client, db: psycopg.Connection[Any]) -> None:
    cid = new_campaign()
    store(db, [_event(db, cid, "email_click", "x@x.com", extra={"utm_source": "<script>alert(1)</script>"}),
               _event(db, cid, "email_click", "y@x.com", extra={"utm_source": "=HYPERLINK(\"http://evil\")"})])
    _fold(db)
    html = dashboard_client.get(f"/campaign/{cid}/reports", params={"by": "utm_source"}).text
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = dashboard_client.get(f"/campaign/{cid}/reports.csv", params={"by": "utm_source"}).text
    assert "'=HYPERLINK" in text


@pytest.mark.parametrize("params", [{"by": "nonsense"}, {"sort": "x' OR 1=1"}, {"dir": "up"}, {"range": "custom"},
                                    {"by": "param:"}])
def test_reports__unknown_parameters_fall_back(dashboard_client: Client, report_campaign: int,
                                               params: dict[str, str]) -> None:
    response = dashboard_client.get(f"/campaign/{report_campaign}/reports", params=params)
    assert response.status_code == 200 and 'id="report-table"' in response.text


def test_reports__too_long_a_parameter_is_a_4xx(dashboard_client: Client, report_campaign: int) -> None:
    response = dashboard_client.get(f"/campaign/{report_campaign}/reports", params={"by": "x" * 500})
    assert response.status_code == 422 and response.headers["content-type"].startswith("application/json")


def test_reports__need_sign_in(anonymous_client: Client) -> None:
    assert anonymous_client.get("/campaign/1/reports", follow_redirects=False).status_code == 303
    assert anonymous_client.get("/campaign/1/reports.csv", follow_redirects=False).status_code == 303


def test_reports__unknown_campaign(dashboard_client: Client) -> None:
    assert dashboard_client.get("/campaign/999999999/reports").status_code == 404
    assert dashboard_client.get("/campaign/999999999/reports.csv").status_code == 404


def test_reports__a_row_opens_the_journeys_with_that_value(dashboard_client: Client, report_campaign: int) -> None:
    html = dashboard_client.get(f"/campaign/{report_campaign}/reports", params={"by": "device"}).text
    link = re.search(r'href="([^"]*by=device&amp;value=mobile[^"]*)"', html)
    assert link is not None
    page = dashboard_client.get(link.group(1).replace("&amp;", "&").split("#")[0]).text
    assert 'id="filter-report"' in page and "Device: mobile" in page
    assert "p@x.com" in page and "d@x.com" not in page and "bot@x.com" not in page
    # The fragment, the export and "(none)" (an empty value) keep to it too.
    users = dashboard_client.get(f"/campaign/{report_campaign}/users", params={"by": "utm_source", "value": ""},
                                 headers=HX).text
    assert "p@x.com" in users and "d@x.com" not in users
    export = dashboard_client.get(f"/campaign/{report_campaign}/export/events.csv",
                                  params={"by": "device", "value": "desktop"}).text
    assert "d@x.com" in export and "p@x.com" not in export
    hour = dashboard_client.get(f"/campaign/{report_campaign}/users",
                                params={"by": "hour", "value": f"{time.gmtime().tm_hour:02d}"}, headers=HX).text
    assert "p@x.com" in hour  # the hour of day in DASHBOARD_TIMEZONE (UTC in the tests)


def test_param_report__chosen_on_the_page_filled_in_the_background(dashboard_client: Client,
                                                                    db: psycopg.Connection[Any]) -> None:
    cid = new_campaign()
    store(db, [_event(db, cid, "email_click", f"u{i}@x.com", ago=(i % 2) * DAY, extra={"sub1": f"pub{i % 3}"})
               for i in range(6)])
    _fold(db)
    token = csrf_of(dashboard_client)
    assert dashboard_client.post(f"/campaign/{cid}/reports/params", data={"key": "sub1"}).status_code == 403
    response = dashboard_client.post(f"/campaign/{cid}/reports/params", data={"key": " sub1 ", "csrf_token": token},
                                     follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/campaign/{cid}/reports?by=param%3Asub1"
    html = dashboard_client.get(response.headers["location"]).text
    assert 'id="report-filling"' in html and "(filling, 0%)" in html
    settings = get_settings()
    while backfill_step(db, timezone=settings.dashboard_timezone, max_values=settings.report_max_values):
        pass
    html = dashboard_client.get(f"/campaign/{cid}/reports", params={"by": "param:sub1"}).text
    assert 'id="report-filling"' not in html
    rows = _table(html)
    assert {k: v[EMAIL] for k, v in rows.items()} == {"pub0": "2", "pub1": "2", "pub2": "2"}
    # Its rows open the journeys of that value.
    users = dashboard_client.get(f"/campaign/{cid}/users", params={"by": "param:sub1", "value": "pub1"},
                                 headers=HX).text
    assert "u1@x.com" in users and "u4@x.com" in users and "u0@x.com" not in users
    assert_reports_match_recount(db, cid)


def test_param_report__bad_keys_and_the_limit(dashboard_client: Client) -> None:
    cid = new_campaign()
    token = csrf_of(dashboard_client)
    for key, reason in (("", "Name the parameter"), ("_tracker", "starting with _"), ("k" * 65, "at most 64")):
        response = dashboard_client.post(f"/campaign/{cid}/reports/params", data={"key": key, "csrf_token": token})
        assert response.status_code == 422 and reason in response.text
    for n in range(5):
        dashboard_client.post(f"/campaign/{cid}/reports/params", data={"key": f"k{n}", "csrf_token": token})
    response = dashboard_client.post(f"/campaign/{cid}/reports/params", data={"key": "k5", "csrf_token": token})
    assert response.status_code == 422 and "at most 5 parameters" in response.text
    # A key not chosen is the default report.
    html = dashboard_client.get(f"/campaign/{cid}/reports", params={"by": "param:nope"}).text
    assert '<option value="domain" selected>' in html


def _drill(client: Client, cid: int, by: str, value: str) -> str:
    return client.get(f"/campaign/{cid}/users", params={"by": by, "value": value}, headers=HX).text


def test_drill_down__rare_and_common_values(dashboard_client: Client, db: psycopg.Connection[Any]) -> None:
    """A rare value's journeys are listed (its 2 of 61), a common one's found testing the newest (60 of 61:
    past drill_down.break_even(61) = 55)."""
    cid = new_campaign()
    store(db, [*(_event(db, cid, "email_click", f"u{i}@x.com", extra={"utm_term": "common"}) for i in range(60)),
               _event(db, cid, "email_click", "rare@x.com", ago=3 * DAY, extra={"utm_term": "rare"}),
               _event(db, cid, "landing_click", "u7@x.com", extra={"utm_term": "rare"})])
    _fold(db)
    assert break_even(61) == 55
    users = _drill(dashboard_client, cid, "utm_term", "rare")
    assert "rare@x.com" in users and "u7@x.com" in users and "u8@x.com" not in users
    assert "Showing 2 of 2 users" in users
    users = _drill(dashboard_client, cid, "utm_term", "common")
    assert "u59@x.com" in users and "rare@x.com" not in users and "Showing 50 of 60 users" in users
    assert_reports_match_recount(db, cid)


def test_drill_down__a_value_past_the_cap_is_found(dashboard_client: Client, db: psycopg.Connection[Any]) -> None:
    """A value counted in "(other)" (here every value after the day's first) still leads to its journeys."""
    cid = new_campaign()
    store(db, [_event(db, cid, "email_click", "a@x.com", extra={"sub1": "first"})])
    _fold(db, max_values=1)
    store(db, [_event(db, cid, "email_click", "b@x.com", extra={"utm_term": "late", "sub1": "second"})])
    _fold(db, max_values=1)
    assert db.execute("SELECT count(*) FROM report_stats WHERE campaign_id = %s AND value = 'late'",
                      (cid,)).fetchone() == (0,)
    users = _drill(dashboard_client, cid, "utm_term", "late")
    assert "b@x.com" in users and "a@x.com" not in users


def test_drill_down__reads_no_events_and_counts_as_it_chooses(db: psycopg.Connection[Any]) -> None:
    """The fragment's page and count read report_recipients, never events; the count is the one that chose how
    to list (3 events of 203, 2 journeys)."""
    cid = new_campaign()
    store(db, [*(_event(db, cid, "email_click", f"u{i}@x.com", extra={"utm_term": "common"}) for i in range(200)),
               _event(db, cid, "email_click", "rare@x.com", ago=3 * DAY, extra={"utm_term": "rare"}),
               _event(db, cid, "landing_click", "u7@x.com", extra={"utm_term": "rare"}),
               _event(db, cid, "conversion", "u7@x.com", extra={"utm_term": "rare"})])
    _fold(db)
    statements: list[str] = []
    with get_session() as session:
        listen(session.get_bind(), "before_cursor_execute", lambda *args: statements.append(args[2]))
        filters = JourneyFilters.parse(report=ReportValue.parse("utm_term", "rare", "UTC"))
        rows, more = list_journeys(session=session, campaign_id=cid, filters=filters, limit=1)
        before_count = len(statements)
        total = count_journeys(session=session, campaign_id=cid, filters=filters)
    assert [r.email for r in rows] == ["u7@x.com"] and more and total.value == 2 and not total.capped
    assert len(statements) == before_count, statements[before_count:]
    assert not any(re.search(r"\bFROM events\b", s) for s in statements), statements
    nobody = JourneyFilters.parse(report=ReportValue.parse("utm_term", "nowhere", "UTC"))
    with get_session() as session:
        assert count_journeys(session=session, campaign_id=cid, filters=nobody).value == 0


def test_drill_down__with_other_filters(dashboard_client: Client, db: psycopg.Connection[Any]) -> None:
    """With a domain, an event or a search the value's journeys are counted over journeys, as a search is."""
    cid = new_campaign()
    store(db, [_event(db, cid, "email_click", "p@x.com", extra={"utm_term": "t"}),
               _event(db, cid, "conversion", "p@x.com", extra={"utm_term": "t"}),
               _event(db, cid, "email_click", "q@x.com", extra={"utm_term": "t"}, domain="b.com"),
               _event(db, cid, "email_click", "r@x.com", extra={"utm_term": "u"})])
    _fold(db)
    for params, shown in (({"event": "conversion"}, {"p@x.com"}), ({"domain": "b.com"}, {"q@x.com"}),
                          ({"q": "q@"}, {"q@x.com"}), ({}, {"p@x.com", "q@x.com"})):
        users = dashboard_client.get(f"/campaign/{cid}/users", params={"by": "utm_term", "value": "t", **params},
                                     headers=HX).text
        assert {e for e in ("p@x.com", "q@x.com", "r@x.com") if e in users} == shown, params
        assert f"Showing {len(shown)} of {len(shown)} users" in users, params


def test_reports__totals_of_a_filling_param_report_are_its_own(db: psycopg.Connection[Any]) -> None:
    """A fixed dimension's totals are read off the weekday's rows (every fixed dimension splits the same events);
    a `param:` report still filling counts only the days filled so far, and its totals say so."""
    cid = new_campaign()
    store(db, [_event(db, cid, "email_click", f"u{i}@x.com", ago=i * DAY, extra={"sub1": f"p{i}"}) for i in range(3)])
    _fold(db)
    add_slot(db, cid, "sub1")
    settings = get_settings()
    # The oldest slot still filling goes first (other tests' too): until this one has its first day.
    while db.execute("SELECT filled_through IS NULL FROM report_slots WHERE campaign_id = %s", (cid,)).fetchone() \
            == (True,):
        assert backfill_step(db, timezone=settings.dashboard_timezone, max_values=settings.report_max_values)

    def report(dim: Dimension) -> Report:
        with get_session() as session:
            return build_report(session=session, campaign_id=cid, dim=dim, period=ALL_TIME, tz=UTC,
                                all_counts=True, sort="email_clicks", descending=True, top=0)

    by_param = report(param_dimension("sub1"))
    assert by_param.totals.entry.events == 1 and by_param.values == 1
    assert [(r.value, r.counts.entry.events) for r in by_param.rows] == [("(other)", 1)]
    for dim in DIMENSIONS:
        assert report(dim).totals.entry.events == 3, dim.name
    assert_reports_match_recount(db, cid)


def test_drill_down__a_param_key_not_listed_is_read_from_events(dashboard_client: Client,
                                                                db: psycopg.Connection[Any]) -> None:
    """A `param:` key is listed once its report is filled; before that (or never chosen) its journeys are
    found in events, so the drill-down is whole either way."""
    cid = new_campaign()
    store(db, [_event(db, cid, "email_click", f"u{i}@x.com", ago=i * DAY, extra={"sub1": f"p{i % 2}"})
               for i in range(4)])
    _fold(db)
    for chosen in (False, True):
        users = _drill(dashboard_client, cid, "param:sub1", "p1")
        assert "u1@x.com" in users and "u3@x.com" in users and "u0@x.com" not in users, chosen
        assert "Showing 2 of 2 users" in users, chosen
        add_slot(db, cid, "sub1")
    settings = get_settings()
    while backfill_step(db, timezone=settings.dashboard_timezone, max_values=settings.report_max_values):
        pass
    assert db.execute("SELECT count(*) FROM report_recipients WHERE campaign_id = %s AND dimension = 'param:sub1'",
                      (cid,)).fetchone() == (4,)
    users = _drill(dashboard_client, cid, "param:sub1", "p1")
    assert "u1@x.com" in users and "u3@x.com" in users and "Showing 2 of 2 users" in users
    assert_reports_match_recount(db, cid)


def test_drill_down__a_key_not_listed_is_looked_for_among_the_newest_journeys(
        dashboard_client: Client, db: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Unlisted, a value's journeys are tested event by event: only the newest drill_down.UNLISTED_SEARCH (1,000;
    3 here), so that a rare value of a large campaign costs a bounded search, and the footer says so."""
    cid = new_campaign()
    store(db, [_event(db, cid, "email_click", f"u{i}@x.com", ago=i * DAY, extra={"sub1": f"p{i % 2}"})
               for i in range(6)])
    _fold(db)
    monkeypatch.setattr(drill_down, "UNLISTED_SEARCH", 3)
    users = _drill(dashboard_client, cid, "param:sub1", "p1")  # u1, u3, u5; u3 and u5 are not among the newest 3
    assert "u1@x.com" in users and "u3@x.com" not in users and "u5@x.com" not in users
    assert "Showing 1 of 1+ users" in users and 'id="journeys-newest-only"' in users and "among the newest 3" in users
    monkeypatch.setattr(drill_down, "UNLISTED_SEARCH", 6)  # every journey: exact, no notice
    users = _drill(dashboard_client, cid, "param:sub1", "p1")
    assert "u5@x.com" in users and "Showing 3 of 3 users" in users and "journeys-newest-only" not in users
