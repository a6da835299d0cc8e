"""Human counts by default, all counts on `?counts=all`, on every page and fragment; unique recipients next
to event totals; recipients whose every event was a bot's marked in the journeys table."""
import re
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.web.test_dashboard import HX, attrs, new_campaign

Client = TestClient


@pytest.fixture
def scanned_campaign(db: psycopg.Connection[Any]) -> int:
    """Two domains with bot events among them, and three recipients: one a scanner only."""
    cid = new_campaign()
    db.execute("""
        INSERT INTO domain_stats (campaign_id, domain, email_clicks, landing_clicks, conversions,
                                  bot_email_clicks, bot_landing_clicks, bot_conversions,
                                  users, email_click_users, landing_click_users, conversion_users)
        VALUES (%(c)s, 'a.com', 100, 50, 10, 30, 5, 2, 80, 70, 40, 9),
               (%(c)s, 'b.com', 20, 8, 3, 0, 0, 0, 15, 15, 8, 3)""", {"c": cid})
    db.execute("""
        INSERT INTO journeys (campaign_id, email, domain, first_seen, last_seen, email_clicks, landing_clicks,
                              conversions, bot_events)
        VALUES (%(c)s, 'scanner@corp.com', 'a.com', '2026-01-15 12:03', '2026-01-15 12:03', 2, 0, 0, 2),
               (%(c)s, 'mixed@corp.com', 'a.com', '2026-01-15 12:02', '2026-01-15 12:02', 2, 1, 0, 1),
               (%(c)s, 'person@gmail.com', 'b.com', '2026-01-15 12:01', '2026-01-15 12:01', 1, 1, 1, 0)
    """, {"c": cid})
    return cid


def stat(html: str, key: str) -> str:
    found = re.search(rf'id="stat-{key}"[^>]*>([^<]*)<', html)
    assert found, key
    return found[1]


def test_home__human_clicks_by_default_all_on_the_switch(dashboard_client: Client, scanned_campaign: int) -> None:
    cid = scanned_campaign
    human = dashboard_client.get("/")
    row = re.search(rf'<tr id="campaign-{cid}">.*?</tr>', human.text, re.S)
    assert row and ">90<" in row[0] and ">11<" in row[0]  # (120 - 30) email clicks, (13 - 2) conversions
    assert "Humans only" in human.text
    toggle = attrs(human.text, "counts-toggle")
    assert 'aria-label="Counts"' in toggle
    assert re.search(r'<a href="/"[^>]*class="active" aria-current="page"[^>]*>Humans</a>', human.text, re.S)
    assert 'href="/?counts=all"' in human.text
    assert 'hx-get="/campaigns"' in attrs(human.text, "campaigns")

    every = dashboard_client.get("/", params={"counts": "all"})
    row = re.search(rf'<tr id="campaign-{cid}">.*?</tr>', every.text, re.S)
    assert row and ">120<" in row[0] and ">13<" in row[0]
    assert "All traffic: scanner and bot clicks included" in every.text
    assert re.search(r'<a href="/\?counts=all"[^>]*class="active" aria-current="page"[^>]*>All traffic</a>',
                     every.text, re.S)
    # The refresh keeps the mode, and so do the links to campaigns.
    assert 'hx-get="/campaigns?counts=all"' in attrs(every.text, "campaigns")
    assert f'href="/campaign/{cid}?counts=all"' in every.text
    fragment = dashboard_client.get("/campaigns", params={"counts": "all"}, headers=HX)
    assert fragment.template.name == "partials/campaigns_table.html"
    assert re.search(rf'<tr id="campaign-{cid}">.*?>120<', fragment.text, re.S)


def test_campaign__human_stats_with_unique_recipients(dashboard_client: Client, scanned_campaign: int) -> None:
    r = dashboard_client.get(f"/campaign/{scanned_campaign}")
    html = r.text
    assert (stat(html, "email-clicks"), stat(html, "landing-clicks"), stat(html, "conversions")) == ("90", "53", "11")
    assert stat(html, "conv-rate") == "12.2%"  # 11 / 90
    assert (stat(html, "email-clicks-users"), stat(html, "landing-clicks-users"),
            stat(html, "conversions-users")) == ("85 recipients", "48 recipients", "12 recipients")
    assert "37 events by scanners/bots left out" in html
    assert re.search(r'id="counts-mode">humans only', html)
    domains = {d.domain: d for d in r.context["domains"]}
    assert (domains["a.com"]["email_clicks"], domains["a.com"]["landing_clicks"], domains["a.com"]["conversions"]) == (70, 45, 8)
    assert domains["a.com"]["email_click_users"] == 70 and domains["a.com"]["conversion_users"] == 9
    assert re.search(r"a\.com</td>\s*<td[^>]*>70</td><td[^>]*>70</td>\s*<td[^>]*>45</td><td[^>]*>40</td>\s*"
                     r"<td[^>]*>8</td><td[^>]*>9</td>\s*<td[^>]*>11\.4%</td>", html)
    assert "people only (events flagged as scanners or bots left out)" in html
    for element, url in (("overall-stats", "stats"), ("domain-stats", "domains")):
        assert f'hx-get="/campaign/{scanned_campaign}/{url}"' in attrs(html, element)
    assert 'name="counts"' not in html


def test_campaign__all_counts_kept_by_every_refresh_filter_and_load_more(dashboard_client: Client,
                                                                         scanned_campaign: int,
                                                                         dashboard_app: Any) -> None:
    cid = scanned_campaign
    html = dashboard_client.get(f"/campaign/{cid}", params={"counts": "all", "domain": "a.com"}).text
    assert (stat(html, "email-clicks"), stat(html, "landing-clicks"), stat(html, "conversions")) == ("120", "58", "13")
    assert "incl. 30 by scanners/bots" in html and 'id="bots-left-out"' not in html
    for element, url in (("overall-stats", "stats"), ("domain-stats", "domains")):
        assert f'hx-get="/campaign/{cid}/{url}?counts=all"' in attrs(html, element)
    assert '<input type="hidden" name="counts" value="all">' in html  # the filter form sends it along
    # The switch keeps the filters; the other mode is one click away.
    assert f'href="/campaign/{cid}?domain=a.com"' in html
    assert f'href="/campaign/{cid}?domain=a.com&amp;counts=all"' in html

    stats = dashboard_client.get(f"/campaign/{cid}/stats", params={"counts": "all"}, headers=HX)
    assert stat(stats.text, "email-clicks") == "120" and stats.context["totals"]["bot_email_clicks"] == 30
    domains = dashboard_client.get(f"/campaign/{cid}/domains", params={"counts": "all"}, headers=HX)
    assert {d.domain: d["email_clicks"] for d in domains.context["domains"]} == {"a.com": 100, "b.com": 20}
    human = dashboard_client.get(f"/campaign/{cid}/domains", headers=HX)
    assert {d.domain: d["email_clicks"] for d in human.context["domains"]} == {"a.com": 70, "b.com": 20}

    users = dashboard_client.get(f"/campaign/{cid}/users", params={"counts": "all", "event": "email_click"},
                                 headers=HX)
    assert users.headers["HX-Push-Url"] == f"/campaign/{cid}?event=email_click&counts=all"
    oob = attrs(users.text, "counts-toggle")
    assert 'hx-swap-oob="true"' in oob
    assert f'href="/campaign/{cid}?event=email_click"' in users.text

    dashboard_app.state.settings.journeys_page_size, size = 1, dashboard_app.state.settings.journeys_page_size
    try:
        first = dashboard_client.get(f"/campaign/{cid}/users", params={"counts": "all"}, headers=HX)
        assert "counts=all" in first.context["next_url"]
        more = dashboard_client.get(first.context["next_url"], headers=HX)
        assert "counts=all" in more.context["next_url"] and more.context["all_counts"]
    finally:
        dashboard_app.state.settings.journeys_page_size = size


def test_journeys__recipients_seen_only_by_bots_are_marked_not_hidden(dashboard_client: Client,
                                                                      scanned_campaign: int) -> None:
    for params in ({}, {"counts": "all"}):
        r = dashboard_client.get(f"/campaign/{scanned_campaign}/users", params=params, headers=HX)
        rows = {j.email: j for j in r.context["rows"]}
        assert set(rows) == {"scanner@corp.com", "mixed@corp.com", "person@gmail.com"}
        assert [e for e, j in rows.items() if j.only_bots] == ["scanner@corp.com"]
        marked = re.findall(r'<td class="email">([^<]*) <span class="badge bot"', r.text)
        assert marked == ["scanner@corp.com"]


def test_counts__unknown_mode_means_humans(dashboard_client: Client, scanned_campaign: int) -> None:
    r = dashboard_client.get(f"/campaign/{scanned_campaign}/stats", params={"counts": "bogus"}, headers=HX)
    assert r.status_code == 200 and stat(r.text, "email-clicks") == "90"
