"""The settings page (own API tokens, shown once; own password) and the admins' users page."""
import hashlib
import re

import psycopg
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import sign_in
from tests.web.api_helpers import bearer, new_token, new_user


def _client(app: FastAPI, username: str, password: str) -> tuple[TestClient, str]:
    client = TestClient(app, follow_redirects=False)
    assert sign_in(client, username, password).status_code == 303
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/settings").text)
    assert found
    return client, found[1]


def test_settings__token_shown_once_stored_hashed_revoked(dashboard_app: FastAPI, db: psycopg.Connection) -> None:
    client, csrf = _client(dashboard_app, *new_user("editor"))
    r = client.post("/settings/tokens", data={"csrf_token": csrf, "name": "Sheets", "scope": "write",
                                              "expires": "2099-12-31"})
    assert r.status_code == 201
    token = re.search(r'id="new-token-value">([^<]+)<', r.text)[1]  # type: ignore[index]
    row = db.execute("SELECT id, name, scope, expires_at FROM api_tokens WHERE token_hash = %s",
                     (hashlib.sha256(token.encode()).hexdigest(),)).fetchone()
    assert row is not None and row[1:3] == ("Sheets", "write") and str(row[3]) == "2100-01-01 00:00:00"
    page = client.get("/settings").text
    assert "Sheets" in page and token not in page  # listed, never shown again
    assert client.get("/api/v1/campaigns", headers=bearer(token)).status_code == 200
    assert client.post(f"/settings/tokens/{row[0]}/revoke", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/api/v1/campaigns", headers=bearer(token)).status_code == 401
    for bad in ({"scope": "admin"}, {"scope": "read", "expires": "soon"}, {"scope": "read", "expires": "2001-01-01"}):
        assert client.post("/settings/tokens", data={"csrf_token": csrf, **bad}).status_code == 422, bad


def test_settings__viewer_cannot_make_a_write_token_nor_revoke_others(dashboard_app: FastAPI,
                                                                      db: psycopg.Connection) -> None:
    client, csrf = _client(dashboard_app, *new_user("viewer"))
    assert client.post("/settings/tokens", data={"csrf_token": csrf, "scope": "write"}).status_code == 422
    other = new_token(new_user("editor")[0], "read")
    other_id = db.execute("SELECT id FROM api_tokens WHERE token_hash = %s",
                          (hashlib.sha256(other.encode()).hexdigest(),)).fetchone()[0]
    client.post(f"/settings/tokens/{other_id}/revoke", data={"csrf_token": csrf})
    assert client.get("/api/v1/campaigns", headers=bearer(other)).status_code == 200  # still there


def test_settings__change_own_password(dashboard_app: FastAPI) -> None:
    username, password = new_user("viewer")
    client, csrf = _client(dashboard_app, username, password)
    elsewhere, _ = _client(dashboard_app, username, password)
    form = {"csrf_token": csrf, "current": "wrong", "new": "brand-new-pw", "confirm": "brand-new-pw"}
    assert client.post("/settings/password", data=form).status_code == 422
    assert client.post("/settings/password", data={**form, "current": password, "confirm": "other"}).status_code == 422
    assert client.post("/settings/password", data={**form, "current": password, "new": "short",
                                                   "confirm": "short"}).status_code == 422
    r = client.post("/settings/password", data={**form, "current": password})
    assert r.status_code == 303 and r.headers["location"] == "/settings?done=password"
    assert client.get("/settings").status_code == 200  # this session stays
    assert elsewhere.get("/settings").status_code == 303  # the others end
    fresh = TestClient(dashboard_app, follow_redirects=False)
    assert sign_in(fresh, username, password).status_code == 401
    assert sign_in(fresh, username, "brand-new-pw").status_code == 303


def test_users_page__create_role_disable_reset(dashboard_app: FastAPI, db: psycopg.Connection) -> None:
    admin, csrf = _client(dashboard_app, *new_user("admin"))
    name = f"new-{csrf[:8]}".lower()
    r = admin.post("/users", data={"csrf_token": csrf, "username": name, "password": "first-password",
                                   "role": "viewer"})
    assert r.status_code == 303
    user_id, role = db.execute("SELECT id, role FROM users WHERE username = %s", (name,)).fetchone()
    assert role == "viewer" and name in admin.get("/users").text
    assert admin.post("/users", data={"csrf_token": csrf, "username": name, "password": "first-password"}
                      ).status_code == 422  # exists
    assert admin.post("/users", data={"csrf_token": csrf, "username": "x y", "password": "first-password"}
                      ).status_code == 422
    assert admin.post(f"/users/{user_id}/role", data={"csrf_token": csrf, "role": "owner"}).status_code == 422
    assert admin.post(f"/users/{user_id}/role", data={"csrf_token": csrf, "role": "editor"}).status_code == 303
    assert db.execute("SELECT role FROM users WHERE id = %s", (user_id,)).fetchone() == ("editor",)

    member, _ = _client(dashboard_app, name, "first-password")
    token = new_token(name, "write")
    assert admin.post(f"/users/{user_id}/active", data={"csrf_token": csrf, "active": "false"}).status_code == 303
    assert member.get("/").status_code == 303  # signed out
    assert client_get_api(dashboard_app, token) == 401
    assert admin.post(f"/users/{user_id}/active", data={"csrf_token": csrf, "active": "true"}).status_code == 303
    assert client_get_api(dashboard_app, token) == 200
    assert admin.post(f"/users/{user_id}/password", data={"csrf_token": csrf, "password": "reset-password"}
                      ).status_code == 303
    assert sign_in(TestClient(dashboard_app, follow_redirects=False), name, "reset-password").status_code == 303
    assert admin.post("/users/999999999/role", data={"csrf_token": csrf, "role": "viewer"}).status_code == 404


def client_get_api(app: FastAPI, token: str) -> int:
    return TestClient(app).get("/api/v1/campaigns?page_size=1", headers=bearer(token)).status_code


def test_users_page__admin_cannot_lock_themselves_out(dashboard_app: FastAPI, db: psycopg.Connection) -> None:
    username, password = new_user("admin")
    admin, csrf = _client(dashboard_app, username, password)
    me = db.execute("SELECT id FROM users WHERE username = %s", (username,)).fetchone()[0]
    assert admin.post(f"/users/{me}/role", data={"csrf_token": csrf, "role": "viewer"}).status_code == 422
    assert admin.post(f"/users/{me}/active", data={"csrf_token": csrf, "active": "false"}).status_code == 422
    assert db.execute("SELECT role, is_active FROM users WHERE id = %s", (me,)).fetchone() == ("admin", True)
