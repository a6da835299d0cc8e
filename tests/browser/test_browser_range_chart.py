"""The date range bar and the over-time chart in a real browser: presets, a custom range, the live refresh
keeping the range, journeys filters keeping it. Today's events go through /api/event and the real worker;
older ones through the worker's own insert statement (the API stamps events with the time they arrive)."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from common.db import connect
from tests.browser.helpers import (
    READ_MARKER,
    SET_MARKER,
    new_campaign,
    screenshot,
    send_events,
    wait_for_rollups,
)
from tests.events import store

pytestmark = pytest.mark.browser

TEN_DAYS_AGO = datetime.now(UTC) - timedelta(days=10)


@pytest.fixture(scope="module")
def dated_campaign(web: str) -> int:
    """Three recipients today on two domains (one converted), two ten days ago."""
    cid = new_campaign("Winter Boots, US list")
    today = [("ann@gmail.com", "mail1.example.com"), ("bob@yahoo.com", "mail2.example.com"),
             ("cid@aol.com", "mail1.example.com")]
    send_events(web, [{"cid": cid, "event": "email_click", "email": e, "domain": d} for e, d in today]
                + [{"cid": cid, "event": "landing_click", "email": "ann@gmail.com", "domain": "mail1.example.com"},
                   {"cid": cid, "event": "conversion", "email": "ann@gmail.com", "domain": "mail1.example.com"}])
    older = [("email_click", "old1@gmail.com", 0), ("email_click", "old2@gmail.com", 60),
             ("landing_click", "old2@gmail.com", 90)]
    with connect() as conn:
        ids = [row[0] for row in conn.execute("SELECT nextval('events_id_seq') FROM generate_series(1, 3)")]
        store(conn, [
            {"id": event_id, "cid": cid, "type": event_type, "email": email, "domain": "mail2.example.com",
             "ip": "198.51.100.9", "ua": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "extra": {},
             "ts": TEN_DAYS_AGO.timestamp() + seconds}
            for event_id, (event_type, email, seconds) in zip(ids, older, strict=True)])
    wait_for_rollups(cid, users=5, events=8)
    return cid


def test_range_presets_custom_range_and_live_refresh(page: Page, web: str, dated_campaign: int) -> None:
    cid = dated_campaign
    page.goto(f"/campaign/{cid}")
    presets = page.locator("#range-presets")
    expect(presets.locator("a.active")).to_have_text("All time")
    expect(page.locator("#stat-email-clicks")).to_have_text("5")
    expect(page.locator("#events-chart")).to_be_visible()
    expect(page.locator("#chart-total-email_clicks")).to_have_text("Email clicks: 5")
    expect(page.locator("#journeys-footer")).to_contain_text("Showing 5 of 5 users")

    presets.get_by_role("link", name="Today").click()
    page.wait_for_url(re.compile(rf"/campaign/{cid}\?range=today$"))
    expect(presets.locator("a.active")).to_have_text("Today")
    expect(page.locator("#stat-email-clicks")).to_have_text("3")
    expect(page.locator("#stat-conversions")).to_have_text("1")
    expect(page.locator("#journeys-period")).to_have_text("recipients first seen: Today")
    expect(page.locator("#journeys-footer")).to_contain_text("Showing 3 of 3 users")
    expect(page.locator("#chart rect.slot")).to_have_count(datetime.now(UTC).hour + 1)  # per hour, up to now
    expect(page.locator("#chart-total-email_clicks")).to_have_text("Email clicks: 3")

    # A new click shows up in the stats, the chart and the domains table without a reload, still for today.
    page.evaluate(SET_MARKER)
    send_events(web, [{"cid": cid, "event": "email_click", "email": "dan@gmail.com", "domain": "mail2.example.com"}])
    expect(page.locator("#stat-email-clicks")).to_have_text("4", timeout=30_000)
    expect(page.locator("#chart-total-email_clicks")).to_have_text("Email clicks: 4", timeout=30_000)
    expect(page.locator("#domain-stats tr", has_text="mail2.example.com").locator("td").nth(1)).to_have_text(
        "2", timeout=30_000)
    assert page.evaluate(READ_MARKER) == "still here"
    screenshot(page, "campaign-range-chart", full_page=False)

    # The journeys filter keeps the range in the address bar.
    page.select_option("#filter-domain", "mail1.example.com")
    expect(page.locator("#journeys-footer")).to_contain_text("Showing 2 of 2 users")
    page.wait_for_url(re.compile(r"\?domain=mail1\.example\.com&range=today$"))

    # A custom range of the day ten days ago: only that day's recipients, events and domain; the filter stays.
    day = TEN_DAYS_AGO.date().isoformat()
    page.fill("#range-from", day)
    page.fill("#range-to", day)
    page.locator("#range-custom").get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(rf"/campaign/{cid}\?domain=mail1\.example\.com&range=custom&from={day}&to={day}$"))
    expect(page.locator("#stat-email-clicks")).to_have_text("2")
    expect(page.locator("#stat-landing-clicks")).to_have_text("1")
    expect(page.locator("#domain-stats tbody tr")).to_have_count(1)
    expect(page.locator("#journeys-footer")).to_contain_text("Showing 0 of 0 users")  # mail1 had nobody then
    page.select_option("#filter-domain", "")
    expect(page.locator("#journeys-footer")).to_contain_text("Showing 2 of 2 users")
    expect(page.locator("#range-from")).to_have_value(day)

    presets.get_by_role("link", name="All time").click()
    page.wait_for_url(re.compile(rf"/campaign/{cid}$"))
    expect(page.locator("#stat-email-clicks")).to_have_text("6")


def test_custom_range_ending_before_it_starts_is_explained(page: Page, dated_campaign: int) -> None:
    page.goto(f"/campaign/{dated_campaign}")
    page.fill("#range-from", "2026-03-10")
    page.fill("#range-to", "2026-03-01")
    page.locator("#range-custom").get_by_role("button", name="Apply").click()
    expect(page.locator("#range-error")).to_have_text("The custom range starts after it ends. Showing all time.")
    expect(page.locator("#range-presets a.active")).to_have_text("All time")
