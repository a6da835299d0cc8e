"""Roles and API tokens in a real browser: a viewer sees no create, edit, archive or delete control; a token
made on the Settings page is shown once, works against /api/v1, and stops when revoked there."""
import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.helpers import log_in, new_campaign
from tests.web.api_helpers import bearer, new_user

pytestmark = pytest.mark.browser


def test_viewer__sees_no_write_controls(new_context: Callable[..., BrowserContext]) -> None:
    campaign_id = new_campaign("Viewer's view")
    page = new_context().new_page()
    page.goto("/login")
    log_in(page, *new_user("viewer"))
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name="Settings")).to_be_visible()
    expect(page.get_by_role("link", name="+ New Campaign")).to_have_count(0)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    page.goto(f"/campaign/{campaign_id}")
    expect(page.locator("#campaign-id")).to_have_text(str(campaign_id))
    for name in ("Edit", "Archive", "Delete…"):
        expect(page.get_by_role("link", name=name, exact=True).or_(
            page.get_by_role("button", name=name, exact=True))).to_have_count(0)
    response = page.goto(f"/campaign/{campaign_id}/edit")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_settings__token_shown_once_then_revoked(new_context: Callable[..., BrowserContext], web: str) -> None:
    page = new_context().new_page()
    page.goto("/login")
    log_in(page, *new_user("editor"))
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Name").fill("Looker Studio")
    page.get_by_label("Scope").select_option("read")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token-value").inner_text()
    assert token.startswith("ctk_")
    with httpx.Client(base_url=web, timeout=30) as client:
        assert client.get("/api/v1/campaigns", headers=bearer(token)).status_code == 200
        page.goto("/settings")
        expect(page.locator("#new-token-value")).to_have_count(0)  # never shown again
        expect(page.locator("#tokens")).to_contain_text("Looker Studio")
        page.get_by_role("button", name="Revoke Looker Studio").click()
        expect(page.locator("#notice")).to_have_text("The token was revoked.")
        assert client.get("/api/v1/campaigns", headers=bearer(token)).status_code == 401
