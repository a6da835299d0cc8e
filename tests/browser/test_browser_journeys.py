"""The user journeys table: filters, live email search and "Load more", in a real browser."""
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.helpers import (
    READ_MARKER,
    SET_MARKER,
    new_campaign,
    screenshot,
    send_events,
    wait_for_rollups,
)

pytestmark = pytest.mark.browser

RECIPIENTS = 130
DOMAINS = ("example1.com", "example2.com", "example3.com")


def recipient(i: int) -> tuple[str, str]:
    return f"user{i:03d}@{'gmail' if i % 2 else 'yahoo'}.com", DOMAINS[i % 3]


@pytest.fixture(scope="module")
def journeys_campaign(web: str) -> int:
    """130 recipients over three domains, sent through /api/event: all clicked, every 3rd landed, every 10th
    converted."""
    cid = new_campaign("Dog Food US, Wellgreen")
    events: list[dict[str, Any]] = []
    for i in range(RECIPIENTS):
        email, domain = recipient(i)
        kinds = ["email_click"] + ["landing_click"] * (i % 3 == 0) + ["conversion"] * (i % 10 == 0)
        events += [{"cid": cid, "event": kind, "email": email, "domain": domain, "utm_source": "newsletter"}
                   for kind in kinds]
    send_events(web, events)
    wait_for_rollups(cid, users=RECIPIENTS, events=len(events))
    return cid


def rows(page: Page) -> Any:
    return page.locator("#journey-rows tr")


def footer(page: Page) -> Any:
    return page.locator("#journeys-footer")


@pytest.fixture
def journeys_page(page: Page, journeys_campaign: int) -> Page:
    page.goto(f"/campaign/{journeys_campaign}")
    expect(footer(page)).to_contain_text(f"Showing 50 of {RECIPIENTS} users")
    page.evaluate(SET_MARKER)
    return page


def test_page__first_rows_and_screenshots(journeys_page: Page, new_context: Callable[..., BrowserContext],
                                          signed_in_state: object, journeys_campaign: int) -> None:
    page = journeys_page
    expect(rows(page)).to_have_count(50)
    first = rows(page).first.locator("td")
    expect(first).to_have_text(["user129@gmail.com", "example1.com", "✓", "✓", "✗"])
    expect(page.locator("#filter-domain option")).to_have_text(["All domains", *DOMAINS])
    screenshot(page, "campaign")

    phone = new_context(storage_state=signed_in_state, viewport={"width": 390, "height": 844},
                        is_mobile=True, has_touch=True, device_scale_factor=2).new_page()
    phone.goto(f"/campaign/{journeys_campaign}")
    expect(footer(phone)).to_contain_text("Showing 50 of")
    # Nothing sticks out sideways on a phone: wide tables scroll inside their own box.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone, "campaign-phone", full_page=False)


def test_filters__domain_then_event_combine(journeys_page: Page) -> None:
    page = journeys_page
    page.select_option("#filter-domain", "example2.com")
    expect(footer(page)).to_contain_text("Showing 43 of 43 users")
    expect(rows(page)).to_have_count(43)
    expect(page.locator("#journey-rows td.domain")).to_have_text(["example2.com"] * 43)

    page.select_option("#filter-event", "conversion")  # i % 3 == 1 and i % 10 == 0: 10, 40, 70, 100
    expect(footer(page)).to_contain_text("Showing 4 of 4 users")
    expect(page.locator("#journey-rows td.email")).to_have_text(
        ["user100@yahoo.com", "user070@yahoo.com", "user040@yahoo.com", "user010@yahoo.com"])

    page.select_option("#filter-domain", "")
    expect(footer(page)).to_contain_text("Showing 13 of 13 users")
    expect(page.locator("#journey-rows tr td:nth-child(5)")).to_have_text(["✓"] * 13)
    assert page.evaluate(READ_MARKER) == "still here"
    assert page.url.endswith("?event=conversion")  # the address follows the filters


def test_search__narrows_as_you_type(journeys_page: Page) -> None:
    page = journeys_page
    matching = [recipient(i)[0] for i in range(RECIPIENTS) if "user12" in recipient(i)[0]]
    page.locator("#filter-q").press_sequentially("USER12", delay=20)  # case-insensitive
    expect(footer(page)).to_contain_text(f"Showing {len(matching)} of {len(matching)} users")
    assert sorted(page.locator("#journey-rows td.email").all_inner_texts()) == sorted(matching)

    page.select_option("#filter-event", "landing_click")  # the search stays while another filter changes
    expected = [recipient(i)[0] for i in range(RECIPIENTS) if "user12" in recipient(i)[0] and i % 3 == 0]
    expect(page.locator("#journey-rows td.email")).to_have_count(len(expected))
    assert sorted(page.locator("#journey-rows td.email").all_inner_texts()) == sorted(expected)

    page.fill("#filter-q", "")
    page.locator("#filter-q").press("Backspace")
    expect(footer(page)).to_contain_text("Showing 44 of 44 users")
    assert page.evaluate(READ_MARKER) == "still here"


def test_load_more__appends_fifty_until_all_are_shown(journeys_page: Page) -> None:
    page = journeys_page
    load_more = page.get_by_role("button", name="Load more")
    load_more.click()
    expect(rows(page)).to_have_count(100)
    expect(footer(page)).to_contain_text(f"Showing 100 of {RECIPIENTS} users")
    load_more.click()
    expect(rows(page)).to_have_count(RECIPIENTS)
    expect(footer(page)).to_contain_text(f"Showing {RECIPIENTS} of {RECIPIENTS} users")
    expect(load_more).to_have_count(0)
    emails = page.locator("#journey-rows td.email").all_inner_texts()
    assert sorted(emails) == sorted(recipient(i)[0] for i in range(RECIPIENTS))  # each exactly once
    assert page.evaluate(READ_MARKER) == "still here"


def test_load_more__keeps_the_filters(journeys_page: Page) -> None:
    page = journeys_page
    page.select_option("#filter-event", "email_click")
    page.locator("#filter-q").press_sequentially("gmail", delay=20)
    expect(footer(page)).to_contain_text("Showing 50 of 65 users")
    page.get_by_role("button", name="Load more").click()
    expect(rows(page)).to_have_count(65)
    expect(footer(page)).to_contain_text("Showing 65 of 65 users")
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)
    assert all("gmail" in e for e in page.locator("#journey-rows td.email").all_inner_texts())

