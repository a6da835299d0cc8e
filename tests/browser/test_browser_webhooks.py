"""The campaign page's unguessable tracking link and its webhook panel, used in the browser: set the URL (refused
inline, then saved without a reload), rotate the secret, see the delivery log and redeliver a failed one."""
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from common.db import connect
from tests.browser.helpers import CHROME_UA, READ_MARKER, SET_MARKER, new_campaign

pytestmark = pytest.mark.browser


def _row(cid: int) -> tuple[str, str | None, str]:
    with connect() as conn:
        row = conn.execute("SELECT link_token, webhook_url, webhook_secret FROM campaigns WHERE id = %s",
                           (cid,)).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def test_campaign_page__token_link_and_webhook_panel(new_context: Callable[..., BrowserContext],
                                                      signed_in_state: object, web: str) -> None:
    cid = new_campaign("Webhook Panel US")
    token, _, secret = _row(cid)
    with connect() as conn:
        delivery = conn.execute("INSERT INTO webhook_deliveries (campaign_id, event_id, status, attempts, "
                                "response_status, latency_ms, last_error, last_attempt_at) VALUES "
                                "(%s, nextval('events_id_seq'), 'failed', 31, 500, 42, 'HTTP 500', now()) "
                                "RETURNING id", (cid,)).fetchone()[0]
    page = new_context(storage_state=signed_in_state, user_agent=CHROME_UA).new_page()
    page.goto(f"/campaign/{cid}")
    page.evaluate(SET_MARKER)

    page.get_by_text("Tracking link & postback").click()
    expect(page.locator("#tracking-link")).to_have_text(f"{web}/r/{token}?email={{email}}&domain={{domain}}")
    expect(page.locator("#id-links")).to_contain_text(f"/r/{cid}")

    page.get_by_text("Webhook", exact=True).click()
    expect(page.locator("#webhook-secret")).to_be_hidden()
    page.get_by_text("Show secret").click()
    expect(page.locator("#webhook-secret")).to_have_text(secret)

    # The log (loaded by the panel): the failed delivery, with its answer, latency, attempts and a button.
    row = page.locator(f"#delivery-{delivery}")
    expect(row).to_contain_text("Failed")
    expect(row).to_contain_text("HTTP 500")
    expect(row).to_contain_text("42 ms")
    expect(row).to_contain_text("31")
    row.get_by_role("button", name="Redeliver").click()
    expect(page.locator(f"#delivery-{delivery}")).to_contain_text("Pending")
    expect(page.locator(f"#delivery-{delivery}").get_by_role("button", name="Redeliver")).to_have_count(0)

    # A refused URL: the reason inline, nothing saved.
    page.fill("#webhook-url", "http://crm.example.com/hook")
    page.get_by_role("button", name="Save webhook").click()
    expect(page.locator("#webhook-url-error")).to_contain_text("https://")
    assert _row(cid)[1] is None
    page.fill("#webhook-url", "https://crm.example.com/hook")
    page.get_by_role("button", name="Save webhook").click()
    expect(page.locator("#webhook-url-error")).to_have_count(0)
    expect(page.locator("#webhook-url")).to_have_value("https://crm.example.com/hook")
    assert _row(cid)[1] == "https://crm.example.com/hook"

    page.get_by_role("button", name="Rotate secret").click()
    page.get_by_text("Show secret").click()
    expect(page.locator("#webhook-secret")).not_to_have_text(secret)
    assert page.locator("#webhook-secret").text_content() == _row(cid)[2]
    assert page.evaluate(READ_MARKER) == "still here"  # every change swapped in place, no reload
