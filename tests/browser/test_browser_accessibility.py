"""An axe-core audit of every dashboard page, in Chromium: no serious or critical finding.

axe-core is vendored for the tests only (tests/browser/vendor/README.md). The pages forbid inline scripts
(Content-Security-Policy), so the audit's context bypasses the policy to inject it; every other browser test
runs with the policy on.
"""
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from common.db import connect
from tests.browser.helpers import CHROME_UA, new_campaign, wait_for_rollups
from tests.reports import fold_through_worker

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
# What must not be there. (Moderate and minor findings are printed, not failed on.)
FAILING = ("serious", "critical")


@pytest.fixture
def audited(new_context: Callable[..., BrowserContext], signed_in_state: Any) -> Callable[[bool], Page]:
    def open_page(signed_in: bool = True) -> Page:
        options: dict[str, Any] = {"bypass_csp": True}
        if signed_in:
            options["storage_state"] = signed_in_state
        return new_context(**options).new_page()

    return open_page


def audit(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it stands, worst first; prints every one."""
    page.add_script_tag(content=AXE)
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))")
    for violation in found:
        print(f"{page.url}: {violation['impact']} {violation['id']}: {violation['help']} {violation['nodes'][:3]}")
    return found


@pytest.fixture(scope="module")
def audited_campaign(web: str) -> int:
    cid = new_campaign("Dog Food US, Wellgreen")
    events = [("email_click", f"reader{i}@gmail.com") for i in range(4)] + [("landing_click", "reader0@gmail.com"),
                                                                          ("conversion", "reader0@gmail.com")]
    with httpx.Client(base_url=web, headers={"User-Agent": CHROME_UA}, timeout=30) as client:
        for event, email in events:
            params = {"cid": cid, "event": event, "email": email, "domain": "example1.com",
                      **({"payout": "24.00"} if event == "conversion" else {})}
            assert client.get("/api/event", params=params).status_code == 200
    wait_for_rollups(cid, users=4, events=len(events))
    fold_through_worker(cid, events=len(events))  # the Reports tab's table, audited too
    with connect() as conn:  # a webhook's delivery log, with a failed delivery and its Redeliver button
        conn.execute("INSERT INTO webhook_deliveries (campaign_id, event_id, status, attempts, response_status, "
                     "latency_ms, last_error, last_attempt_at) "
                     "VALUES (%s, nextval('events_id_seq'), 'failed', 30, 500, 42, 'HTTP 500', now())", (cid,))
    return cid


@pytest.mark.parametrize("path", ["/", "/?archived=1", "/?sort=roi&dir=desc&range=30d", "/create",
                                  "/campaign/{cid}", "/campaign/{cid}?counts=all&range=7d", "/campaign/{cid}/edit",
                                  "/campaign/{cid}/delete", "/campaign/{cid}/reports?by=device&counts=all",
                                  "/campaign/{cid}?by=utm_source&value=", "/campaign/999999999", "/settings",
                                  "/users"])
def test_dashboard_page__no_serious_or_critical_findings(audited: Callable[[bool], Page], audited_campaign: int,
                                                         path: str) -> None:
    page = audited(True)
    page.goto(path.format(cid=audited_campaign))
    if path.startswith("/campaign/{cid}") and path.count("/") == 2:
        page.locator("#chart svg").wait_for()  # the chart comes in after the page: audit it too
        page.locator("#integration > summary").click()  # and the panels' contents
        page.locator("#tracking > summary").click()
        page.locator("#webhook > summary").click()
        page.locator("#webhook-deliveries").wait_for()
    failing = [v for v in audit(page) if v["impact"] in FAILING]
    assert failing == [], json.dumps(failing, indent=1)


def test_login_page__no_serious_or_critical_findings(audited: Callable[[bool], Page]) -> None:
    page = audited(False)
    page.goto("/login")
    failing = [v for v in audit(page) if v["impact"] in FAILING]
    assert failing == [], json.dumps(failing, indent=1)
