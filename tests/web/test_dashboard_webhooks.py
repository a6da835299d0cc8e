"""The campaign page's webhook panel: URL (validated, CSRF-protected), secret rotation, delivery log, redeliver."""
import re
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from tests.web.test_dashboard import HX, csrf_of, new_campaign

Client = TestClient


def _campaign_row(db: psycopg.Connection[Any], cid: int) -> tuple[str | None, str]:
    row = db.execute("SELECT webhook_url, webhook_secret FROM campaigns WHERE id = %s", (cid,)).fetchone()
    assert row is not None
    return row[0], row[1]


def test_campaign_page__webhook_panel_with_secret(dashboard_client: Client, db: psycopg.Connection) -> None:
    cid = new_campaign()
    page = dashboard_client.get(f"/campaign/{cid}").text
    _, secret = _campaign_row(db, cid)
    assert len(secret) == 64
    assert f'<code id="webhook-secret">{secret}</code>' in page
    assert f'hx-post="/campaign/{cid}/webhook"' in page and 'name="url"' in page
    assert f'hx-get="/campaign/{cid}/webhook/deliveries"' in page
    log = dashboard_client.get(f"/campaign/{cid}/webhook/deliveries").text
    assert "No deliveries yet: set a webhook URL first." in log


def test_save_url__stored_and_shown(dashboard_client: Client, db: psycopg.Connection) -> None:
    cid = new_campaign()
    r = dashboard_client.post(f"/campaign/{cid}/webhook", data={"url": " https://crm.example.com/hook?x=1 "},
                              headers={**HX, "X-CSRF-Token": csrf_of(dashboard_client)})
    assert r.status_code == 200 and r.template.name == "partials/webhook.html"
    assert 'value="https://crm.example.com/hook?x=1"' in r.text and " open>" in r.text
    assert _campaign_row(db, cid)[0] == "https://crm.example.com/hook?x=1"
    # A plain form goes back to the page; an empty URL removes the webhook.
    r = dashboard_client.post(f"/campaign/{cid}/webhook", data={"url": "", "csrf_token": csrf_of(dashboard_client)})
    assert r.status_code == 303 and r.headers["location"] == f"/campaign/{cid}#webhook"
    assert _campaign_row(db, cid)[0] is None


def test_save_url__refused_inline_nothing_saved(dashboard_client: Client, db: psycopg.Connection) -> None:
    cid = new_campaign()
    csrf = csrf_of(dashboard_client)
    for url, why in (("http://crm.example.com/hook", "https://"), ("https://10.0.0.5/hook", "private"),
                     ("https://u:p@crm.example.com/", "password"), ("not a url", "https://")):
        r = dashboard_client.post(f"/campaign/{cid}/webhook", data={"url": url},
                                  headers={**HX, "X-CSRF-Token": csrf})
        assert r.status_code == 422 and why in r.text, (url, r.text)
        assert 'aria-invalid="true"' in r.text
    r = dashboard_client.post(f"/campaign/{cid}/webhook", data={"url": "ftp://x", "csrf_token": csrf})
    assert r.status_code == 422 and r.template.name == "webhook.html"
    assert _campaign_row(db, cid)[0] is None


def test_changes__need_the_csrf_token(dashboard_client: Client, db: psycopg.Connection) -> None:
    cid = new_campaign()
    before = _campaign_row(db, cid)
    for path in ("webhook", "webhook/secret", "webhook/deliveries/1/redeliver"):
        assert dashboard_client.post(f"/campaign/{cid}/{path}", data={"url": "https://a.example/"}).status_code == 403
    assert _campaign_row(db, cid) == before


def test_rotate_secret__a_new_one_shown(dashboard_client: Client, db: psycopg.Connection) -> None:
    cid = new_campaign()
    _, old = _campaign_row(db, cid)
    r = dashboard_client.post(f"/campaign/{cid}/webhook/secret", headers={**HX, "X-CSRF-Token": csrf_of(dashboard_client)})
    _, new = _campaign_row(db, cid)
    assert r.status_code == 200 and new != old and len(new) == 64
    assert f'<code id="webhook-secret">{new}</code>' in r.text and old not in r.text


def test_redeliver__another_campaigns_delivery_404(dashboard_client: Client, db: psycopg.Connection) -> None:
    owner, other = new_campaign(), new_campaign()
    delivery = db.execute("INSERT INTO webhook_deliveries (campaign_id, event_id, status, attempts) "
                          "VALUES (%s, nextval('events_id_seq'), 'failed', 7) RETURNING id", (owner,)).fetchone()[0]
    csrf = csrf_of(dashboard_client)
    r = dashboard_client.post(f"/campaign/{other}/webhook/deliveries/{delivery}/redeliver", data={"csrf_token": csrf})
    assert r.status_code == 404
    assert dashboard_client.post(f"/campaign/{owner}/webhook/deliveries/{2**63}/redeliver",
                                 data={"csrf_token": csrf}).status_code == 404
    assert db.execute("SELECT status FROM webhook_deliveries WHERE id = %s", (delivery,)).fetchone() == ("failed",)
    r = dashboard_client.post(f"/campaign/{owner}/webhook/deliveries/{delivery}/redeliver",
                              headers={**HX, "X-CSRF-Token": csrf})
    assert r.status_code == 200 and re.search(rf'id="delivery-{delivery}" data-status="pending"', r.text)
    row = db.execute("SELECT status, attempts, retry_until FROM webhook_deliveries WHERE id = %s", (delivery,)).fetchone()
    assert row == ("pending", 7, None)  # attempts keep counting; the retry window starts again


def test_viewer__sees_the_log_not_the_secret_or_the_forms(dashboard_app: Any, db: psycopg.Connection) -> None:
    from tests.conftest import sign_in
    from tests.web.api_helpers import new_user

    cid = new_campaign()
    db.execute("UPDATE campaigns SET webhook_url = 'https://crm.example.com/h' WHERE id = %s", (cid,))
    delivery = db.execute("INSERT INTO webhook_deliveries (campaign_id, event_id, status, attempts) "
                          "VALUES (%s, nextval('events_id_seq'), 'failed', 3) RETURNING id", (cid,)).fetchone()[0]
    _, secret = _campaign_row(db, cid)
    client = Client(dashboard_app, follow_redirects=False)
    assert sign_in(client, *new_user("viewer")).status_code == 303
    page = client.get(f"/campaign/{cid}").text
    assert secret not in page and 'id="webhook-form"' not in page and "Rotate secret" not in page
    assert "<code>https://crm.example.com/h</code>" in page
    log = client.get(f"/campaign/{cid}/webhook/deliveries").text
    assert f'id="delivery-{delivery}" data-status="failed"' in log and "Redeliver" not in log
