"""Helpers for the browser tests: signing in, seeding campaigns and events, screenshots for the README."""
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page

from common.campaigns import create_campaign
from common.db import connect, get_session
from tests.services import wait_until

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROME_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/120.0 Safari/537.36")
# A page keeps this in `window` until it is really (re)loaded: HTMX swaps must leave it alone.
SET_MARKER = "window.__noReload = 'still here'"
READ_MARKER = "window.__noReload"


def log_in(page: Page, username: str, password: str) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def screenshot(page: Page, name: str, full_page: bool = True) -> None:
    """Keep a picture of the page for the README (docs/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # caret="initial": hiding the caret leaves style="" on every input, which HTMX's settle step then copies,
    # and the page's CSP (rightly) reports that as an inline style.
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page, caret="initial")


def new_campaign(name: str, offer_url: str = "https://wellgreen.com/dog-food-offer?aff=123") -> int:
    with get_session() as session:
        return create_campaign(session=session, name=name, offer_url=offer_url).id


def send_events(web: str, events: list[dict[str, Any]]) -> None:
    """Send events through /api/event as landing scripts do; every one must be accepted."""
    with httpx.Client(base_url=web, timeout=30, headers={"User-Agent": CHROME_UA}) as client:
        for params in events:
            r = client.get("/api/event", params=params)
            assert r.status_code == 200, r.text



def wait_for_rollups(campaign_id: int, *, users: int, events: int) -> None:
    """Wait until the worker has folded this many recipients and events into the campaign's domain_stats."""
    def folded() -> bool:
        with connect() as conn:
            row = conn.execute("SELECT coalesce(sum(users), 0), "
                               "coalesce(sum(email_clicks + landing_clicks + conversions), 0) "
                               "FROM domain_stats WHERE campaign_id = %s", (campaign_id,)).fetchone()
        return row == (users, events)

    wait_until(folded, timeout=30, message=f"{users} recipients, {events} events in campaign {campaign_id}")
