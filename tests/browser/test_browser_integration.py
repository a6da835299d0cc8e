"""The campaign page's tracking link, postback URL and snippets, used as a marketer and a recipient would:
copy the link, follow it to the offer, run the copied landing-page snippets there, see the events arrive.

The offer is the tracker's own /healthz, so no request leaves 127.0.0.1.
"""
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, expect

from common.db import connect
from tests.browser.helpers import CHROME_UA, SCREENSHOTS, new_campaign

pytestmark = pytest.mark.browser

EMAIL, DOMAIN = "ann@gmail.com", "example1.com"


def fill(template: str) -> str:
    """What the mailer (or the landing page's server) does to the placeholders."""
    return template.replace("{email}", "ann%40gmail.com").replace("{domain}", DOMAIN)


def test_tracking_link__copied_followed_and_counted(new_context: Callable[..., BrowserContext],
                                                    signed_in_state: object, web: str) -> None:
    cid = new_campaign("Garden Hose US, AquaFlow", f"{web}/healthz?email={{email}}&domain={{domain}}"
                                                   "&click={click_id}")
    with connect() as conn:
        row = conn.execute("SELECT postback_secret, link_token FROM campaigns WHERE id = %s", (cid,)).fetchone()
    assert row is not None
    secret, token = row
    # A desktop browser's user agent: headless Chromium's own would be counted as a bot, not in "humans only".
    context = new_context(storage_state=signed_in_state, user_agent=CHROME_UA)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web)
    page = context.new_page()
    page.goto(f"/campaign/{cid}")

    # The tracking link: shown once its panel is opened, copied with its button.
    link = page.locator("#tracking-link")
    expect(link).to_be_hidden()
    page.get_by_text("Tracking link & postback").click()
    expected_link = f"{web}/r/{token}?email={{email}}&domain={{domain}}"
    expect(link).to_have_text(expected_link)
    copy_link = page.locator('button[data-copy-from="#tracking-link"]')
    expect(copy_link).to_have_text("Copy")
    copy_link.click()
    expect(copy_link).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == expected_link

    # The postback URL holds the secret: hidden until asked for, copied whole either way.
    postback = page.locator("#postback-url")
    expect(postback).to_be_hidden()
    page.locator('button[data-copy-from="#postback-url"]').click()
    assert page.evaluate("navigator.clipboard.readText()") == (
        f"{web}/api/postback?cid={cid}&secret={secret}&click_id={{click_id}}&payout={{payout}}&txid={{txid}}")
    page.get_by_text("Show postback URL").click()
    expect(postback).to_contain_text(f"secret={secret}")

    # The snippets, campaign id and tracker address filled in.
    page.get_by_text("Integration", exact=True).click()
    snippets = {name: page.locator(f"#snippet-{name}") for name in ("js", "php", "python", "pixel")}
    for heading in ("Browser JavaScript", "PHP (curl)", "Python (httpx or requests)", "Image pixel"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    for snippet in snippets.values():
        expect(snippet).to_be_visible()
        expect(snippet).to_contain_text(f"{web}/api/event")
    page.locator('button[data-copy-from="#snippet-python"]').click()
    assert page.evaluate("navigator.clipboard.readText()") == snippets["python"].text_content()
    for button in page.locator("#setup button[data-copy-from]").all():
        expect(button).to_have_text("Copy")  # the labels come back
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#setup").screenshot(path=str(SCREENSHOTS / "campaign-setup.png"), caret="initial")

    # A recipient clicks the link in their email: recorded, and on to the offer with the macros filled in.
    recipient = context.new_page()
    recipient.goto(fill(copied))
    expect(recipient).to_have_url(re.compile(rf"^{re.escape(web)}/healthz\?email=ann%40gmail\.com"
                                             rf"&domain=example1\.com&click=\d+$"))
    click_id = int(parse_qs(urlsplit(recipient.url).query)["click"][0])

    # The offer (the landing page) runs the copied browser snippet, and shows the copied pixel.
    script = snippets["js"].text_content() or ""
    recipient.add_script_tag(content=script.removeprefix("<script>").removesuffix("</script>"))
    recipient.evaluate("html => document.body.insertAdjacentHTML('beforeend', html)",
                       fill(snippets["pixel"].text_content() or ""))
    recipient.wait_for_function("document.images.length === 1 && document.images[0].complete")
    assert recipient.evaluate("document.images[0].naturalWidth") == 1

    # The marketer's page counts them as they arrive (it refreshes itself).
    expect(page.locator("#stat-email-clicks")).to_have_text("1", timeout=30_000)
    expect(page.locator("#stat-landing-clicks")).to_have_text("2", timeout=30_000)
    with connect() as conn:
        events = conn.execute("SELECT id, event_type, email, domain FROM events WHERE campaign_id = %s "
                              "ORDER BY id", (cid,)).fetchall()
    assert events[0] == (click_id, "email_click", EMAIL, DOMAIN)
    assert sorted(e[1:] for e in events[1:]) == [("landing_click", EMAIL, DOMAIN)] * 2
    page.reload()
    expect(page.locator("#journey-rows td.email")).to_have_text([EMAIL])
