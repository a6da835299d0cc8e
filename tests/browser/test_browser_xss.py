"""Stored and reflected XSS: hostile names, offer URLs, emails, domains and extras show as text, run nothing.

The watch in conftest fails the test on any dialog or CSP violation. The page's CSP would block an injected
inline script, so the test also checks the markup itself: the hostile strings are visible as text and no
element they describe exists.
"""
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from playwright.sync_api import Page, expect

from common.db import connect
from tests.browser.helpers import new_campaign, send_events, wait_for_rollups
from tests.reports import fold_through_worker

pytestmark = pytest.mark.browser

NAME = "<img src=x onerror=alert('name')><script>alert('name2')</script>"
OFFER = "https://x.example/?\"'><img/src=x/onerror=alert('offer')>"
EMAILS = ["\"<img/src=x/onerror=alert('email')>\"@x.com", "<script>alert('email2')</script>@x.com"]
DOMAIN = "<img src=x onerror=alert('domain')>.example"
ROW_EMAIL = "<svg onload=alert('journey')>@x.com"
# The page's own chart is the one SVG it may hold.
INJECTED = ("#content img, #content svg:not(#events-chart):not(.bar), #content script, #content iframe, [onerror], "
            "[onload]")
UTM = "<img src=x onerror=alert('utm')>"  # a report's value


@pytest.fixture(scope="module")
def hostile_campaign(web: str) -> int:
    cid = new_campaign(NAME, OFFER)
    send_events(web, [{"cid": cid, "event": "email_click", "email": email, "domain": "example1.com",
                       "note": "<script>alert('extra')</script>", "x\"><b>": "<img src=x onerror=alert(9)>",
                       "utm_source": UTM}
                      for email in EMAILS])
    wait_for_rollups(cid, users=len(EMAILS), events=len(EMAILS))
    fold_through_worker(cid, events=len(EMAILS))
    # What /api/event refuses (a domain is validated) can still reach the tables another way.
    with connect() as conn:
        conn.execute("INSERT INTO journeys (campaign_id, email, domain, first_seen, last_seen, email_clicks, "
                     "landing_clicks, conversions) VALUES (%s, %s, %s, now(), now(), 1, 1, 1)",
                     (cid, ROW_EMAIL, DOMAIN))
        conn.execute("INSERT INTO domain_stats (campaign_id, domain, email_clicks, landing_clicks, "
                     "conversions, users, email_click_users, landing_click_users, conversion_users) "
                     "VALUES (%s, %s, 1, 1, 1, 1, 1, 1, 1)", (cid, DOMAIN))
        conn.execute("INSERT INTO hourly_stats (campaign_id, hour, domain, email_clicks, landing_clicks, "
                     "conversions, users, email_click_users, landing_click_users, conversion_users) "
                     "VALUES (%s, date_trunc('hour', now() AT TIME ZONE 'UTC'), %s, 1, 1, 1, 1, 1, 1, 1)",
                     (cid, DOMAIN))
    return cid


def assert_nothing_injected(page: Page) -> None:
    injected = page.locator(INJECTED)
    assert injected.count() == 0, injected.evaluate_all("es => es.map(e => e.outerHTML)")


def test_hostile_strings__render_as_text_on_every_page(page: Page, hostile_campaign: int) -> None:
    cid = hostile_campaign
    page.goto("/")
    expect(page.locator(f"#campaign-{cid} .name")).to_have_text(NAME)
    assert_nothing_injected(page)

    page.goto(f"/campaign/{cid}")
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)
    expect(page.locator(".offer a")).to_have_text(OFFER)
    assert page.locator(".offer a").get_attribute("href") == OFFER
    journeys = page.locator("#journey-rows td.email")
    expect(journeys).to_have_count(3)
    assert sorted(journeys.all_inner_texts()) == sorted([*EMAILS, ROW_EMAIL])
    expect(page.locator("#domain-stats td.domain").filter(has_text="onerror")).to_have_text(DOMAIN)
    assert_nothing_injected(page)

    page.select_option("#filter-domain", DOMAIN)  # the hostile domain as a filter value, and in the URL
    expect(page.locator("#journey-rows td.email")).to_have_text([ROW_EMAIL])
    page.select_option("#filter-domain", "")
    page.locator("#filter-q").press_sequentially("<img/", delay=10)
    expect(page.locator("#journey-rows td.email")).to_have_text([EMAILS[0]])
    assert_nothing_injected(page)

    # Reflected through the query string on first load (no JavaScript involved).
    page.goto(f"/campaign/{cid}?q={quote(EMAILS[0])}&domain={quote(DOMAIN)}")
    expect(page.locator("#filter-q")).to_have_value(EMAILS[0])
    assert_nothing_injected(page)

    # In a date range the domains come from hourly_stats; the range bar's hidden fields carry the filters.
    SHORT = '"><b>x'  # what fits in `from` (10 characters)
    page.goto(f"/campaign/{cid}?range=today&domain={quote(DOMAIN)}&from={quote(SHORT)}")
    expect(page.locator("#domain-stats td.domain").filter(has_text="onerror")).to_have_text(DOMAIN)
    expect(page.locator("#range-custom input[name=domain]")).to_have_value(DOMAIN)
    expect(page.locator("#events-chart")).to_be_visible()
    assert_nothing_injected(page)

    # A report: the hostile value as a row, in its drill-down link and on the journeys it opens.
    page.goto(f"/campaign/{cid}/reports?by=utm_source")
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)
    expect(page.locator("#report-table td.value a.drill")).to_have_text(UTM)
    assert_nothing_injected(page)
    page.locator("#report-table td.value a.drill").click()
    expect(page.locator("#filter-report")).to_contain_text(UTM)
    expect(page.locator("#filter-report ~ input[name=value]")).to_have_value(UTM)
    assert_nothing_injected(page)


def test_javascript_offer_url__never_a_link(page: Page, db: psycopg.Connection[Any]) -> None:
    cid = new_campaign("Direct insert")
    db.execute("UPDATE campaigns SET offer_url = %s, name = %s WHERE id = %s",
               ("javascript:alert('offer-js')", "\"><svg/onload=alert('svg')>", cid))
    page.goto(f"/campaign/{cid}")
    expect(page.locator(".offer")).to_have_text("Offer: javascript:alert('offer-js')")
    expect(page.locator(".offer a")).to_have_count(0)
    page.locator(".offer span").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("\"><svg/onload=alert('svg')>")
    assert_nothing_injected(page)


def test_hostile_form_input_and_login_redirect__shown_as_text(page: Page, new_context: Any) -> None:
    page.goto("/create")
    page.fill("#name", NAME)
    page.fill("#offer_url", "javascript:alert('form')")
    page.get_by_role("button", name="Create Campaign").click()
    expect(page.locator("#offer_url-error")).to_be_visible()
    expect(page.locator("#name")).to_have_value(NAME)
    expect(page.locator("#offer_url")).to_have_value("javascript:alert('form')")
    assert_nothing_injected(page)

    anonymous = new_context().new_page()
    anonymous.goto("/login?next=" + quote("\"><script>alert('next')</script>"))
    expect(anonymous.get_by_role("heading", name="Sign in")).to_be_visible()
    assert anonymous.locator("input[name=next]").get_attribute("value") == "/"
    assert anonymous.locator("script:not([src])").count() == 0
