"""Money in a real browser: a funnel with payouts and a cost, on the campaign page and on a sorted home page."""
import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from common.campaigns import Money, create_campaign
from common.db import get_session
from tests.browser.helpers import CHROME_UA, screenshot, wait_for_rollups

pytestmark = pytest.mark.browser

TAG = uuid.uuid4().hex[:4]  # the suite's database holds other campaigns by these names


def _campaign(name: str, money: Money) -> int:
    with get_session() as session:
        return create_campaign(session=session, name=name, offer_url="https://wellgreen.com/offer?aff=123",
                               money=money).id


def _send(web: str, cid: int, clicks: int, payouts: list[str]) -> None:
    """`clicks` people click; the first of them convert, one payout each."""
    with httpx.Client(base_url=web, headers={"User-Agent": CHROME_UA}, timeout=30) as client:
        for i in range(clicks):
            base = {"cid": cid, "email": f"buyer{i}@gmail.com", "domain": f"news{i % 2 + 1}.example.com"}
            assert client.get("/api/event", params={**base, "event": "email_click"}).status_code == 200
            if i < len(payouts):
                r = client.get("/api/event", params={**base, "event": "conversion", "payout": payouts[i]})
                assert r.status_code == 200, r.text
    wait_for_rollups(cid, users=clicks, events=clicks + len(payouts))


@pytest.fixture(scope="module")
def campaigns(web: str) -> tuple[int, int, int]:
    """Three campaigns, sorted by ROI: a winner (USD), a loser (USD) and one in euros."""
    winner = _campaign(f"Dog Food US, Wellgreen {TAG}", Money("USD", "50", "0.10"))
    _send(web, winner, 20, ["24.00", "24.00", "36.50"])  # revenue 84.50, cost 52.00
    loser = _campaign(f"Cat Toys EU, PetCo {TAG}", Money("USD", "120"))
    _send(web, loser, 10, ["15.00"])  # revenue 15.00, cost 120.00
    euro = _campaign(f"Fish Oil DE, HealthPlus {TAG}", Money("EUR", "", "0.50"))
    _send(web, euro, 8, ["12.00", "12.00"])  # revenue 24.00, cost 4.00
    return winner, loser, euro


def test_campaign_page__revenue_cost_profit_roi_epc(page: Page, campaigns: tuple[int, int, int]) -> None:
    winner = campaigns[0]
    page.goto(f"/campaign/{winner}")
    expect(page.locator("#stat-email-clicks")).to_have_text("20")
    expect(page.locator("#stat-conversions")).to_have_text("3")
    expect(page.locator("#stat-revenue")).to_have_text("$84.50")
    expect(page.locator("#stat-cost")).to_have_text("$52.00")  # 50 fixed + 20 clicks x 0.10
    expect(page.locator("#stat-profit")).to_have_text("$32.50")
    expect(page.locator("#stat-roi")).to_have_text("62.5%")
    expect(page.locator("#stat-epc")).to_have_text("$4.23")
    expect(page.locator("#cost-rule")).to_contain_text("spread evenly over its email clicks")
    expect(page.locator("#domain-stats tr", has_text="news1.example.com").locator("td.revenue")).to_have_text("$60.50")
    page.locator("#chart-revenue-toggle").click()  # the revenue line, on its own axis
    expect(page.locator("#chart-total-revenue")).to_contain_text("$84.50")
    expect(page.locator("#chart polyline.revenue")).to_have_count(1)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "campaign-money", full_page=False)


def test_home__compares_campaigns_sorted_by_roi_with_totals_per_currency(page: Page,
                                                                         campaigns: tuple[int, int, int]) -> None:
    winner, loser, euro = campaigns
    page.goto("/")
    page.locator("#campaigns th a[data-sort='roi']").click()
    page.wait_for_url(re.compile(r"/\?sort=roi&dir=desc$"))
    ours = page.locator("#campaigns tbody tr").filter(has=page.locator("td.name", has_text=TAG))
    # euro: ROI 500 %, winner 62.5 %, loser -87.5 %
    expect(ours.locator("td.name")).to_have_text([f"Fish Oil DE, HealthPlus {TAG}", f"Dog Food US, Wellgreen {TAG}",
                                                   f"Cat Toys EU, PetCo {TAG}"])
    row = page.locator(f"#campaign-{loser}")
    expect(row.locator(".roi")).to_have_text("-87.5%")
    expect(row.locator(".profit")).to_have_text("-$105.00")
    expect(page.locator(f"#campaign-{euro} .revenue")).to_have_text("€24.00")
    expect(page.locator("#total-EUR")).to_contain_text("€24.00")
    expect(page.locator("#total-USD")).to_be_visible()  # dollars and euros are never added together
    page.locator("#campaign-q").press_sequentially(f"wellgreen {TAG}")  # as typed: HTMX searches on keyup
    expect(page.locator("#campaigns tbody tr")).to_have_count(1)
    page.wait_for_url(re.compile(rf"q=wellgreen\+{TAG}"))
    expect(page.locator(f"#campaign-{winner} .epc")).to_have_text("$4.23")
    page.locator("#campaign-q").press("Escape")  # clears a search box: its `search` event
    page.locator("#campaign-q").fill("")
    page.locator("#campaign-q").press("Enter")
    expect(ours).to_have_count(3)
    screenshot(page, "home-money", full_page=False)
