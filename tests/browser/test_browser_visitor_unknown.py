"""The specification's own example, sent by a landing script from its server with curl and python-httpx (their
default user agents, nothing forwarded): people in the default view, on the campaign page and at home, with
the "visitor unknown" class shown apart."""
import csv
import io

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import new_campaign, screenshot, wait_for_rollups

pytestmark = pytest.mark.browser

# The default User-Agent headers of the two clients, as they send them.
CURL_UA = "curl/8.5.0"
HTTPX_UA = f"python-httpx/{httpx.__version__}"


@pytest.fixture(scope="module")
def server_side_campaign(web: str) -> int:
    """Three recipients click (curl), two land (httpx), one converts (curl): nothing forwarded."""
    cid = new_campaign("Fish Oil CA, HealthPlus")
    people = [(f"reader{i}@gmail.com", "example1.com") for i in range(3)]
    sends = [(CURL_UA, "email_click", e, d) for e, d in people]
    sends += [(HTTPX_UA, "landing_click", e, d) for e, d in people[:2]]
    sends += [(CURL_UA, "conversion", *people[0])]
    for ua, event, email, domain in sends:
        r = httpx.get(f"{web}/api/event", headers={"User-Agent": ua},
                      params={"cid": cid, "event": event, "email": email, "domain": domain})
        assert r.status_code == 200 and r.json()["status"] == "ok", r.text
    wait_for_rollups(cid, users=3, events=len(sends))
    return cid


def test_campaign__counted_as_people_with_the_visitor_unknown_class(page: Page, server_side_campaign: int) -> None:
    cid = server_side_campaign
    page.goto(f"/campaign/{cid}")
    expect(page.locator("#counts-toggle a.active")).to_have_text("Humans")
    expect(page.locator("#stat-email-clicks")).to_have_text("3")
    expect(page.locator("#stat-landing-clicks")).to_have_text("2")
    expect(page.locator("#stat-conversions")).to_have_text("1")
    expect(page.locator("#stat-conv-rate")).to_have_text("33.3%")
    expect(page.locator("#bots-left-out")).to_have_count(0)
    notice = page.locator("#visitor-unknown")
    expect(notice).to_contain_text("6 events: visitor unknown")
    expect(notice).to_contain_text("ip")
    expect(notice.locator("code").first).to_have_text("ip")
    expect(page.locator("#domain-stats tr", has_text="example1.com").locator("td").nth(1)).to_have_text("3")
    expect(page.locator("#journey-rows .badge.unknown")).to_have_count(3)
    screenshot(page, "campaign-visitor-unknown", full_page=False)

    with page.expect_download() as download:
        page.locator("#export-events").click()
    with open(download.value.path(), encoding="utf-8") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    assert len(rows) == 6 and {(r["is_bot"], r["visitor_unknown"]) for r in rows} == {("false", "true")}


def test_home__clicks_and_conversions_of_the_server_side_campaign(page: Page, server_side_campaign: int) -> None:
    page.goto("/")
    row = page.locator(f"#campaign-{server_side_campaign}")
    expect(row.locator(".clicks")).to_have_text("3")
    expect(row.locator(".conv")).to_have_text("1")
