"""Dashboard pages and fragments: status, template, context and the HTMX attributes the spec names.

The in-process app (`dashboard_app`) renders with the spec's refresh intervals; rollup rows are written
straight into domain_stats and journeys, the way the worker leaves them.
"""
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from common.campaigns import create_campaign
from common.db import get_session
from web.dashboard.queries import JourneyFilters

Client = TestClient
HX = {"HX-Request": "true"}


OFFER = "https://wellgreen.com/dog-food-offer?aff=123"


def new_campaign(name: str | None = None, offer_url: str = OFFER) -> int:
    with get_session() as session:
        return create_campaign(session=session, name=name or f"Dog Food {uuid.uuid4().hex[:6]}",
                               offer_url=offer_url).id


def seed_journeys(db: psycopg.Connection[Any], campaign_id: int,
                  journeys: list[tuple[str, str, int, int, int]]) -> None:
    """Journeys (email, domain, email clicks, landing clicks, conversions), the first the newest, and the
    domain_stats rows that agree with them (each count = that many events)."""
    start = datetime(2026, 1, 15, 12, 0, 0)
    for i, (email, domain, ec, lc, cv) in enumerate(journeys):
        seen = start - timedelta(minutes=i)
        db.execute("INSERT INTO journeys (campaign_id, email, domain, first_seen, last_seen, email_clicks, "
                   "landing_clicks, conversions) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                   (campaign_id, email, domain, seen, seen, ec, lc, cv))
    db.execute("""
        INSERT INTO domain_stats (campaign_id, domain, email_clicks, landing_clicks, conversions, users,
                                  email_click_users, landing_click_users, conversion_users)
        SELECT campaign_id, domain, sum(email_clicks), sum(landing_clicks), sum(conversions), count(*),
               count(*) FILTER (WHERE email_clicks > 0), count(*) FILTER (WHERE landing_clicks > 0),
               count(*) FILTER (WHERE conversions > 0)
        FROM journeys WHERE campaign_id = %s GROUP BY campaign_id, domain
    """, (campaign_id,))


def attrs(html: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    found = re.search(rf'<[a-z]+ [^>]*id="{element_id}"[^>]*>', html)
    assert found, f"no element #{element_id}"
    return found[0]


@pytest.fixture
def busy_campaign(db: psycopg.Connection[Any]) -> int:
    """120 recipients over three domains: every 3rd landed, every 10th converted."""
    campaign_id = new_campaign()
    domains = ("example1.com", "example2.com", "example3.com")
    seed_journeys(db, campaign_id, [
        (f"user{i:03d}@{'gmail' if i % 2 else 'yahoo'}.com", domains[i % 3], 1 + i % 2,
         int(i % 3 == 0), int(i % 10 == 0))
        for i in range(120)
    ])
    return campaign_id


# --- home -----------------------------------------------------------------------------------------------

def test_home__campaigns_newest_first_with_rollup_counts(dashboard_client: Client,
                                                          db: psycopg.Connection) -> None:
    older, newer = new_campaign("Cat Toys EU, PetCo"), new_campaign("Dog Food US, Wellgreen")
    db.execute("INSERT INTO domain_stats (campaign_id, domain, email_clicks, landing_clicks, conversions) "
               "VALUES (%s, 'a.com', 1000, 500, 80), (%s, 'b.com', 234, 67, 9)", (newer, newer))
    # The newest campaigns come first: these two, dated in the future, open the first page whatever else the
    # test database holds.
    db.execute("UPDATE campaigns SET created_at = now() + interval '2 days' WHERE id = %s", (newer,))
    db.execute("UPDATE campaigns SET created_at = now() + interval '1 day' WHERE id = %s", (older,))

    r = dashboard_client.get("/")
    assert r.status_code == 200
    assert r.template.name == "home.html"
    rows = {c.id: c for c in r.context["campaigns"]}
    assert (rows[newer].clicks, rows[newer].conversions) == (1234, 89)
    assert (rows[older].clicks, rows[older].conversions) == (0, 0)
    ids = [c.id for c in r.context["campaigns"]]
    assert ids.index(newer) < ids.index(older)
    created = [c.created_at for c in r.context["campaigns"]]
    assert created == sorted(created, reverse=True)

    row = re.search(rf'<tr id="campaign-{newer}">.*?</tr>', r.text, re.S)
    assert row and "1,234" in row[0] and ">89<" in row[0] and "<time datetime=" in row[0]
    assert "Dog Food US, Wellgreen" in row[0] and f'href="/campaign/{newer}"' in row[0]
    table = attrs(r.text, "campaigns")
    assert 'hx-get="/campaigns"' in table and 'hx-trigger="every 30s"' in table
    assert 'href="/create"' in r.text and "+ New Campaign" in r.text and "TRACKER" in r.text


def test_campaigns_fragment__table_alone(dashboard_client: Client) -> None:
    campaign_id = new_campaign()
    r = dashboard_client.get("/campaigns", headers=HX)
    assert r.status_code == 200
    assert r.template.name == "partials/campaigns_table.html"
    assert campaign_id in [c.id for c in r.context["campaigns"]]
    assert "<html" not in r.text and f'id="campaign-{campaign_id}"' in r.text


def test_campaigns_table__friendly_empty_state(dashboard_app: Any) -> None:
    from common.config import Settings
    from web.dashboard.auth import SignedIn
    from web.dashboard.campaign_table import CampaignTable, TableQuery
    from web.dashboard.render import templates

    def html(role: str) -> str:
        return templates.get_template("partials/campaigns_table.html").render(
            campaigns=[], table=CampaignTable([], 0, [], TableQuery()), search_hidden=[], table_url="/campaigns",
            settings=Settings(), auth=SignedIn(1, "someone", "csrf", "hash", role=role))
    assert "No campaigns yet" in html("editor") and 'href="/create"' in html("editor") and "<table" not in html("editor")
    assert 'href="/create"' not in html("viewer")  # a viewer cannot create one


# --- create ---------------------------------------------------------------------------------------------

def test_create_page__form_posts_through_htmx(dashboard_client: Client) -> None:
    r = dashboard_client.get("/create")
    assert r.status_code == 200
    assert r.template.name == "create.html"
    assert r.context["errors"] == {} and r.context["form"] == {"currency": "USD"}  # DEFAULT_CURRENCY
    form = attrs(r.text, "campaign-form")
    assert 'hx-post="/campaigns"' in form and 'method="post"' in form and 'action="/campaigns"' in form
    assert 'name="name"' in r.text and 'name="offer_url"' in r.text and "Create Campaign" in r.text
    assert "Campaign Name" in r.text and "Offer URL" in r.text
    csrf = r.context["auth"].csrf_token
    assert f'name="csrf_token" value="{csrf}"' in r.text
    assert f"hx-headers='{{\"X-CSRF-Token\": \"{csrf}\"}}'" in r.text


def csrf_of(client: Client) -> str:
    return str(client.get("/create").context["auth"].csrf_token)


def test_create__htmx_success_moves_to_campaign_without_reload(dashboard_client: Client,
                                                               db: psycopg.Connection) -> None:
    name = f"Fish Oil CA {uuid.uuid4().hex[:6]}"
    r = dashboard_client.post("/campaigns", data={"name": f"  {name} ", "offer_url": "https://x.example/o?a=1"},
                              headers={**HX, "X-CSRF-Token": csrf_of(dashboard_client)})
    assert r.status_code == 200
    row = db.execute("SELECT id, offer_url FROM campaigns WHERE name = %s", (name,)).fetchone()
    assert row is not None and row[1] == "https://x.example/o?a=1"
    assert r.headers["HX-Location"] == f'{{"path": "/campaign/{row[0]}", "target": "body"}}'


@pytest.mark.parametrize(("name", "offer_url", "field", "message"), [
    ("", "https://ok.example/", "name", "required"),
    ("x" * 256, "https://ok.example/", "name", "at most 255"),
    ("Fine", "", "offer_url", "required"),
    ("Fine", "javascript:alert(1)", "offer_url", "absolute http"),
    ("Fine", "ftp://files.example/x", "offer_url", "absolute http"),
    ("Fine", "/relative/path", "offer_url", "absolute http"),
])
def test_create__invalid_input__inline_error_and_input_kept(dashboard_client: Client, name: str,
                                                           offer_url: str, field: str, message: str) -> None:
    r = dashboard_client.post("/campaigns", data={"name": name, "offer_url": offer_url},
                              headers={**HX, "X-CSRF-Token": csrf_of(dashboard_client)})
    assert r.status_code == 422
    assert r.template.name == "partials/campaign_form.html"
    assert message in r.context["errors"][field]
    assert f'id="{field}-error"' in r.text and 'aria-invalid="true"' in r.text
    assert f'value="{offer_url}"' in r.text and "<html" not in r.text
    if len(name) < 255:
        assert f'value="{name}"' in r.text


def test_create__hostile_input_kept_as_escaped_text(dashboard_client: Client) -> None:
    hostile = '"><script>alert(1)</script>'
    r = dashboard_client.post("/campaigns", data={"name": hostile, "offer_url": hostile},
                              headers={**HX, "X-CSRF-Token": csrf_of(dashboard_client)})
    assert r.status_code == 422
    assert "<script>alert(1)" not in r.text
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in r.text


def test_create__without_javascript__redirect_or_page_with_errors(dashboard_client: Client) -> None:
    csrf = csrf_of(dashboard_client)
    r = dashboard_client.post("/campaigns", data={"name": "No JS", "offer_url": "http://nojs.example/",
                                                  "csrf_token": csrf})
    assert r.status_code == 303 and re.fullmatch(r"/campaign/\d+", r.headers["location"])
    r = dashboard_client.post("/campaigns", data={"name": "", "offer_url": "nope", "csrf_token": csrf})
    assert r.status_code == 422
    assert r.template.name == "create.html"
    assert set(r.context["errors"]) == {"name", "offer_url"}


# --- campaign page --------------------------------------------------------------------------------------

def test_campaign_page__header_stats_and_first_journeys(dashboard_client: Client, busy_campaign: int) -> None:
    cid = busy_campaign
    r = dashboard_client.get(f"/campaign/{cid}")
    assert r.status_code == 200
    assert r.template.name == "campaign.html"
    ctx = r.context
    assert ctx["campaign"].id == cid
    totals = ctx["totals"]
    assert (totals["email_clicks"], totals["landing_clicks"], totals["conversions"]) == (180, 40, 12)
    assert [d.domain for d in ctx["domains"]] == ["example1.com", "example2.com", "example3.com"]
    assert ctx["domain_choices"] == ["example1.com", "example2.com", "example3.com"]
    assert len(ctx["rows"]) == 50 and ctx["shown"] == 50 and ctx["total"].value == 120
    assert ctx["rows"][0].email == "user000@yahoo.com"  # newest recipient first
    assert ctx["next_url"].startswith(f"/campaign/{cid}/users?offset=50&after=")

    html = r.text
    assert "← Back" in html and 'href="/"' in html
    assert 'Offer: <a href="https://wellgreen.com/dog-food-offer?aff=123"' in html
    assert f'Campaign ID: <code id="campaign-id">{cid}</code>' in html and f'data-copy="{cid}"' in html
    assert 'id="stat-conv-rate">6.7%<' in html and 'id="stat-email-clicks">180<' in html
    for element, url in (("overall-stats", "stats"), ("domain-stats", "domains")):
        tag = attrs(html, element)
        assert f'hx-get="/campaign/{cid}/{url}"' in tag and 'hx-trigger="every 10s"' in tag
    for element in ("filter-domain", "filter-event", "filter-q"):
        tag = attrs(html, element)
        assert f'hx-get="/campaign/{cid}/users"' in tag and 'hx-target="#journeys"' in tag
    assert 'hx-trigger="keyup changed delay:500ms' in attrs(html, "filter-q")
    assert "Showing 50 of 120 users" in html
    load_more = re.search(r"<button [^>]*>Load more</button>", html, re.S)
    assert load_more and f'hx-get="/campaign/{cid}/users?offset=50&amp;after=' in load_more[0]
    assert 'hx-swap="beforeend"' in load_more[0] and 'hx-target="#journey-rows"' in load_more[0]
    assert html.count('class="yes"') + html.count('class="no"') == 150


def test_campaign_page__no_events_yet(dashboard_client: Client) -> None:
    cid = new_campaign()
    r = dashboard_client.get(f"/campaign/{cid}")
    assert r.status_code == 200
    assert r.context["totals"]["email_clicks"] == 0 and r.context["domains"] == [] and r.context["rows"] == []
    assert 'id="stat-conv-rate">—<' in r.text
    assert "No events yet" in r.text and "No recipients yet" in r.text
    assert "Showing 0 of 0 users" in r.text and "Load more" not in r.text


def test_campaign_page__filters_from_query_work_without_javascript(dashboard_client: Client,
                                                                   busy_campaign: int) -> None:
    r = dashboard_client.get(f"/campaign/{busy_campaign}",
                             params={"domain": "example2.com", "event": "conversion"})
    assert r.context["filters"] == JourneyFilters(domain="example2.com", event="conversion")
    assert {j.domain for j in r.context["rows"]} == {"example2.com"}
    assert all(j.counts["conversions"] for j in r.context["rows"])
    assert '<option value="example2.com" selected>' in r.text
    assert '<option value="conversion" selected>' in r.text
    form = attrs(r.text, "journey-filters")
    assert 'method="get"' in form and f'action="/campaign/{busy_campaign}"' in form


def test_overall_stats_fragment__rate_one_decimal(dashboard_client: Client, busy_campaign: int) -> None:
    r = dashboard_client.get(f"/campaign/{busy_campaign}/stats", headers=HX)
    assert r.status_code == 200
    assert r.template.name == "partials/overall_stats.html"
    assert r.context["totals"].conversion_rate == pytest.approx(100 * 12 / 180)
    assert "<html" not in r.text
    for label, value in (("Email Clicks", "180"), ("Landing Clicks", "40"), ("Conversions", "12"),
                         ("Conv. Rate", "6.7%")):
        assert re.search(rf"<dt>{re.escape(label)}</dt>\s*<dd><span[^>]*>{re.escape(value)}</span>", r.text), label


def test_domain_stats_fragment__one_row_per_domain(dashboard_client: Client, busy_campaign: int) -> None:
    r = dashboard_client.get(f"/campaign/{busy_campaign}/domains", headers=HX)
    assert r.status_code == 200
    assert r.template.name == "partials/domain_stats.html"
    rows = {d.domain: d for d in r.context["domains"]}
    assert (rows["example1.com"]["email_clicks"], rows["example1.com"]["landing_clicks"],
            rows["example1.com"]["conversions"]) == (60, 40, 4)
    assert rows["example1.com"].conversion_rate == pytest.approx(100 * 4 / 60)
    assert "<html" not in r.text
    for header in ("Domain", "E.Click", "L.Click", "Conv", "Rate", "Uniq"):
        assert f">{header}</th>" in r.text
    # Each count is followed by its unique recipients: 40 recipients, 40 email clicked (60 clicks), ...
    assert re.search(r"example1\.com</td>\s*<td[^>]*>60</td><td[^>]*>40</td>\s*<td[^>]*>40</td><td[^>]*>40</td>"
                     r"\s*<td[^>]*>4</td><td[^>]*>4</td>\s*<td[^>]*>6\.7%</td>", r.text)
    assert "unique recipients with that event, all traffic" in r.text


@pytest.mark.parametrize(("params", "expected_total", "check"), [
    ({}, 120, lambda j: True),
    ({"domain": "example1.com"}, 40, lambda j: j.domain == "example1.com"),
    ({"event": "landing_click"}, 40, lambda j: j.counts["landing_clicks"] > 0),
    ({"event": "conversion"}, 12, lambda j: j.counts["conversions"] > 0),
    ({"domain": "example1.com", "event": "conversion"}, 4,
     lambda j: j.domain == "example1.com" and j.counts["conversions"] > 0),
    ({"q": "GMAIL"}, 60, lambda j: "gmail" in j.email),
    ({"q": "user01", "domain": "example2.com"}, 4,
     lambda j: "user01" in j.email and j.domain == "example2.com"),
    ({"q": "nobody-has-this"}, 0, lambda j: False),
])
def test_users_fragment__filters_combine(dashboard_client: Client, busy_campaign: int, params: dict[str, str],
                                         expected_total: int, check: Any) -> None:
    r = dashboard_client.get(f"/campaign/{busy_campaign}/users", params=params, headers=HX)
    assert r.status_code == 200
    assert r.template.name == "partials/journeys.html"
    ctx = r.context
    assert ctx["total"].value == expected_total
    assert len(ctx["rows"]) == min(50, expected_total) and all(check(j) for j in ctx["rows"])
    assert f"Showing {min(50, expected_total)} of {expected_total} users" in r.text
    assert "<html" not in r.text and 'id="journey-rows"' in r.text
    page_url = r.headers["HX-Push-Url"]
    assert page_url.startswith(f"/campaign/{busy_campaign}") and "/users" not in page_url


def test_users_fragment__load_more_appends_next_rows_and_keeps_filters(dashboard_client: Client,
                                                                       busy_campaign: int) -> None:
    cid = busy_campaign
    first = dashboard_client.get(f"/campaign/{cid}/users", params={"q": "gmail"}, headers=HX)
    assert first.context["next_url"].startswith(f"/campaign/{cid}/users?offset=50&q=gmail&after=")
    more = dashboard_client.get(first.context["next_url"], headers=HX)
    assert more.status_code == 200
    assert more.template.name == "partials/journey_rows_more.html"
    assert len(more.context["rows"]) == 10 and more.context["shown"] == 60
    assert more.context["next_url"] is None
    seen = [j.email for j in first.context["rows"] + more.context["rows"]]
    assert len(set(seen)) == 60 and all("gmail" in e for e in seen)
    assert more.text.lstrip().startswith("<tr>")
    assert 'id="journeys-footer" class="table-footer" hx-swap-oob="true"' in more.text
    assert "Showing 60 of 60 users" in more.text and "Load more" not in more.text

    # A hand-made URL with only an offset (or a cursor that is not ours) skips that many rows instead.
    for url in (f"/campaign/{cid}/users?offset=50", f"/campaign/{cid}/users?offset=50&after=bogus"):
        middle = dashboard_client.get(url, headers=HX)
        assert middle.context["rows"][0].email == "user050@yahoo.com"
        assert middle.context["next_url"].startswith(f"/campaign/{cid}/users?offset=100&after=")
        assert "Showing 100 of 120 users" in middle.text


def test_load_more__continues_after_the_last_row_even_among_equal_times(dashboard_client: Client,
                                                                        db: psycopg.Connection) -> None:
    cid = new_campaign()
    # 120 recipients first seen at the same instant, inserted in random order: only the tie-break orders them.
    db.execute("INSERT INTO journeys (campaign_id, email, domain, first_seen, last_seen, email_clicks) "
               "SELECT %s, 'r' || lpad(i::text, 3, '0') || '@x.com', 'd' || (i %% 2) || '.com', "
               "'2026-01-15 12:00', '2026-01-15 12:00', 1 FROM generate_series(1, 120) i ORDER BY random()",
               (cid,))
    seen: list[tuple[str, str]] = []
    url: str | None = f"/campaign/{cid}/users"
    while url:
        page = dashboard_client.get(url, headers=HX)
        seen += [(j.email, j.domain) for j in page.context["rows"]]
        url = page.context["next_url"]
    assert seen == sorted(seen) and len(set(seen)) == 120


def test_search__count_stops_at_the_cap(dashboard_client: Client, db: psycopg.Connection) -> None:
    from web.dashboard.queries import SEARCH_COUNT_CAP

    cid = new_campaign()
    db.execute("INSERT INTO journeys (campaign_id, email, domain, first_seen, last_seen, email_clicks) "
               "SELECT %s, 'fan' || i || '@x.com', 'd.com', now(), now(), 1 FROM generate_series(1, %s) i",
               (cid, SEARCH_COUNT_CAP + 5))
    r = dashboard_client.get(f"/campaign/{cid}/users", params={"q": "fan"}, headers=HX)
    assert r.context["total"].value == SEARCH_COUNT_CAP and r.context["total"].capped
    assert f"Showing 50 of {SEARCH_COUNT_CAP:,}+ users" in r.text


def test_users_fragment__search_is_a_literal_substring(dashboard_client: Client,
                                                       db: psycopg.Connection) -> None:
    cid = new_campaign()
    seed_journeys(db, cid, [("a%b@x.com", "d.com", 1, 0, 0), ("a_b@x.com", "d.com", 1, 0, 0),
                            ("axb@x.com", "d.com", 1, 0, 0), ("john.doe@x.com", "d.com", 1, 0, 0)])
    for term, expected in (("%", ["a%b@x.com"]), ("_", ["a_b@x.com"]),
                           ("A", ["a%b@x.com", "a_b@x.com", "axb@x.com"]), ("  DOE@ ", ["john.doe@x.com"])):
        r = dashboard_client.get(f"/campaign/{cid}/users", params={"q": term}, headers=HX)
        assert sorted(j.email for j in r.context["rows"]) == expected, term
        assert r.context["total"].value == len(expected)


def test_users_fragment__unknown_event_means_all(dashboard_client: Client, busy_campaign: int) -> None:
    r = dashboard_client.get(f"/campaign/{busy_campaign}/users", params={"event": "bogus"}, headers=HX)
    assert r.status_code == 200 and r.context["filters"].event is None and r.context["total"].value == 120


# --- 404 ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/campaign/{missing}", "/campaign/{missing}/stats",
                                  "/campaign/{missing}/domains", "/campaign/{missing}/users",
                                  "/campaign/99999999999"])
def test_unknown_campaign__404_page(dashboard_client: Client, db: psycopg.Connection, path: str) -> None:
    missing = db.execute("SELECT coalesce(max(id), 0) + 1000 FROM campaigns").fetchone()[0]
    r = dashboard_client.get(path.format(missing=missing))
    assert r.status_code == 404
    assert r.template.name == "404.html"
    assert "There is no campaign with this ID." in r.text and 'href="/"' in r.text


def test_unknown_page__404_page_for_browsers_json_for_api_clients(dashboard_client: Client) -> None:
    r = dashboard_client.get("/campaign/not-a-number", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.template.name == "404.html"
    r = dashboard_client.get("/nowhere", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


# --- safety of what is shown ----------------------------------------------------------------------------

def test_offer_link__only_http_urls_become_links(dashboard_client: Client, db: psycopg.Connection) -> None:
    cid = new_campaign()
    db.execute("UPDATE campaigns SET offer_url = 'javascript:alert(document.cookie)' WHERE id = %s", (cid,))
    r = dashboard_client.get(f"/campaign/{cid}")
    assert r.status_code == 200
    assert "<span>javascript:alert(document.cookie)</span>" in r.text
    assert 'href="javascript' not in r.text


def test_hostile_strings__escaped_everywhere(dashboard_client: Client, db: psycopg.Connection) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    cid = new_campaign(name=hostile, offer_url="https://x.example/?q=\"'><img/src=x/onerror=alert(2)>")
    seed_journeys(db, cid, [(f'"{hostile}"@x.com', f"{hostile}.example", 1, 1, 1)])
    pages = [dashboard_client.get(path, headers=HX if "/" in path[1:] else {}) for path in
             ("/", f"/campaign/{cid}", f"/campaign/{cid}/domains", f"/campaign/{cid}/users", "/campaigns")]
    for page in pages:
        assert page.status_code == 200
        assert "<img src=x" not in page.text and "<img/src" not in page.text, page.url
        assert "&lt;img src=x onerror=alert(1)&gt;" in page.text, page.url
    assert "?q=&#34;&#39;&gt;&lt;img/src=x/onerror=alert(2)&gt;" in pages[1].text


def test_pages__security_headers(dashboard_client: Client, busy_campaign: int) -> None:
    cid = busy_campaign
    for path in ("/", "/create", f"/campaign/{cid}", f"/campaign/{cid}/users", "/campaigns"):
        r = dashboard_client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"
        assert r.headers["Cache-Control"] == "no-store"
        assert "<script>" not in r.text and " style=" not in r.text and "<style" not in r.text


def test_pages__htmx_vendored_and_configured_for_csp(dashboard_client: Client) -> None:
    r = dashboard_client.get("/")
    assert re.search(r'<script src="/static/htmx\.min\.js\?v=\w+" defer></script>', r.text)
    assert re.search(r'<script src="/static/app\.js\?v=\w+" defer></script>', r.text)
    assert """<meta name="htmx-config" content='{"includeIndicatorStyles":false""" in r.text
    assert "cdn" not in r.text.lower() and "unpkg" not in r.text.lower()
    for name in ("htmx.min.js", "app.js", "app.css"):
        assert dashboard_client.get(f"/static/{name}").status_code == 200
