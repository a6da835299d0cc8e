"""The route walk, per role: every dashboard route and every API route, for an admin, an editor and a viewer
(and each API token scope). A viewer is refused every write with 403, an editor the users pages; nobody is
refused a read. New routes are walked too: each must fall in one of the classes below."""
import re
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from common.db import get_session
from common.users import get_by_username
from tests.conftest import sign_in
from tests.web.api_helpers import bearer, new_token, new_user
from tests.web.test_auth import dashboard_routes
from tests.web.test_dashboard import new_campaign

# Dashboard routes any signed-in user may use, writes included: their own account, and signing out.
OWN_WRITES = {("POST", "/logout"), ("POST", "/settings/password"), ("POST", "/settings/tokens"),
              ("POST", "/settings/tokens/{token_id}/revoke")}
# Pages whose only job is a form that changes a campaign.
EDIT_PAGES = {"/create", "/campaign/{campaign_id}/edit", "/campaign/{campaign_id}/delete"}
ADMIN_PREFIX = "/users"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def expected_refusal(method: str, path: str, role: str) -> bool:
    """Whether `role` must get 403 for this dashboard route."""
    if path.startswith(ADMIN_PREFIX):
        return role != "admin"
    if (method, path) in OWN_WRITES:
        return False
    return role == "viewer" and (method in WRITE_METHODS or path in EDIT_PAGES)


def _concrete(path: str, ids: dict[str, int]) -> str:
    return re.sub(r"\{([^}:]+)(:[^}]+)?\}", lambda m: str(ids[m[1]]), path)


def _csrf(client: TestClient) -> str:
    page = client.get("/settings")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found[1]


@pytest.mark.parametrize("role", ["admin", "editor", "viewer"])
def test_dashboard_walk__per_role(dashboard_app: FastAPI, role: str) -> None:
    username, password = new_user(role)
    target, _ = new_user("viewer")  # the users pages act on this one, never on a user other tests use
    with get_session() as session:
        target_id = get_by_username(session=session, username=target).id  # type: ignore[union-attr]
    client = TestClient(dashboard_app, follow_redirects=False)
    assert sign_in(client, username, password).status_code == 303
    csrf = _csrf(client)
    routes = sorted(dashboard_routes(dashboard_app), key=lambda r: r == ("POST", "/logout"))  # sign out last
    assert ("GET", "/users") in routes and ("POST", "/settings/tokens") in routes
    for method, template in routes:
        ids = {"campaign_id": new_campaign(), "user_id": target_id, "token_id": 2**31 - 1,
               "delivery_id": 2**31 - 1}
        path = _concrete(template, ids)
        r = client.request(method, path, headers={"X-CSRF-Token": csrf})
        refused = expected_refusal(method, template, role)
        assert (r.status_code == 403) == refused, (role, method, path, r.status_code)
        assert r.status_code < 500, (role, method, path)


def test_viewer__pages_hide_what_it_cannot_use(dashboard_app: FastAPI) -> None:
    cid = new_campaign()
    for role, sees_edit, sees_users in (("viewer", False, False), ("editor", True, False), ("admin", True, True)):
        client = TestClient(dashboard_app, follow_redirects=False)
        assert sign_in(client, *new_user(role)).status_code == 303
        home, campaign = client.get("/").text, client.get(f"/campaign/{cid}").text
        assert ('href="/create"' in home) == sees_edit, role
        assert (f'action="/campaign/{cid}/archive"' in campaign) == sees_edit, role
        assert (f'href="/campaign/{cid}/delete"' in campaign) == sees_edit, role
        assert ('id="webhook-form"' in campaign) == sees_edit, role
        assert ('id="webhook-secret"' in campaign) == sees_edit, role  # it could sign forged deliveries
        assert ('id="postback-url"' in campaign) == sees_edit, role  # its secret records conversions
        assert ('href="/users"' in home) == sees_users, role
        assert 'href="/settings"' in home
        scopes = re.findall(r'<option value="(read|write)"', client.get("/settings").text)
        assert scopes == (["read"] if role == "viewer" else ["read", "write"]), role


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for route in iter_route_contexts(app.routes):
        if route.path_format and route.path_format.startswith("/api/v1/"):
            found += [(method, route.path_format) for method in sorted(route.methods or set()) if method != "HEAD"]
    return found


@pytest.fixture(scope="module")
def role_tokens() -> dict[str, str]:
    admin, editor, viewer = new_user("admin")[0], new_user("editor")[0], new_user("viewer")[0]
    return {"admin write": new_token(admin, "write"), "editor write": new_token(editor, "write"),
            "editor read": new_token(editor, "read"), "admin read": new_token(admin, "read"),
            "viewer read": new_token(viewer, "read")}


def test_api_walk__per_role_and_scope(dashboard_app: FastAPI, role_tokens: dict[str, str],
                                      db: psycopg.Connection) -> None:
    client = TestClient(dashboard_app, follow_redirects=False)
    routes = api_routes(dashboard_app)
    assert ("POST", "/api/v1/campaigns") in routes and ("GET", "/api/v1/campaigns/{campaign_id}/events") in routes
    body: dict[str, Any] = {"name": "Walk", "offer_url": "https://o.example/"}
    for method, template in routes:
        path = _concrete(template, {"campaign_id": new_campaign(), "dimension_name": "domain"})
        assert client.request(method, path, json=body).status_code == 401, (method, path)
        for who, token in role_tokens.items():
            r = client.request(method, path, json=body, headers=bearer(token))
            may_write = who.endswith("write")
            if method in WRITE_METHODS and not may_write:
                assert r.status_code == 403, (who, method, path, r.status_code)
            else:
                assert r.status_code in (200, 201), (who, method, path, r.status_code, r.text)
