"""Human and all counts on the header switch, unique recipients, bot-only recipients marked, and the CSV
downloads, in a real browser against the real worker (events sent through /api/event)."""
import csv
import io
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    READ_MARKER,
    SET_MARKER,
    new_campaign,
    screenshot,
    send_events,
    wait_for_rollups,
)

pytestmark = pytest.mark.browser

SCRIPT_UA = "python-requests/2.32.3"  # not a browser: stored as a bot by the worker's rules


@pytest.fixture(scope="module")
def scanned_campaign(web: str) -> int:
    """Four people (email clicks; two landed, one converted) and two scanner-only recipients, on two domains."""
    cid = new_campaign("Cat Toys EU, PetCo")
    people = [(f"person{i}@gmail.com", f"example{i % 2 + 1}.com") for i in range(4)]
    events: list[dict[str, Any]] = [{"cid": cid, "event": "email_click", "email": e, "domain": d} for e, d in people]
    events += [{"cid": cid, "event": "landing_click", "email": e, "domain": d} for e, d in people[:2]]
    events += [{"cid": cid, "event": "conversion", "email": people[0][0], "domain": people[0][1]}]
    events += [{"cid": cid, "event": "email_click", "email": f"scanned{i}@corp.com", "domain": "example1.com",
                "ua": SCRIPT_UA} for i in range(2)]
    send_events(web, events)
    wait_for_rollups(cid, users=6, events=len(events))
    return cid


def test_counts_switch__humans_by_default_all_on_click_kept_by_refresh_and_filters(page: Page,
                                                                                   scanned_campaign: int) -> None:
    cid = scanned_campaign
    page.goto(f"/campaign/{cid}")
    toggle = page.locator("#counts-toggle")
    expect(toggle.locator("a.active")).to_have_text("Humans")
    expect(page.locator("#stat-email-clicks")).to_have_text("4")
    expect(page.locator("#stat-email-clicks-users")).to_have_text("6 recipients")  # unique: all traffic
    expect(page.locator("#stat-conv-rate")).to_have_text("25.0%")
    expect(page.locator("#bots-left-out")).to_contain_text("2 events by scanners/bots left out")
    marked = page.locator("#journey-rows tr", has=page.locator(".badge.bot")).locator("td.email")
    expect(marked).to_have_count(2)
    assert sorted(t.split()[0] for t in marked.all_inner_texts()) == ["scanned0@corp.com", "scanned1@corp.com"]

    toggle.get_by_role("link", name="All traffic").click()
    page.wait_for_url(re.compile(rf"/campaign/{cid}\?counts=all$"))
    expect(toggle.locator("a.active")).to_have_text("All traffic")
    expect(page.locator("#stat-email-clicks")).to_have_text("6")
    expect(page.locator("#stat-conv-rate")).to_have_text("16.7%")
    page.evaluate(SET_MARKER)
    # The refreshes ask for all counts too, and the numbers stay.
    with page.expect_response(re.compile(rf"/campaign/{cid}/stats\?counts=all$")):
        pass
    with page.expect_response(re.compile(rf"/campaign/{cid}/domains\?counts=all$")):
        pass
    expect(page.locator("#stat-email-clicks")).to_have_text("6")
    expect(page.locator("#domain-stats tr", has_text="example1.com").locator("td").nth(1)).to_have_text("4")
    screenshot(page, "campaign-all-traffic", full_page=False)

    page.select_option("#filter-domain", "example1.com")  # a filter keeps the mode in the address bar
    expect(page.locator("#journeys-footer")).to_contain_text("Showing 4 of 4 users")
    page.wait_for_url(re.compile(r"\?domain=example1\.com&counts=all$"))
    assert page.evaluate(READ_MARKER) == "still here"

    toggle.get_by_role("link", name="Humans").click()  # the switch keeps the filter
    page.wait_for_url(re.compile(rf"/campaign/{cid}\?domain=example1\.com$"))
    expect(page.locator("#stat-email-clicks")).to_have_text("4")
    expect(page.locator("#filter-domain")).to_have_value("example1.com")


def test_home__switch_applies_to_the_campaigns_table(page: Page, scanned_campaign: int) -> None:
    page.goto("/")
    row = page.locator(f"#campaign-{scanned_campaign}")
    expect(row.locator(".clicks")).to_have_text("4")
    page.locator("#counts-toggle").get_by_role("link", name="All traffic").click()
    page.wait_for_url(re.compile(r"/\?counts=all$"))
    expect(row.locator(".clicks")).to_have_text("6")
    with page.expect_response(re.compile(r"/campaigns\?counts=all$")):
        pass
    expect(row.locator(".clicks")).to_have_text("6")
    screenshot(page, "home-all-traffic", full_page=False)


def _csv(download: Any) -> list[dict[str, str]]:
    with open(download.path(), encoding="utf-8") as f:
        return list(csv.DictReader(io.StringIO(f.read())))


def test_export_links__download_the_filtered_csv(page: Page, scanned_campaign: int) -> None:
    cid = scanned_campaign
    page.goto(f"/campaign/{cid}")
    with page.expect_download() as everything:
        page.locator("#export-events").click()
    assert everything.value.suggested_filename == f"campaign-{cid}-events.csv"
    rows = _csv(everything.value)
    assert len(rows) == 9 and sum(r["is_bot"] == "true" for r in rows) == 2

    page.select_option("#filter-domain", "example2.com")
    expect(page.locator("#journeys-footer")).to_contain_text("Showing 2 of 2 users")
    with page.expect_download() as journeys:
        page.locator("#export-journeys").click()
    assert journeys.value.suggested_filename == f"campaign-{cid}-journeys.csv"
    rows = _csv(journeys.value)
    assert sorted(r["email"] for r in rows) == ["person1@gmail.com", "person3@gmail.com"]
    assert {r["domain"] for r in rows} == {"example2.com"}
