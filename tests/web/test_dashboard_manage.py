"""Campaign management from the dashboard: edit, archive (still tracking), delete with confirmation."""
import re
import time
from typing import Any

import httpx
import psycopg
from fastapi.testclient import TestClient

from common.campaigns import purge_campaign
from tests.events import store
from tests.services import wait_until
from tests.web.test_dashboard import HX, OFFER, attrs, csrf_of, new_campaign, seed_journeys

Client = TestClient


def _store(db: psycopg.Connection[Any], cid: int, n: int) -> None:
    ids = [r[0] for r in db.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (n,))]
    store(db, [{"id": i, "cid": cid, "type": "email_click", "email": f"u{k}@x.com", "domain": "a.com",
                       "ip": "198.51.100.7", "ua": "Mozilla/5.0 Chrome/120.0", "extra": {}, "ts": time.time()}
                      for k, i in enumerate(ids)])


def _rows(db: psycopg.Connection[Any], cid: int) -> tuple[int, ...]:
    return tuple(db.execute(f"SELECT count(*) FROM {table} WHERE {column} = %s", (cid,)).fetchone()[0]
                 for table, column in (("campaigns", "id"), ("events", "campaign_id"),
                                       ("journeys", "campaign_id"), ("domain_stats", "campaign_id")))


# --- edit -----------------------------------------------------------------------------------------------

def test_edit__form_prefilled_and_saved(dashboard_client: Client, db: psycopg.Connection) -> None:
    cid = new_campaign("Old Name")
    page = dashboard_client.get(f"/campaign/{cid}/edit")
    assert page.status_code == 200 and page.template.name == "edit.html"
    form = attrs(page.text, "campaign-form")
    assert f'action="/campaign/{cid}/edit"' in form and f'hx-post="/campaign/{cid}/edit"' in form
    assert 'value="Old Name"' in page.text and f'value="{OFFER}"'.replace("&", "&amp;") in page.text
    assert "Save Changes" in page.text
    assert f'href="/campaign/{cid}/edit"' in dashboard_client.get(f"/campaign/{cid}").text

    r = dashboard_client.post(f"/campaign/{cid}/edit", data={"name": " New Name ", "offer_url": "https://n.example/o"},
                              headers={**HX, "X-CSRF-Token": csrf_of(dashboard_client)})
    assert r.status_code == 200 and r.headers["HX-Location"] == f'{{"path": "/campaign/{cid}", "target": "body"}}'
    assert db.execute("SELECT name, offer_url FROM campaigns WHERE id = %s", (cid,)).fetchone() == (
        "New Name", "https://n.example/o")


def test_edit__id_links_switched_off_and_on(dashboard_client: Client, db: psycopg.Connection) -> None:
    cid = new_campaign()
    page = dashboard_client.get(f"/campaign/{cid}/edit").text
    assert re.search(r'<input id="id_links" name="id_links" type="checkbox" value="1" checked', page)
    csrf = csrf_of(dashboard_client)

    def save(*id_links: str) -> None:
        data = {"name": "N", "offer_url": OFFER, "csrf_token": csrf, **({"id_links": list(id_links)} if id_links else {})}
        assert dashboard_client.post(f"/campaign/{cid}/edit", data=data).status_code == 303

    def id_links() -> bool:
        return bool(db.execute("SELECT id_links FROM campaigns WHERE id = %s", (cid,)).fetchone()[0])

    save("0")  # the box unchecked: only the hidden field is sent
    assert not id_links()
    assert "are switched off" in dashboard_client.get(f"/campaign/{cid}").text
    assert 'value="1" checked' not in dashboard_client.get(f"/campaign/{cid}/edit").text
    save()  # a client that does not send the field leaves it alone
    assert not id_links()
    save("0", "1")  # checked
    assert id_links()


def test_edit__invalid_input_inline_and_nothing_saved(dashboard_client: Client, db: psycopg.Connection) -> None:
    cid = new_campaign("Keep Me")
    r = dashboard_client.post(f"/campaign/{cid}/edit", data={"name": "", "offer_url": "javascript:alert(1)"},
                              headers={**HX, "X-CSRF-Token": csrf_of(dashboard_client)})
    assert r.status_code == 422 and r.template.name == "partials/campaign_form.html"
    assert set(r.context["errors"]) == {"name", "offer_url"} and 'id="name-error"' in r.text
    assert f'hx-post="/campaign/{cid}/edit"' in r.text and "Save Changes" in r.text
    assert db.execute("SELECT name, offer_url FROM campaigns WHERE id = %s", (cid,)).fetchone() == ("Keep Me", OFFER)
    # Without JavaScript: the whole page with the errors, or a redirect on success.
    csrf = csrf_of(dashboard_client)
    r = dashboard_client.post(f"/campaign/{cid}/edit", data={"name": "x" * 256, "offer_url": OFFER, "csrf_token": csrf})
    assert r.status_code == 422 and r.template.name == "edit.html"
    r = dashboard_client.post(f"/campaign/{cid}/edit", data={"name": "Renamed", "offer_url": OFFER, "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == f"/campaign/{cid}"


# --- archive --------------------------------------------------------------------------------------------

def test_archive__off_the_home_page_listed_apart_and_back(dashboard_client: Client) -> None:
    cid = new_campaign("Archive Me")
    csrf = csrf_of(dashboard_client)
    r = dashboard_client.post(f"/campaign/{cid}/archive", data={"archived": "true", "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == f"/campaign/{cid}"
    page = dashboard_client.get(f"/campaign/{cid}")
    assert 'id="archived-badge"' in page.text and ">Unarchive</button>" in page.text
    assert "still tracking events" in page.text

    home = dashboard_client.get("/")
    assert cid not in [c.id for c in home.context["campaigns"]]
    assert re.search(r'<a id="archived-link" href="/\?archived=1">Archived \(\d+\)</a>', home.text)
    archived = dashboard_client.get("/", params={"archived": "1"})
    assert cid in [c.id for c in archived.context["campaigns"]] and "Archived Campaigns" in archived.text
    assert 'hx-get="/campaigns?archived=1"' in attrs(archived.text, "campaigns")
    fragment = dashboard_client.get("/campaigns", params={"archived": "1", "counts": "all"}, headers=HX)
    assert cid in [c.id for c in fragment.context["campaigns"]]

    dashboard_client.post(f"/campaign/{cid}/archive", data={"archived": "false", "csrf_token": csrf})
    assert cid in [c.id for c in dashboard_client.get("/").context["campaigns"]]
    assert cid not in [c.id for c in dashboard_client.get("/?archived=1").context["campaigns"]]


def test_archived_campaign__still_accepts_and_counts_events(dashboard_client: Client, http: httpx.Client,
                                                            db: psycopg.Connection) -> None:
    cid = new_campaign("Archived But Tracking")
    dashboard_client.post(f"/campaign/{cid}/archive", data={"archived": "true", "csrf_token": csrf_of(dashboard_client)})
    r = http.get("/api/event", params={"cid": cid, "event": "email_click", "email": "a@x.com", "domain": "d.com"},
                 headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"})
    assert r.status_code == 200 and r.json()["status"] == "ok"

    def counted() -> bool:
        row = db.execute("SELECT sum(email_clicks) FROM domain_stats WHERE campaign_id = %s", (cid,)).fetchone()
        return row[0] == 1

    wait_until(counted, timeout=30, message="the archived campaign's event counted")
    assert dashboard_client.get(f"/campaign/{cid}").context["all_totals"]["email_clicks"] == 1


# --- delete ---------------------------------------------------------------------------------------------

def test_delete__confirmation_page_then_everything_goes(dashboard_client: Client, db: psycopg.Connection) -> None:
    cid = new_campaign("Delete Me")
    _store(db, cid, 25)
    assert _rows(db, cid) == (1, 25, 25, 1)
    assert f'href="/campaign/{cid}/delete"' in dashboard_client.get(f"/campaign/{cid}").text

    confirm = dashboard_client.get(f"/campaign/{cid}/delete")
    assert confirm.status_code == 200 and confirm.template.name == "delete.html"
    assert 'id="delete-events">25 events</strong>' in confirm.text and "cannot be undone" in confirm.text
    assert "removed in the background" in confirm.text
    form = attrs(confirm.text, "delete-form")
    assert 'method="post"' in form and f'action="/campaign/{cid}/delete"' in form
    assert f'name="csrf_token" value="{confirm.context["auth"].csrf_token}"' in confirm.text

    assert dashboard_client.post(f"/campaign/{cid}/delete").status_code == 403  # no CSRF token: nothing happens
    assert _rows(db, cid) == (1, 25, 25, 1)

    r = dashboard_client.post(f"/campaign/{cid}/delete", data={"csrf_token": confirm.context["auth"].csrf_token})
    assert r.status_code == 303 and r.headers["location"] == "/"
    # The test client runs the background purge before returning.
    assert _rows(db, cid) == (0, 0, 0, 0)
    assert dashboard_client.get(f"/campaign/{cid}").status_code == 404


def test_delete__hidden_at_once_while_the_purge_runs(dashboard_client: Client, db: psycopg.Connection) -> None:
    cid = new_campaign("Being Deleted")
    seed_journeys(db, cid, [("a@x.com", "a.com", 1, 0, 0)])
    db.execute("UPDATE campaigns SET deleted_at = now() WHERE id = %s", (cid,))  # marked, not purged yet
    home = dashboard_client.get("/")
    assert cid not in [c.id for c in home.context["campaigns"]]
    assert "Deleting “Being Deleted”: its events are being removed in the background" in home.text
    for path in ("", "/stats", "/users", "/edit", "/delete", "/export/events.csv"):
        assert dashboard_client.get(f"/campaign/{cid}{path}").status_code == 404, path
    db.execute("DELETE FROM campaigns WHERE id = %s", (cid,))


def test_purge__in_batches_then_the_campaign(db: psycopg.Connection) -> None:
    cid, other = new_campaign(), new_campaign()
    _store(db, cid, 50)
    _store(db, other, 3)
    db.execute("UPDATE campaigns SET deleted_at = now() WHERE id = %s", (cid,))
    purge_campaign(db, cid, batch=7)
    assert _rows(db, cid) == (0, 0, 0, 0)
    assert _rows(db, other) == (1, 3, 3, 1)  # nobody else's rows


def test_purge__leaves_a_campaign_not_marked_deleted_alone(db: psycopg.Connection) -> None:
    cid = new_campaign()
    _store(db, cid, 3)
    purge_campaign(db, cid, batch=2)
    assert _rows(db, cid) == (1, 3, 3, 1)


def test_manage_pages__hostile_names_escaped(dashboard_client: Client, db: psycopg.Connection) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    cid = new_campaign(name=hostile)
    pages = [dashboard_client.get(f"/campaign/{cid}{path}") for path in ("/edit", "/delete")]
    db.execute("UPDATE campaigns SET deleted_at = now() WHERE id = %s", (cid,))
    pages.append(dashboard_client.get("/"))
    for page in pages:
        assert page.status_code == 200
        assert "<img src=x" not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text, page.url
        assert "<script>" not in page.text and " style=" not in page.text
    db.execute("DELETE FROM campaigns WHERE id = %s", (cid,))
