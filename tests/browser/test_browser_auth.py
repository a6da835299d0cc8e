"""Signing in and out in a real browser."""
import hashlib
import re
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.helpers import SET_MARKER, log_in, new_campaign, screenshot

pytestmark = pytest.mark.browser


def test_signed_out_visitor__sent_to_login_and_back(new_context: Callable[..., BrowserContext],
                                                    dashboard_user: tuple[str, str]) -> None:
    campaign_id = new_campaign("Cat Toys EU, PetCo")
    page = new_context().new_page()
    page.goto(f"/campaign/{campaign_id}")
    assert re.search(r"/login\?next=%2Fcampaign%2F\d+$", page.url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "login", full_page=False)

    log_in(page, dashboard_user[0], "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    log_in(page, *dashboard_user)
    page.wait_for_url(f"**/campaign/{campaign_id}")
    expect(page.locator("#campaign-id")).to_have_text(str(campaign_id))


def test_sign_out__ends_the_session(new_context: Callable[..., BrowserContext],
                                    dashboard_user: tuple[str, str]) -> None:
    context = new_context()
    page = context.new_page()
    page.goto("/login")
    log_in(page, *dashboard_user)
    page.wait_for_url(re.compile(r"/$"))
    cookie = next(c for c in context.cookies() if c["name"] == "tracker_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("tracker_session") == -1  # invisible to scripts

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto("/")
    assert page.url.endswith("/login")


def test_session_ended_elsewhere__polling_page_goes_to_login(new_context: Callable[..., BrowserContext],
                                                             dashboard_user: tuple[str, str],
                                                             db: psycopg.Connection[Any]) -> None:
    context = new_context()
    page: Page = context.new_page()
    page.goto("/login")
    log_in(page, *dashboard_user)
    page.wait_for_url(re.compile(r"/$"))
    page.evaluate(SET_MARKER)
    token = next(c["value"] for c in context.cookies() if c["name"] == "tracker_session")
    db.execute("DELETE FROM sessions WHERE token_hash = %s", (hashlib.sha256(token.encode()).hexdigest(),))
    # The table's next refresh gets 401 + HX-Redirect, and the browser goes to the login page.
    page.wait_for_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
