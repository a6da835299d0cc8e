"""Money: payouts refused or counted exactly, the campaign's currency and cost, and the figures on the campaign
page and the home table (the same rule in Python and in SQL)."""
import re
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from common.campaigns import CampaignError, Money, create_campaign, update_campaign
from common.db import get_session
from common.models import Campaign
from tests.checks import assert_rollups_match_recount, event_count
from tests.events import CHROME, store
from tests.services import wait_until
from tests.web.test_dashboard import HX
from tests.web.test_postback import click, conversions

Client = TestClient


def money_campaign(currency: str = "USD", cost_total: str = "", cost_per_click: str = "", name: str = "") -> int:
    with get_session() as session:
        return create_campaign(session=session, name=name or f"Money {uuid.uuid4().hex[:6]}",
                               offer_url="https://offer.example.com/?sub1={click_id}",
                               money=Money(currency, cost_total, cost_per_click)).id


def conversion(cid: int, **extra: str) -> dict[str, Any]:
    return {"cid": cid, "event": "conversion", "email": "ann@gmail.com", "domain": "example1.com", **extra}


# --- the event API ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("payout", "why"), [
    ("-1", "must not be negative"), ("NaN", "finite"), ("Infinity", "finite"), ("1e309", "no exponent"),
    ("12,50", "dot for decimals"), ("1.1234567", "more than 6 decimals"), ("1234567890123", "larger than"),
    ("twelve", "non-negative decimal"),
])
def test_event__bad_payout__422_naming_why_and_nothing_stored(http: httpx.Client, db: psycopg.Connection,
                                                              payout: str, why: str) -> None:
    cid = money_campaign()
    r = http.get("/api/event", params=conversion(cid, payout=payout))
    assert r.status_code == 422 and r.json()["field"] == "payout" and why in r.json()["error"], r.text
    assert http.get("/api/event", params=conversion(cid)).status_code == 200  # a marker, stored after it
    wait_until(lambda: event_count(db, cid) >= 1, message="marker stored")
    assert event_count(db, cid) == 1


def test_event__payout_on_an_email_click__422(http: httpx.Client) -> None:
    r = http.get("/api/event", params={**conversion(money_campaign(), payout="1.00"), "event": "email_click"})
    assert r.status_code == 422 and r.json()["error"] == "payout is only for conversion events, not email_click"


@pytest.mark.parametrize(("currency", "status", "error"), [
    ("XYZ", 422, "'XYZ' is not an ISO 4217 currency code in use"),
    ("EUR", 422, "currency EUR is not the currency of campaign {cid}, USD"),
    ("usd", 200, None),
])
def test_event__currency_checked_against_the_campaign(http: httpx.Client, currency: str, status: int,
                                                      error: str | None) -> None:
    cid = money_campaign("USD")
    r = http.get("/api/event", params=conversion(cid, payout="9.99", currency=currency))
    assert r.status_code == status, r.text
    if error:
        assert error.format(cid=cid) in r.json()["error"] and r.json()["field"] == "currency"


def test_event__payout_stored_exactly_in_its_column_and_kept_in_extra_params(
    http: httpx.Client, db: psycopg.Connection
) -> None:
    cid = money_campaign()
    for payout in ("12.50", "0.000001", "999999999999.999999"):
        assert http.get("/api/event", params=conversion(cid, payout=payout),
                        headers={"User-Agent": CHROME}).status_code == 200
    r = http.post("/api/event", json={**conversion(cid), "payout": 12.5}, headers={"User-Agent": CHROME})
    assert r.status_code == 200, r.text  # a JSON number is read as its decimal text
    wait_until(lambda: event_count(db, cid) == 4, message="conversions stored")
    stored = db.execute("SELECT payout, extra_params ->> 'payout' FROM events WHERE campaign_id = %s ORDER BY id",
                        (cid,)).fetchall()
    assert [p for p, _ in stored] == [Decimal("12.5"), Decimal("0.000001"), Decimal("999999999999.999999"),
                                      Decimal("12.5")]
    assert [text for _, text in stored][:3] == ["12.50", "0.000001", "999999999999.999999"]
    revenue = db.execute("SELECT sum(revenue) FROM domain_stats WHERE campaign_id = %s", (cid,)).fetchone()[0]
    assert revenue == Decimal("1000000000025.000000")
    assert_rollups_match_recount(db, cid)


def test_event__json_payout_that_is_not_finite__4xx(http: httpx.Client) -> None:
    r = http.post("/api/event", content=b'{"cid": 1, "event": "conversion", "email": "a@b.com", "domain": "b.com",'
                                        b' "payout": 1e309}', headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500


# --- postbacks ------------------------------------------------------------------------------------------------

def _clicked(http: httpx.Client, db: psycopg.Connection, currency: str = "USD") -> tuple[int, str, int]:
    cid = money_campaign(currency)
    secret = db.execute("SELECT postback_secret FROM campaigns WHERE id = %s", (cid,)).fetchone()[0]
    click_id = click(http, cid)
    wait_until(lambda: event_count(db, cid) == 1, message="click stored")
    return cid, secret, click_id


def test_postback__retried_is_not_a_second_sale_or_a_second_payout(http: httpx.Client,
                                                                   db: psycopg.Connection) -> None:
    cid, secret, click_id = _clicked(http, db)
    params = {"cid": cid, "secret": secret, "click_id": click_id, "payout": "30.00", "currency": "USD"}
    first = http.get("/api/postback", params={**params, "txid": "SALE-1"})
    again = http.get("/api/postback", params={**params, "txid": "SALE-1"})
    assert (first.json()["status"], again.json()["status"]) == ("ok", "duplicate")
    no_txid = [http.get("/api/postback", params=params).json()["status"] for _ in range(2)]
    assert no_txid == ["ok", "duplicate"]  # without a txid: one per click
    assert len(conversions(db, cid)) == 2
    revenue = db.execute("SELECT sum(revenue) FROM domain_stats WHERE campaign_id = %s", (cid,)).fetchone()[0]
    assert revenue == Decimal("60")
    assert_rollups_match_recount(db, cid)


@pytest.mark.parametrize(("params", "field", "why"), [
    ({"payout": "12,50"}, "payout", "dot for decimals"),
    ({"payout": "1e309"}, "payout", "no exponent"),
    ({"payout": "5", "currency": "EUR"}, "currency", "is not the currency of campaign"),
    ({"payout": "5", "currency": "ZZZ"}, "currency", "not an ISO 4217"),
])
def test_postback__bad_money__422_at_once(http: httpx.Client, db: psycopg.Connection, params: dict[str, str],
                                          field: str, why: str) -> None:
    cid, secret, click_id = _clicked(http, db)
    r = http.get("/api/postback", params={"cid": cid, "secret": secret, "click_id": click_id, **params})
    assert r.status_code == 422 and r.json()["field"] == field and why in r.json()["error"], r.text
    assert conversions(db, cid) == []


def test_redelivered_batch__adds_no_second_payout(db: psycopg.Connection) -> None:
    cid = money_campaign()
    ids = [r[0] for r in db.execute("SELECT nextval('events_id_seq') FROM generate_series(1, 2)")]
    batch = [{"id": i, "cid": cid, "type": "conversion", "email": f"p{i}@x.com", "domain": "a.com", "ua": CHROME,
              "payout": "19.99", "extra": {"payout": "19.99"}, "ts": time.time()} for i in ids]
    assert store(db, batch) == 2 and store(db, batch) == 0
    revenue = db.execute("SELECT sum(revenue) FROM domain_stats WHERE campaign_id = %s", (cid,)).fetchone()[0]
    assert revenue == Decimal("39.98")
    assert_rollups_match_recount(db, cid)


# --- the campaign: currency and cost -----------------------------------------------------------------------

def test_campaign__currency_editable_until_it_has_revenue(db: psycopg.Connection) -> None:
    cid = money_campaign("USD")
    with get_session() as session:
        campaign = session.get(Campaign, cid)
        assert campaign is not None
        update_campaign(session=session, campaign=campaign, name=campaign.name, offer_url=campaign.offer_url,
                        money=Money("EUR", "100", "0.05"))
    store(db, [{"id": db.execute("SELECT nextval('events_id_seq')").fetchone()[0], "cid": cid, "type": "conversion",
                "email": "a@x.com", "domain": "a.com", "payout": "5", "ts": time.time()}])
    with get_session() as session:
        campaign = session.get(Campaign, cid)
        assert campaign is not None and (campaign.currency, campaign.cost_total) == ("EUR", Decimal("100"))
        with pytest.raises(CampaignError) as refused:
            update_campaign(session=session, campaign=campaign, name=campaign.name, offer_url=campaign.offer_url,
                            money=Money("GBP", "100", ""))
        assert "stays EUR" in refused.value.errors["currency"]


@pytest.mark.parametrize(("money", "field"), [(Money("XXX"), "currency"), (Money("USD", "-5"), "cost_total"),
                                              (Money("USD", "", "1,5"), "cost_per_click")])
def test_campaign__bad_money_named_per_field(money: Money, field: str) -> None:
    with get_session() as session, pytest.raises(CampaignError) as refused:
        create_campaign(session=session, name="Bad money", offer_url="https://o.example/", money=money)
    assert set(refused.value.errors) == {field}


def test_forms__create_with_cost_and_currency_then_edit(dashboard_client: Client, db: psycopg.Connection) -> None:
    page = dashboard_client.get("/create")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    assert '<option value="USD" selected>' in page.text and 'id="cost_total"' in page.text
    r = dashboard_client.post("/campaigns", data={"name": "Costly", "offer_url": "https://o.example/",
                                                  "currency": "EUR", "cost_total": "250", "cost_per_click": "0.05",
                                                  "csrf_token": csrf}, headers=HX)
    assert r.status_code == 200 and "HX-Location" in r.headers
    cid = int(re.search(r"/campaign/(\d+)", r.headers["HX-Location"])[1])
    assert db.execute("SELECT currency, cost_total, cost_per_click FROM campaigns WHERE id = %s",
                      (cid,)).fetchone() == ("EUR", Decimal("250"), Decimal("0.05"))
    edit = dashboard_client.get(f"/campaign/{cid}/edit")
    assert 'value="250"' in edit.text and 'value="0.05"' in edit.text and '<option value="EUR" selected>' in edit.text
    bad = dashboard_client.post(f"/campaign/{cid}/edit", data={"name": "Costly", "offer_url": "https://o.example/",
                                                               "currency": "EUR", "cost_total": "12,50",
                                                               "csrf_token": csrf}, headers=HX)
    assert bad.status_code == 422 and 'id="cost_total-error"' in bad.text and "dot for decimals" in bad.text


# --- the figures ---------------------------------------------------------------------------------------------

@pytest.fixture
def funnel(db: psycopg.Connection) -> int:
    """Cost 100 fixed + 0.50 per click; 10 people click (4 of them yesterday), 2 scanners click; 3 people
    convert for 20.00 each, a scanner's sandbox "converts" for 5.00."""
    cid = money_campaign("USD", "100", "0.50")
    ids = iter([r[0] for r in db.execute("SELECT nextval('events_id_seq') FROM generate_series(1, 20)")])
    now, yesterday = time.time(), time.time() - 86400
    events = [{"id": next(ids), "cid": cid, "type": "email_click", "email": f"p{i}@x.com", "domain": "a.com",
               "ua": CHROME, "ts": yesterday if i < 4 else now} for i in range(10)]
    events += [{"id": next(ids), "cid": cid, "type": "email_click", "email": f"s{i}@corp.com", "domain": "a.com",
                "ua": "Barracuda Sentinel (EE)", "ts": now} for i in range(2)]
    events += [{"id": next(ids), "cid": cid, "type": "conversion", "email": f"p{i}@x.com", "domain": "a.com",
                "ua": CHROME, "payout": "20.00", "extra": {"payout": "20.00"}, "ts": now} for i in range(7, 10)]
    events += [{"id": next(ids), "cid": cid, "type": "conversion", "email": "s0@corp.com", "domain": "a.com",
                "ua": "Barracuda Sentinel (EE)", "payout": "5.00", "extra": {"payout": "5.00"}, "ts": now}]
    store(db, events)
    assert_rollups_match_recount(db, cid)
    return cid


def _stats(client: Client, cid: int, **params: str) -> dict[str, str]:
    html = client.get(f"/campaign/{cid}/stats", params=params, headers=HX).text
    return {key: re.search(rf'id="stat-{key}">([^<]*)<', html)[1]
            for key in ("revenue", "cost", "profit", "roi", "epc", "email-clicks")}


def test_campaign_page__money_in_both_modes(dashboard_client: Client, funnel: int) -> None:
    people = _stats(dashboard_client, funnel)
    # 10 people's clicks: cost 100 + 10 x 0.50 = 105; revenue 60; profit -45; ROI -42.9 %; EPC 6.00
    assert people == {"revenue": "$60.00", "cost": "$105.00", "profit": "-$45.00", "roi": "-42.9%",
                      "epc": "$6.00", "email-clicks": "10"}
    everything = _stats(dashboard_client, funnel, counts="all")
    assert everything == {"revenue": "$65.00", "cost": "$106.00", "profit": "-$41.00", "roi": "-38.7%",
                          "epc": "$5.42", "email-clicks": "12"}


def test_campaign_page__a_range_carries_its_share_of_the_fixed_cost(dashboard_client: Client, funnel: int) -> None:
    today = _stats(dashboard_client, funnel, range="today")
    # today's 6 of the 10 people's clicks: 100 x 6/10 + 6 x 0.50 = 63
    assert (today["email-clicks"], today["cost"], today["revenue"]) == ("6", "$63.00", "$60.00")


def test_campaign_page__no_denominator_is_a_dash(dashboard_client: Client) -> None:
    cid = money_campaign("EUR")
    assert _stats(dashboard_client, cid) == {"revenue": "€0.00", "cost": "€0.00", "profit": "€0.00", "roi": "—",
                                             "epc": "—", "email-clicks": "0"}


def test_home__same_figures_as_the_campaign_page_sorted_and_totalled_per_currency(
    dashboard_client: Client, funnel: int
) -> None:
    name = f"Compare {uuid.uuid4().hex[:6]}"
    with get_session() as session:
        session.execute(Campaign.__table__.update().where(Campaign.id == funnel).values(name=f"{name} USD"))
    euro = money_campaign("EUR", "10", name=f"{name} EUR")
    for params, expected in (({}, _stats(dashboard_client, funnel)), ({"counts": "all"},
                                                                       _stats(dashboard_client, funnel, counts="all"))):
        home = dashboard_client.get("/", params={"q": name, "sort": "roi", "dir": "desc", **params})
        row = re.search(rf'<tr id="campaign-{funnel}">.*?</tr>', home.text, re.S)[0]
        for key in ("revenue", "cost", "profit", "roi", "epc"):
            assert f'class="num {key}' in row and f">{expected[key]}<" in row, (key, row)
        assert [c.id for c in home.context["campaigns"]] == [funnel, euro]  # ROI -42.9 % first; the EUR one has none
        totals = {t.currency: t for t in home.context["table"].totals}
        assert set(totals) == {"USD", "EUR"} and totals["EUR"].cost == Decimal("10")
    ascending = dashboard_client.get("/", params={"q": name, "sort": "cost", "dir": "asc"})
    assert [c.id for c in ascending.context["campaigns"]] == [euro, funnel]
    assert 'aria-sort="ascending"' in ascending.text


def test_home__search_paging_and_the_fragment_keeps_them(dashboard_client: Client) -> None:
    name = f"Paged {uuid.uuid4().hex[:6]}"
    ids = [money_campaign(name=f"{name} {i}") for i in range(3)]
    app_settings = dashboard_client.app.state.settings
    size, app_settings.campaigns_page_size = app_settings.campaigns_page_size, 2
    try:
        first = dashboard_client.get("/", params={"q": name.upper()})  # case-insensitive
        assert [c.id for c in first.context["campaigns"]] == ids[::-1][:2]
        assert "1\N{EN DASH}2 of 3 campaigns" in first.text and 'rel="next"' in first.text
        second = dashboard_client.get("/campaigns", params={"q": name, "page": 2}, headers=HX)
        assert [c.id for c in second.context["campaigns"]] == [ids[0]]
        assert second.headers["HX-Push-Url"] == f"/?q={name.replace(' ', '+')}&page=2"
        assert f'hx-get="/campaigns?q={name.replace(" ", "+")}&amp;page=2"' in second.text  # the refresh keeps them
        none = dashboard_client.get("/", params={"q": "no such campaign name"})
        assert 'id="campaigns-none"' in none.text
    finally:
        app_settings.campaigns_page_size = size


def test_home__a_range_reads_the_days_of_the_dashboards_zone(dashboard_client: Client, funnel: int) -> None:
    name = f"Ranged {uuid.uuid4().hex[:6]}"
    with get_session() as session:
        session.execute(Campaign.__table__.update().where(Campaign.id == funnel).values(name=name))
    today = dashboard_client.get("/", params={"q": name, "range": "today"}).context["campaigns"]
    # today's 6 people's clicks and the 3 conversions; the fixed cost's share as on the campaign page
    assert [(c.clicks, c.conversions, c.revenue, c.cost) for c in today] == [(6, 3, Decimal("60"), Decimal("63"))]
    week = dashboard_client.get("/", params={"q": name, "range": "7d", "counts": "all"}).context["campaigns"]
    assert [(c.clicks, c.revenue) for c in week] == [(12, Decimal("65"))]
