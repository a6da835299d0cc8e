"""The date range (all time, today, 7 and 30 days, custom days) on the stats, the chart, the domains table, the
journeys and the exports; and the chart's SVG. Events go in through the real insert statement."""
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.checks import assert_rollups_match_recount
from tests.events import CHROME, store
from tests.web.test_dashboard import HX, attrs, new_campaign
from tests.web.test_dashboard_counts import stat


def _new_id(db: psycopg.Connection[Any]) -> int:
    row = db.execute("SELECT nextval('events_id_seq')").fetchone()
    assert row is not None
    return int(row[0])


Client = TestClient
HUMAN = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"
CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

TODAY = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
DAY = timedelta(days=1)


def _store(db: psycopg.Connection[Any], cid: int, rows: list[tuple[datetime, str, str, str, str]]) -> None:
    events = []
    for at, event_type, email, domain, ua in rows:
        (event_id,) = db.execute("SELECT nextval('events_id_seq')").fetchone()
        events.append({"id": event_id, "cid": cid, "type": event_type, "email": email, "domain": domain,
                       "ip": "198.51.100.7", "ua": ua, "extra": {},
                       "ts": at.replace(tzinfo=UTC).timestamp()})
    assert store(db, events) == len(events)


@pytest.fixture
def dated_campaign(db: psycopg.Connection[Any]) -> int:
    """Events today, 3, 20 and 60 days ago, on two domains, one of them a crawler's."""
    cid = new_campaign()
    _store(db, cid, [
        (TODAY + timedelta(minutes=1), "email_click", "today@x.com", "d1.com", HUMAN),
        (TODAY + timedelta(minutes=2), "landing_click", "today@x.com", "d1.com", HUMAN),
        (TODAY - 3 * DAY + timedelta(hours=5), "email_click", "three@y.com", "d2.com", HUMAN),
        (TODAY - 3 * DAY + timedelta(hours=5, minutes=1), "email_click", "crawler@y.com", "d2.com", CRAWLER),
        (TODAY - 20 * DAY, "email_click", "twenty@z.com", "d1.com", HUMAN),
        (TODAY - 20 * DAY + timedelta(minutes=9), "conversion", "twenty@z.com", "d1.com", HUMAN),
        (TODAY - 60 * DAY + timedelta(hours=23), "email_click", "sixty@w.com", "d2.com", HUMAN),
    ])
    assert_rollups_match_recount(db, cid)
    return cid


def _stats(html: str) -> tuple[str, str, str]:
    return stat(html, "email-clicks"), stat(html, "landing-clicks"), stat(html, "conversions")


def _emails(html: str) -> list[str]:
    return [email.strip() for email in re.findall(r'<td class="email">([^<]+)', html)]


def _domains(html: str) -> list[str]:
    return re.findall(r'<td class="domain">([^<]+)</td>\s*<td class="num">', html)


@pytest.mark.parametrize(("params", "stats", "emails", "domains"), [
    ({}, ("4", "1", "1"), ["today@x.com", "crawler@y.com", "three@y.com", "twenty@z.com", "sixty@w.com"],
     ["d2.com", "d1.com"]),
    ({"range": "today"}, ("1", "1", "0"), ["today@x.com"], ["d1.com"]),
    ({"range": "7d"}, ("2", "1", "0"), ["today@x.com", "crawler@y.com", "three@y.com"], ["d2.com", "d1.com"]),
    ({"range": "30d"}, ("3", "1", "1"), ["today@x.com", "crawler@y.com", "three@y.com", "twenty@z.com"],
     ["d1.com", "d2.com"]),
    ({"range": "custom", "from": (TODAY - 60 * DAY).date().isoformat(),
      "to": (TODAY - 60 * DAY).date().isoformat()}, ("1", "0", "0"), ["sixty@w.com"], ["d2.com"]),
])
def test_range__stats_domains_and_journeys(dashboard_client: Client, dated_campaign: int, params: dict[str, str],
                                           stats: tuple[str, str, str], emails: list[str],
                                           domains: list[str]) -> None:
    page = dashboard_client.get(f"/campaign/{dated_campaign}", params=params)
    assert page.status_code == 200
    assert _stats(page.text) == stats  # people only: the crawler's click is left out
    assert _emails(page.text) == emails  # recipients first seen in the range, newest first
    assert _domains(page.text) == domains
    assert f"Showing {len(emails)} of {len(emails)} users" in page.text
    # The fragments the page polls answer the same for the same range.
    assert _stats(dashboard_client.get(f"/campaign/{dated_campaign}/stats", params=params).text) == stats
    assert _domains(dashboard_client.get(f"/campaign/{dated_campaign}/domains", params=params).text) == domains
    journeys = dashboard_client.get(f"/campaign/{dated_campaign}/users", params=params, headers=HX)
    assert _emails(journeys.text) == emails


def test_range__all_traffic_and_unique_recipients_in_range(dashboard_client: Client, dated_campaign: int) -> None:
    page = dashboard_client.get(f"/campaign/{dated_campaign}", params={"range": "7d", "counts": "all"})
    assert _stats(page.text) == ("3", "1", "0")
    assert stat(page.text, "email-clicks-users") == "3 recipients"
    assert "incl. 1 by scanners/bots" in page.text
    row = re.search(r'<td class="domain">d2.com</td>(.*?)</tr>', page.text, re.S)
    assert row and re.findall(r'<td class="num[^"]*">([^<]+)</td>', row[1])[:2] == ["2", "2"]


def test_range__links_and_fragments_keep_it(dashboard_client: Client, dated_campaign: int) -> None:
    cid = dated_campaign
    page = dashboard_client.get(f"/campaign/{cid}", params={"range": "7d", "counts": "all", "domain": "d2.com"})
    for element, fragment in (("overall-stats", "stats"), ("domain-stats", "domains"), ("chart", "chart")):
        assert f'hx-get="/campaign/{cid}/{fragment}?counts=all&amp;range=7d"' in attrs(page.text, element)
    presets = dict(re.findall(r'<a href="([^"]+)" data-range="([^"]+)"', page.text))
    assert {v: k for k, v in presets.items()} == {
        "all": f"/campaign/{cid}?counts=all&amp;domain=d2.com",
        "today": f"/campaign/{cid}?counts=all&amp;domain=d2.com&amp;range=today",
        "7d": f"/campaign/{cid}?counts=all&amp;domain=d2.com&amp;range=7d",
        "30d": f"/campaign/{cid}?counts=all&amp;domain=d2.com&amp;range=30d",
    }
    assert re.search(r'<a href="[^"]+" data-range="7d" class="active" aria-current="page">Last 7 days</a>', page.text)
    # The journeys filter form carries the range; filtering keeps it in the address bar.
    form = re.search(r'<form id="journey-filters".*?</form>', page.text, re.S)
    assert form and '<input type="hidden" name="range" value="7d">' in form[0]
    table = dashboard_client.get(f"/campaign/{cid}/users", params={"range": "7d", "domain": "d2.com"}, headers=HX)
    assert table.headers["HX-Push-Url"] == f"/campaign/{cid}?domain=d2.com&range=7d"
    assert "range=7d" in attrs(table.text, "export-events")
    # The counts switch keeps the range too.
    assert f'href="/campaign/{cid}?range=7d&amp;domain=d2.com"' in page.text


def test_range__load_more_stays_in_the_range(dashboard_client: Client, db: psycopg.Connection[Any]) -> None:
    cid = new_campaign()
    _store(db, cid, [(TODAY + timedelta(seconds=i), "email_click", f"r{i:03}@x.com", "d.com", HUMAN)
                     for i in range(60)]
           + [(TODAY - 40 * DAY, "email_click", "old@x.com", "d.com", HUMAN)])
    first = dashboard_client.get(f"/campaign/{cid}/users", params={"range": "today"}, headers=HX)
    assert "Showing 50 of 60 users" in first.text
    more_url = re.search(r'hx-get="([^"]+)"[^>]*>Load more', first.text)
    assert more_url and "range=today" in more_url[1]
    more = dashboard_client.get(more_url[1].replace("&amp;", "&"), headers=HX)
    assert len(_emails(more.text)) == 10 and "old@x.com" not in more.text
    assert "Showing 60 of 60 users" in more.text


def test_range__exports_follow_it(dashboard_client: Client, dated_campaign: int) -> None:
    events = dashboard_client.get(f"/campaign/{dated_campaign}/export/events.csv", params={"range": "7d"})
    assert events.status_code == 200
    assert sorted(line.split(",")[3] for line in events.text.splitlines()[1:]) == [
        "crawler@y.com", "three@y.com", "today@x.com", "today@x.com"]
    journeys = dashboard_client.get(f"/campaign/{dated_campaign}/export/journeys.csv", params={"range": "today"})
    assert [line.split(",")[0] for line in journeys.text.splitlines()[1:]] == ["today@x.com"]


@pytest.mark.parametrize(("params", "error"), [
    ({"range": "custom", "from": "2026-02-10", "to": "2026-02-01"}, "The custom range starts after it ends."),
    ({"range": "custom", "from": "2026-02-30", "to": "2026-03-01"}, "Choose both days of the custom range"),
    ({"range": "custom", "from": "2020-01-01", "to": "2026-01-01"}, "A custom range can span at most 1,098 days."),
])
def test_range__a_bad_custom_range_says_why_and_shows_all_time(dashboard_client: Client, dated_campaign: int,
                                                               params: dict[str, str], error: str) -> None:
    page = dashboard_client.get(f"/campaign/{dated_campaign}", params=params)
    assert page.status_code == 200
    assert error in page.text and "Showing all time." in page.text
    assert _stats(page.text) == ("4", "1", "1")


@pytest.mark.parametrize("params", [{"range": "x" * 11}, {"from": "2026-01-01" + "0" * 20}])
def test_range__oversized_parameters_are_a_clear_422(dashboard_client: Client, dated_campaign: int,
                                                     params: dict[str, str]) -> None:
    assert dashboard_client.get(f"/campaign/{dated_campaign}", params=params).status_code == 422


def test_chart__per_hour_for_short_ranges_per_day_for_longer(dashboard_client: Client, dated_campaign: int) -> None:
    today = dashboard_client.get(f"/campaign/{dated_campaign}/chart", params={"range": "today"})
    assert today.status_code == 200
    # One column per hour of today so far.
    assert len(re.findall(r'<rect class="slot"', today.text)) == datetime.now(UTC).hour + 1
    assert 'id="chart-total-email_clicks">Email clicks: 1<' in today.text
    assert 'id="chart-total-landing_clicks">Landing clicks: 1<' in today.text
    # Both of today's events fall into the first hour: its column's tooltip says so.
    first_hour = f"{TODAY:%b} {TODAY.day}, 00:00 UTC: 1 email clicks · 1 landing clicks · 0 conversions"
    assert first_hour in today.text

    month = dashboard_client.get(f"/campaign/{dated_campaign}/chart", params={"range": "30d", "counts": "all"})
    assert len(re.findall(r'<rect class="slot"', month.text)) == 30
    assert 'Email clicks: 4<' in month.text and "Conversions: 1<" in month.text
    polylines = re.findall(r'<polyline class="series (\w+)" data-series="\w+" points="([^"]+)"', month.text)
    assert [key for key, _ in polylines] == ["email_clicks", "landing_clicks", "conversions"]
    assert all(len(points.split()) == 30 for _, points in polylines)


def test_chart__all_time_spans_from_the_first_event(dashboard_client: Client, dated_campaign: int) -> None:
    chart = dashboard_client.get(f"/campaign/{dated_campaign}/chart")
    assert "per day (UTC)" in chart.text
    assert len(re.findall(r'<rect class="slot"', chart.text)) == 61  # 60 days ago .. today
    assert re.search(r'<svg id="events-chart"[^>]*role="img"', chart.text)
    # The page fetches it right after loading; the fragment then refreshes itself with the stats.
    page = dashboard_client.get(f"/campaign/{dated_campaign}")
    assert 'hx-trigger="load"' in attrs(page.text, "chart")
    assert 'hx-trigger="every 10s"' in attrs(chart.text, "chart") and 'hx-swap="outerHTML"' in attrs(chart.text, "chart")


def test_chart__revenue_line_on_its_own_axis_kept_by_the_refresh(dashboard_client: Client, db: psycopg.Connection[Any],
                                                                  campaign_id: int) -> None:
    now = time.time()
    store(db, [{"id": i, "cid": campaign_id, "type": "conversion", "email": f"c{i}@x.com", "domain": "a.com",
                "ua": CHROME, "payout": payout, "extra": {"payout": payout}, "ts": now} for i, payout in
               ((_new_id(db), "12.50"), (_new_id(db), "7.25"))])
    plain = dashboard_client.get(f"/campaign/{campaign_id}/chart")
    assert 'data-series="revenue"' not in plain.text and 'id="chart-revenue-toggle"' in plain.text
    toggle = re.search(r'id="chart-revenue-toggle" href="([^"]+)"', plain.text)
    assert toggle and "revenue=1" in toggle[1]
    shown = dashboard_client.get(toggle[1].replace("&amp;", "&"))
    assert 'data-series="revenue"' in shown.text and "Revenue: $19.75" in shown.text
    assert "revenue=1" in attrs(shown.text, "chart")  # the refresh keeps the revenue line
    assert ">Hide revenue<" in shown.text


def test_chart__no_events_in_range(dashboard_client: Client, dated_campaign: int) -> None:
    day = (TODAY - 100 * DAY).date().isoformat()
    r = dashboard_client.get(f"/campaign/{dated_campaign}/chart", params={"range": "custom", "from": day, "to": day})
    assert 'id="chart-empty"' in r.text and "<svg" not in r.text


@pytest.fixture
def new_york_client(dashboard_user: tuple[str, str]) -> Iterator[Client]:
    """A signed-in client of an app whose dashboard runs on New York time."""
    from common.config import Settings
    from tests.conftest import sign_in
    from web.main import create_app

    client = TestClient(create_app(Settings(dashboard_timezone="America/New_York")), follow_redirects=False)
    assert sign_in(client, *dashboard_user).status_code == 303
    yield client
    client.close()


def test_time_zone__days_and_chart_hours_are_local(new_york_client: Client, dashboard_client: Client,
                                                   db: psycopg.Connection[Any]) -> None:
    cid = new_campaign()
    # 04:30 UTC on Jan 15 is 23:30 on Jan 14 in New York (EST, UTC-5).
    _store(db, cid, [(datetime(2026, 1, 15, 4, 30), "email_click", "late@x.com", "d.com", HUMAN)])
    jan_14 = {"range": "custom", "from": "2026-01-14", "to": "2026-01-14"}
    local = new_york_client.get(f"/campaign/{cid}", params=jan_14)
    assert _stats(local.text) == ("1", "0", "0") and _emails(local.text) == ["late@x.com"]
    assert "days in America/New_York" in local.text
    chart = new_york_client.get(f"/campaign/{cid}/chart", params=jan_14)
    assert "per hour (America/New_York)" in chart.text
    assert len(re.findall(r'<rect class="slot"', chart.text)) == 24
    assert "Jan 14, 23:00 America/New_York: 1 email clicks" in chart.text
    # The same day in UTC does not hold it.
    assert _stats(dashboard_client.get(f"/campaign/{cid}", params=jan_14).text) == ("0", "0", "0")
