"""/r/{cid}, the tracking link, over HTTP against the real web tier, broker and worker."""
import re
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from common.campaigns import CampaignError, create_campaign, validate_campaign
from common.db import get_session
from tests.checks import assert_rollups_match_recount, event_count
from tests.services import wait_until
from web.ingest.redirect import fill_offer

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
OFFER = "https://offer.example.com/lp?e={email}&d={domain}&c={cid}&k={click_id}&aff=1#x-{click_id}"


def new_campaign(offer_url: str = OFFER) -> int:
    return new_link(offer_url)[0]


def new_link(offer_url: str = OFFER, *, id_links: bool = True) -> tuple[int, str]:
    """A new campaign's (id, link token); with its id links off from the start (no cache can hold them on)."""
    with get_session() as session:
        campaign = create_campaign(session=session, name=f"Link {uuid.uuid4().hex[:6]}", offer_url=offer_url)
        campaign.id_links = id_links
        return campaign.id, campaign.link_token


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


# --- fill_offer --------------------------------------------------------------------------------------------

def test_fill_offer__values_url_encoded_in_path_query_and_fragment() -> None:
    values = {"email": "a+b@x.com", "domain": "ex.com", "cid": "5", "click_id": "42"}
    assert fill_offer("https://o.example/p/{cid}?e={email}&d={domain}#{click_id}", values) == (
        "https://o.example/p/5?e=a%2Bb%40x.com&d=ex.com#42")


def test_fill_offer__a_value_cannot_add_parameters_or_macros() -> None:
    values = {"email": "x@y.com&admin=1/{click_id} #", "click_id": "7"}
    assert fill_offer("https://o.example/?e={email}", values) == (
        "https://o.example/?e=x%40y.com%26admin%3D1%2F%7Bclick_id%7D%20%23")


def test_fill_offer__percent_encoded_macros_and_unknown_ones() -> None:
    values = {"email": "a@b.co", "click_id": "9"}
    assert fill_offer("https://o.example/?e=%7Bemail%7D&k=%7bclick_id%7d&s={sub}", values) == (
        "https://o.example/?e=a%40b.co&k=9&s=%7Bsub%7D")


def test_fill_offer__made_ascii_for_the_location_header() -> None:
    assert fill_offer("https://bücher.example/straße?q=ü", {}) == (
        "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC")


@pytest.mark.parametrize("offer", ["javascript:alert(1)//{email}", "ftp://x.example/", "/relative?e={email}",
                                   "https://", "data:text/html,hi"])
def test_fill_offer__not_http__none(offer: str) -> None:
    assert fill_offer(offer, {"email": "a@b.co"}) is None


def test_campaign_offer__macros_in_the_host_refused() -> None:
    for offer in ("https://{domain}/x", "https://%7Bdomain%7D.example/x"):
        with pytest.raises(CampaignError, match="not its host"):
            validate_campaign("Name", offer)
    assert validate_campaign("Name", "https://o.example/{email}?k={click_id}")


# --- over HTTP ---------------------------------------------------------------------------------------------

def test_click__recorded_and_redirected_with_macros_filled(http: httpx.Client, db: psycopg.Connection) -> None:
    cid = new_campaign()
    r = http.get(f"/r/{cid}", params={"email": " John+news@Gmail.com", "domain": "Example1.com",
                                      "utm_source": "spring"}, headers={"User-Agent": CHROME})
    assert r.status_code == 302, r.text
    assert r.headers["cache-control"] == "no-store" and "x-tracker-error" not in r.headers
    location = r.headers["location"]
    assert location.startswith("https://offer.example.com/lp?e=John%2Bnews%40Gmail.com&d=Example1.com&c=")
    q = query(location)
    click_id = int(q["k"])
    assert (q["e"], q["d"], q["c"], q["aff"]) == ("John+news@Gmail.com", "Example1.com", str(cid), "1")
    assert urlsplit(location).fragment == f"x-{click_id}"

    wait_until(lambda: event_count(db, cid) == 1, message="click stored")
    row = db.execute("SELECT id, event_type, email, domain, ip, user_agent, extra_params FROM events "
                     "WHERE campaign_id = %s", (cid,)).fetchone()
    assert row is not None
    event_id, event_type, email, domain, ip, ua, extra = row
    assert (event_id, event_type, email, domain, ip, ua) == (
        click_id, "email_click", "john+news@gmail.com", "example1.com", "127.0.0.1", CHROME)
    assert extra["utm_source"] == "spring" and extra["_tracker"]["is_bot"] is False
    assert_rollups_match_recount(db, cid)


@pytest.mark.parametrize(
    ("query_string", "error"),
    [
        ("email=not-an-email&domain=example1.com", "email is not a valid address"),
        ("email=a@b.com", "missing required parameter(s): domain"),
        ("", "missing required parameter(s): email, domain"),
        ("email=a@b.com&domain=bad_domain!", "domain is not a valid host name"),
        ("email=a@b.com&domain=x.com&event=conversion", "parameter 'event' is repeated"),
        ("email=a%00@b.com&domain=x.com", "email contains a NUL byte"),
        ("email=%ff@b.com&domain=x.com", "parameters must be valid UTF-8"),
        ("email=a@b.com&domain=x.com&_tracker=1", "_tracker is reserved for the tracker's own data"),
    ],
)
def test_refused_click__still_redirected_nothing_stored(http: httpx.Client, db: psycopg.Connection,
                                                        query_string: str, error: str) -> None:
    cid = new_campaign()
    r = http.get(f"/r/{cid}?{query_string}")
    assert r.status_code == 302
    assert r.headers["x-tracker-error"] == error
    q = query(r.headers["location"])
    assert q["k"] == "" and q["c"] == str(cid)  # no click id: nothing was recorded
    # A valid click sent afterwards is stored: once it is, the refused one would have been too.
    marker = http.get(f"/r/{cid}", params={"email": "marker@gmail.com", "domain": "example1.com"})
    assert marker.status_code == 302 and query(marker.headers["location"])["k"]
    wait_until(lambda: event_count(db, cid) >= 1, message="marker click stored")
    assert event_count(db, cid) == 1


def test_refused_click__offer_gets_the_values_as_given(http: httpx.Client) -> None:
    cid = new_campaign()
    r = http.get(f"/r/{cid}", params={"email": "Not An Email", "domain": "example1.com"})
    assert r.status_code == 302
    assert query(r.headers["location"])["e"] == "Not An Email"


def test_header_error__only_printable_ascii(http: httpx.Client) -> None:
    cid = new_campaign()
    r = http.get(f"/r/{cid}", params=[("email", "a@b.com"), ("domain", "x.com"), ("ü", "1"), ("ü", "2")])
    assert r.headers["x-tracker-error"] == "parameter '?' is repeated"


def test_head__redirected_not_recorded(http: httpx.Client, db: psycopg.Connection) -> None:
    cid = new_campaign()
    r = http.head(f"/r/{cid}", params={"email": "a@b.com", "domain": "example1.com"})
    assert r.status_code == 302 and r.headers["x-tracker-error"] == "HEAD requests are not recorded"
    assert query(r.headers["location"])["e"] == "a@b.com"
    assert http.get(f"/r/{cid}", params={"email": "marker@b.com", "domain": "example1.com"}).status_code == 302
    wait_until(lambda: event_count(db, cid) >= 1, message="marker click stored")
    assert event_count(db, cid) == 1


@pytest.mark.parametrize("cid", ["2147483000", "0", "abc", "-5", "99999999999", "1e3", "٣"])
def test_unknown_campaign__plain_404_page(http: httpx.Client, cid: str) -> None:
    r = http.get(f"/r/{cid}", params={"email": "a@b.com", "domain": "example1.com"},
                 headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>Link not found</h1>" in r.text and "campaign" not in r.text.lower()  # nothing about the tracker
    assert r.headers["x-tracker-error"]
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_new_campaign__its_link_works_at_once(http: httpx.Client) -> None:
    """A campaign created after the web process cached the list is looked up on its own."""
    http.get(f"/r/{new_campaign()}", params={"email": "a@b.com", "domain": "example1.com"})
    cid = new_campaign("https://second.example/?k={click_id}")
    r = http.get(f"/r/{cid}", params={"email": "a@b.com", "domain": "example1.com"})
    assert r.status_code == 302 and r.headers["location"].startswith("https://second.example/?k=")


def test_overloaded__still_redirected_nothing_recorded(overloaded_web: str) -> None:
    cid = new_campaign()
    with httpx.Client(base_url=overloaded_web, timeout=30) as client:
        r = client.get(f"/r/{cid}", params={"email": "a@b.com", "domain": "example1.com"})
    assert r.status_code == 302
    assert r.headers["x-tracker-error"] == "overloaded, retry later"
    q = query(r.headers["location"])
    assert (q["e"], q["k"]) == ("a@b.com", "")


def test_openapi__documents_the_tracking_link(http: httpx.Client) -> None:
    op = http.get("/openapi.json").json()["paths"]["/r/{key}"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"key", "email", "domain"}
    assert "302" in op["responses"]


# --- link tokens ---------------------------------------------------------------------------------------------

def test_token_link__recorded_and_redirected(http: httpx.Client, db: psycopg.Connection) -> None:
    cid, token = new_link()
    r = http.get(f"/r/{token}", params={"email": "tok@x.com", "domain": "example1.com"},
                 headers={"User-Agent": CHROME})
    assert r.status_code == 302, r.text
    q = query(r.headers["location"])
    assert (q["e"], q["c"]) == ("tok@x.com", str(cid)) and int(q["k"]) > 0
    wait_until(lambda: event_count(db, cid) == 1, timeout=20, message="the token link's click stored")
    row = db.execute("SELECT id, event_type, email FROM events WHERE campaign_id = %s", (cid,)).fetchone()
    assert row == (int(q["k"]), "email_click", "tok@x.com")


def test_token_link__unguessable_and_distinct_per_campaign() -> None:
    tokens = {new_link()[1] for _ in range(5)}
    assert len(tokens) == 5
    assert all(len(t) == 22 and re.fullmatch(r"[A-Za-z0-9_-]+", t) for t in tokens)


def test_id_link__still_redirects_by_default(http: httpx.Client) -> None:
    cid, _ = new_link()
    r = http.get(f"/r/{cid}", params={"email": "old@x.com", "domain": "example1.com"})
    assert r.status_code == 302 and r.headers["location"].startswith("https://offer.example.com/lp?")


def test_id_link__switched_off_answers_like_no_campaign(http: httpx.Client, db: psycopg.Connection) -> None:
    cid, token = new_link(id_links=False)
    off = http.get(f"/r/{cid}", params={"email": "old@x.com", "domain": "example1.com"},
                   headers={"Accept": "text/html"})
    missing = http.get("/r/2147483000", params={"email": "old@x.com", "domain": "example1.com"},
                       headers={"Accept": "text/html"})
    assert off.status_code == missing.status_code == 404
    # Not a word of the offer, and nothing that tells a switched-off campaign from a missing one.
    assert "offer.example.com" not in off.text and "location" not in off.headers
    assert (off.text, off.headers["x-tracker-error"]) == (missing.text, missing.headers["x-tracker-error"])
    # The token link of the same campaign works; the refused id link recorded nothing.
    assert http.get(f"/r/{token}", params={"email": "new@x.com", "domain": "example1.com"}).status_code == 302
    wait_until(lambda: event_count(db, cid) == 1, timeout=20, message="the token link's click stored")
    assert db.execute("SELECT email FROM events WHERE campaign_id = %s", (cid,)).fetchone() == ("new@x.com",)


@pytest.mark.parametrize("key", ["A" * 22, "abcdefghijklmnop_-", "x" * 65, "tok%20en" * 3, "0123456789012"])
def test_unknown_token__plain_404_page(http: httpx.Client, key: str) -> None:
    r = http.get(f"/r/{key}", params={"email": "a@b.com", "domain": "example1.com"})
    assert r.status_code == 404 and "<h1>Link not found</h1>" in r.text


def test_api_event__keeps_cid_when_id_links_are_off(http: httpx.Client) -> None:
    cid, _ = new_link(id_links=False)
    r = http.get("/api/event", params={"cid": cid, "event": "landing_click", "email": "a@b.com",
                                       "domain": "example1.com"})
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_id_link__switched_off_on_a_live_campaign_stops_within_the_check(http: httpx.Client,
                                                                         db: psycopg.Connection) -> None:
    """A campaign whose id link the web process has cached: the switch reaches it by the change counter."""
    cid, token = new_link()
    params = {"email": "old@x.com", "domain": "example1.com"}
    assert http.get(f"/r/{cid}", params=params).status_code == 302
    db.execute("UPDATE campaigns SET id_links = false WHERE id = %s", (cid,))
    wait_until(lambda: http.get(f"/r/{cid}", params=params).status_code == 404, timeout=15,
               message="the id link switched off")
    assert http.get(f"/r/{token}", params=params).status_code == 302
