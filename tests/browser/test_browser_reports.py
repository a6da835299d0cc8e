"""The Reports tab in a real browser: open it from the campaign page, break down by country, sort, drill down
into the journeys of one value, download the CSV; a screenshot for the README. Then a pair: country then device,
added from the page, filled by the worker, drilled into by both values."""
import csv
import io
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import new_campaign, screenshot, send_events, wait_for_rollups
from tests.reports import fill_through_worker, fold_through_worker

pytestmark = pytest.mark.browser

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")
# Visitors' addresses and their countries (the bundled database): France, Great Britain, the United States.
VISITORS = {"FR": "90.0.0.1", "GB": "81.2.69.142", "US": "24.24.24.24"}


@pytest.fixture(scope="module")
def report_campaign(web: str) -> int:
    """Readers in three countries from two newsletters; two French readers convert."""
    cid = new_campaign(f"Dog Food EU, Wellgreen {uuid.uuid4().hex[:4]}")
    events = []
    for i, (country, clicks) in enumerate((("FR", 6), ("GB", 3), ("US", 2))):
        for n in range(clicks):
            base = {"cid": cid, "email": f"reader{i}{n}@gmail.com", "domain": "news.example.com",
                    "ip": VISITORS[country], "utm_source": ("spring-sale", "weekly")[n % 2]}
            events.append({**base, "event": "email_click", **({"ua": IPHONE} if n % 3 == 0 else {})})
            if country == "FR" and n < 2:
                events.append({**base, "event": "conversion", "payout": "24.00"})
    send_events(web, events)
    wait_for_rollups(cid, users=11, events=len(events))
    fold_through_worker(cid, events=len(events))
    return cid


def test_report__break_down_sort_drill_down_and_download(page: Page, report_campaign: int) -> None:
    cid = report_campaign
    page.goto(f"/campaign/{cid}")
    page.locator("#reports-tab").click()
    expect(page).to_have_url(re.compile(rf"/campaign/{cid}/reports$"))
    expect(page.locator("#report-table")).to_be_visible()

    page.select_option("#report-by", "country")  # HTMX swaps the table and pushes the URL
    rows = page.locator("#report-table tbody tr")
    expect(rows.locator("td.value")).to_have_text(["FR", "GB", "US"])
    assert "by=country" in page.url
    french = rows.filter(has_text="FR")
    expect(french.locator("td.revenue")).to_have_text("$48.00")
    expect(french.locator("td.epc")).to_have_text("$8.00")
    expect(french.locator("svg.bar rect")).to_have_attribute("width", "100.0")
    screenshot(page, "reports")

    page.locator("#report-table th a[data-sort=value]").click()  # A to Z, then Z to A
    # The order A to Z is the one by clicks: wait for the swap (the pushed URL), or the next click is the old link.
    expect(page).to_have_url(re.compile(r"sort=value&dir=asc"))
    expect(rows.locator("td.value")).to_have_text(["FR", "GB", "US"])
    page.locator("#report-table th a[data-sort=value]").click()
    expect(rows.locator("td.value")).to_have_text(["US", "GB", "FR"])

    with page.expect_download() as download_info:
        page.locator("#report-csv").click()
    download = download_info.value
    assert download.suggested_filename == f"campaign-{cid}-report-country.csv"
    lines = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    assert lines[0][:2] == ["Country", "Email clicks"]
    assert [line[:2] for line in lines[1:]] == [["US", "2"], ["GB", "3"], ["FR", "6"]]

    page.select_option("#report-by", "utm_source")
    rows.filter(has_text="spring-sale").locator("a.drill").click()  # the journeys of that value
    expect(page.locator("#filter-report")).to_contain_text("utm_source: spring-sale")
    expect(page.locator("#journey-rows td.email")).to_have_count(6)  # 3 + 2 + 1 readers with n even
    page.locator("#filter-report a").click()  # cleared: everyone again
    expect(page.locator("#journey-rows td.email")).to_have_count(11)


def test_report__a_pair_added_filled_and_drilled_into(page: Page, report_campaign: int) -> None:
    cid = report_campaign
    page.goto(f"/campaign/{cid}/reports?by=country")
    page.select_option("#report-then", "device")  # not reported on yet: offered, not computed
    expect(page.locator("#report-pair-missing")).to_contain_text("Country then Device")
    page.locator("#pair-form button").click()
    expect(page).to_have_url(re.compile(r"by=country&then=device"))
    expect(page.locator("#report-pairs")).to_contain_text("Country then Device")
    fill_through_worker(cid)
    page.reload()
    rows = page.locator("#report-table tbody tr")
    french_phones = rows.filter(has=page.locator("td.value", has_text="FR")).filter(
        has=page.locator("td.then", has_text="mobile"))
    expect(french_phones.locator("td.num").first).to_have_text("2")
    screenshot(page, "reports-pair")
    french_phones.locator("a.drill").click()
    expect(page.locator("#filter-report")).to_contain_text("Country: FR · Device: mobile")
    emails = page.locator("#journey-rows td.email")
    expect(emails).to_have_count(2)  # reader00 and reader03: French, on an iPhone
    assert sorted(emails.all_text_contents()) == ["reader00@gmail.com", "reader03@gmail.com"]
