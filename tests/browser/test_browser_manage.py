"""Editing, archiving and deleting a campaign, in a real browser."""
import re

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

pytestmark = pytest.mark.browser


def test_edit__name_and_offer_saved_without_a_page_load(page: Page) -> None:
    cid = new_campaign("Fish Oil CA, HealthPlus")
    page.goto(f"/campaign/{cid}")
    page.get_by_role("link", name="Edit").click()
    page.wait_for_url(f"**/campaign/{cid}/edit")
    expect(page.locator("#name")).to_have_value("Fish Oil CA, HealthPlus")
    page.evaluate(SET_MARKER)
    page.fill("#offer_url", "not a url")
    page.get_by_role("button", name="Save Changes").click()
    expect(page.locator("#offer_url-error")).to_contain_text("absolute http")
    page.fill("#name", "Fish Oil CA, HealthPlus (v2)")
    page.fill("#offer_url", "https://healthplus.example/fish-oil?aff=9")
    screenshot(page, "edit", full_page=False)
    page.get_by_role("button", name="Save Changes").click()
    page.wait_for_url(re.compile(rf"/campaign/{cid}$"))
    expect(page.get_by_role("heading", name="Fish Oil CA, HealthPlus (v2)")).to_be_visible()
    expect(page.locator(".offer a")).to_have_attribute("href", "https://healthplus.example/fish-oil?aff=9")
    assert page.evaluate(READ_MARKER) == "still here"


def test_archive__hidden_from_home_still_tracking_then_back(page: Page, web: str) -> None:
    cid = new_campaign("Archived Dog Food")
    page.goto(f"/campaign/{cid}")
    page.get_by_role("button", name="Archive").click()
    expect(page.locator("#archived-badge")).to_have_text("Archived")
    page.goto("/")
    expect(page.locator(f"#campaign-{cid}")).to_have_count(0)

    send_events(web, [{"cid": cid, "event": "email_click", "email": "late@gmail.com", "domain": "example1.com"}])
    wait_for_rollups(cid, users=1, events=1)

    page.locator("#archived-link").click()
    page.wait_for_url(re.compile(r"/\?archived=1$"))
    row = page.locator(f"#campaign-{cid}")
    expect(row.locator(".clicks")).to_have_text("1")  # still counted
    row.get_by_role("link").click()
    page.get_by_role("button", name="Unarchive").click()
    expect(page.locator("#archived-badge")).to_have_count(0)
    page.goto("/")
    expect(page.locator(f"#campaign-{cid}")).to_have_count(1)


def test_delete__asks_first_then_removes_campaign_and_events(page: Page, web: str) -> None:
    cid = new_campaign("Delete Me, Old Test")
    send_events(web, [{"cid": cid, "event": "email_click", "email": f"r{i}@gmail.com", "domain": "example1.com"}
                      for i in range(3)])
    wait_for_rollups(cid, users=3, events=3)
    page.goto(f"/campaign/{cid}")
    page.get_by_role("link", name="Delete…").click()
    page.wait_for_url(f"**/campaign/{cid}/delete")
    expect(page.locator("#delete-events")).to_have_text("3 events")
    screenshot(page, "delete", full_page=False)

    page.get_by_role("link", name="Cancel").click()  # changing one's mind changes nothing
    page.wait_for_url(re.compile(rf"/campaign/{cid}$"))
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Delete campaign and its events").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(f"#campaign-{cid}")).to_have_count(0)

    with connect() as conn:
        def gone() -> bool:
            row = conn.execute("SELECT (SELECT count(*) FROM campaigns WHERE id = %s) + "
                               "(SELECT count(*) FROM events WHERE campaign_id = %s)", (cid, cid)).fetchone()
            return row == (0,)

        from tests.services import wait_until
        wait_until(gone, timeout=30, message="campaign and events deleted")
    assert page.goto(f"/campaign/{cid}").status == 404
