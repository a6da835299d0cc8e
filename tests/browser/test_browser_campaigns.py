"""Creating a campaign and watching its numbers arrive, in a real browser against the real worker."""
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.helpers import (
    READ_MARKER,
    SET_MARKER,
    log_in,
    new_campaign,
    screenshot,
    send_events,
    wait_for_rollups,
)

pytestmark = pytest.mark.browser


def test_create_campaign__through_the_form_without_a_page_load(page: Page) -> None:
    page.goto("/")
    page.locator(".topbar").get_by_role("link", name="+ New Campaign").click()
    page.wait_for_url("**/create")
    expect(page.get_by_role("heading", name="Create New Campaign")).to_be_visible()
    screenshot(page, "create", full_page=False)
    page.evaluate(SET_MARKER)

    name = "Dog Food US, Wellgreen"
    page.fill("#name", name)
    page.fill("#offer_url", "wellgreen.com/no-scheme")
    page.get_by_role("button", name="Create Campaign").click()
    expect(page.locator("#offer_url-error")).to_contain_text("must be an absolute http:// or https:// URL")
    expect(page.locator("#name")).to_have_value(name)  # input kept
    expect(page.locator("#name-error")).to_have_count(0)

    page.fill("#name", "")
    page.fill("#offer_url", "https://wellgreen.com/dog-food-offer?aff=123")
    page.get_by_role("button", name="Create Campaign").click()
    expect(page.locator("#name-error")).to_have_text("Campaign name is required.")
    expect(page.locator("#offer_url")).to_have_value("https://wellgreen.com/dog-food-offer?aff=123")

    page.fill("#name", name)
    page.get_by_role("button", name="Create Campaign").click()
    page.wait_for_url(re.compile(r"/campaign/\d+$"))
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.locator(".offer a")).to_have_attribute("href", "https://wellgreen.com/dog-food-offer?aff=123")
    expect(page.get_by_role("link", name="← Back")).to_be_visible()
    assert page.evaluate(READ_MARKER) == "still here", "the page was reloaded"
    assert page.title().startswith(name)
    # The new campaign's page is live like any other: its stats refresh.
    with page.expect_response(re.compile(r"/campaign/\d+/stats$")) as refresh:
        pass
    assert refresh.value.status == 200


def test_stats__home_and_campaign_update_without_reloading(new_context: Callable[..., BrowserContext],
                                                           signed_in_state: object, web: str) -> None:
    cid = new_campaign("Fish Oil CA, HealthPlus")
    context = new_context(storage_state=signed_in_state)
    home, campaign = context.new_page(), context.new_page()
    home.goto("/")
    campaign.goto(f"/campaign/{cid}")
    row = home.locator(f"#campaign-{cid}")
    expect(row.locator(".clicks")).to_have_text("0")
    expect(campaign.locator("#stat-conv-rate")).to_have_text("—")
    expect(campaign.get_by_text("No events yet")).to_be_visible()
    for page in (home, campaign):
        page.evaluate(SET_MARKER)

    events = [{"cid": cid, "event": "email_click", "email": f"r{i}@gmail.com",
               "domain": f"example{i % 2 + 1}.com"} for i in range(3)]
    events += [{"cid": cid, "event": "landing_click", "email": "r0@gmail.com", "domain": "example1.com"},
               {"cid": cid, "event": "conversion", "email": "r0@gmail.com", "domain": "example1.com"}]
    send_events(web, events)

    expect(row.locator(".clicks")).to_have_text("3")
    expect(row.locator(".conv")).to_have_text("1")
    expect(campaign.locator("#stat-email-clicks")).to_have_text("3")
    expect(campaign.locator("#stat-landing-clicks")).to_have_text("1")
    expect(campaign.locator("#stat-conversions")).to_have_text("1")
    expect(campaign.locator("#stat-conv-rate")).to_have_text("33.3%")
    domain_rows = campaign.locator("#domain-stats tbody tr")
    expect(domain_rows).to_have_count(2)
    expect(domain_rows.first).to_contain_text("example1.com")
    # Each count is followed by its unique recipients ("Uniq"); no payouts were sent, so no revenue or EPC.
    expect(domain_rows.first.locator("td")).to_have_text(
        ["example1.com", "2", "2", "1", "1", "1", "1", "50.0%", "$0.00", "$0.00"])
    for page in (home, campaign):
        assert page.evaluate(READ_MARKER) == "still here", "the page was reloaded"
    screenshot(home, "home", full_page=False)


def test_copy_button__puts_the_campaign_id_on_the_clipboard(new_context: Callable[..., BrowserContext],
                                                            signed_in_state: object, web: str) -> None:
    cid = new_campaign("Cat Toys EU, PetCo")
    context = new_context(storage_state=signed_in_state)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web)
    page = context.new_page()
    page.goto(f"/campaign/{cid}")
    page.evaluate("navigator.clipboard.writeText('something else')")
    button = page.locator("#content button[data-copy]")
    expect(button).to_have_text("Copy")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == str(cid)
    expect(button).to_have_text("Copy")  # the label comes back


def test_unknown_campaign__not_found_page(page: Page) -> None:
    response = page.goto("/campaign/2147483000")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("There is no campaign with this ID.")).to_be_visible()
    screenshot(page, "not-found", full_page=False)
    page.get_by_role("link", name="← Back to campaigns").click()
    expect(page.get_by_role("heading", name="Your Campaigns")).to_be_visible()


def test_pages__work_without_javascript(new_context: Callable[..., BrowserContext],
                                        dashboard_user: tuple[str, str], web: str) -> None:
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/")
    log_in(page, *dashboard_user)
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/create")
    page.fill("#name", "Garden Tools DE, GrowMax")
    page.fill("#offer_url", "https://growmax.example/offer")
    page.get_by_role("button", name="Create Campaign").click()  # a plain form POST, then a redirect
    page.wait_for_url(re.compile(r"/campaign/\d+$"))
    cid = int(page.url.rsplit("/", 1)[1])

    send_events(web, [{"cid": cid, "event": "email_click", "email": f"{name}@gmail.com", "domain": domain}
                      for name, domain in (("ann", "a.example"), ("bob", "b.example"))])
    wait_for_rollups(cid, users=2, events=2)
    page.reload()
    expect(page.locator("#stat-email-clicks")).to_have_text("2")
    page.select_option("#filter-domain", "b.example")
    page.get_by_role("button", name="Filter").click()  # shown by <noscript>: the filter form is a GET form
    page.wait_for_url(re.compile(rf"/campaign/{cid}\?domain=b\.example"))
    expect(page.locator("#journey-rows td.email")).to_have_text(["bob@gmail.com"])

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
