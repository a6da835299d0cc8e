"""Dashboard sign-in, sessions, CSRF and the routes that must (and must not) need them."""
import hashlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from common.db import get_session
from common.users import upsert_user
from tests.conftest import sign_in
from web.dashboard.auth import SESSION_COOKIE

Client = TestClient
HX = {"HX-Request": "true"}

# The only routes a signed-out visitor may reach. Everything else in app.routes, including routes added
# later, is checked by the route walk below.
PUBLIC_ROUTES = {"/api/event", "/healthz", "/login", "/openapi.json", "/docs", "/docs/oauth2-redirect",
                 "/redoc", "/api/event.gif", "/api/postback", "/r/{key}"}
PUBLIC_PREFIXES = ("/static",)
# The API answers a missing token with 401 JSON, not the sign-in redirect: tests/web/test_roles.py walks it.
API_PREFIX = "/api/v1/"


def dashboard_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) of the app that is not public."""
    found = []
    for route in iter_route_contexts(app.routes):
        path, methods = route.path_format, route.methods
        if path is None or path in PUBLIC_ROUTES or path.startswith((*PUBLIC_PREFIXES, API_PREFIX)):
            continue
        assert methods, f"{path}: a mount or route without methods; make it public explicitly or guard it"
        found += [(method, path) for method in sorted(methods - {"HEAD"})]
    return found


def concrete(path: str, campaign_id: int) -> str:
    return re.sub(r"\{[^}]+\}", str(campaign_id), path)


@pytest.fixture
def user() -> tuple[str, str]:
    """A user of this test's own (its own failed-login counter)."""
    username, password = f"u-{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    with get_session() as session:
        upsert_user(session=session, username=username, password=password)
    return username, password


def test_route_walk__finds_the_dashboard(dashboard_app: FastAPI) -> None:
    routes = dashboard_routes(dashboard_app)
    for expected in [("GET", "/"), ("GET", "/create"), ("POST", "/campaigns"),
                     ("GET", "/campaign/{campaign_id}"), ("GET", "/campaign/{campaign_id}/users"),
                     ("POST", "/logout")]:
        assert expected in routes


def test_every_dashboard_route__refuses_signed_out_visitor(anonymous_client: Client, dashboard_app: FastAPI,
                                                           campaign_id: int) -> None:
    for method, template in dashboard_routes(dashboard_app):
        path = concrete(template, campaign_id)
        r = anonymous_client.request(method, path, data={"name": "x", "offer_url": "https://x.example/"})
        assert r.status_code == 303, (method, path, r.status_code)
        assert r.headers["location"].startswith("/login"), (method, path)
        assert "Content-Security-Policy" in r.headers

        r = anonymous_client.request(method, path, headers={**HX, "HX-Current-URL": f"http://testserver{path}"})
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["HX-Redirect"].startswith("/login"), (method, path)
        assert r.text == ""


def test_signed_out__page_redirect_remembers_where_to_return(anonymous_client: Client,
                                                             campaign_id: int) -> None:
    r = anonymous_client.get(f"/campaign/{campaign_id}?domain=a.com")
    assert r.headers["location"] == f"/login?next=%2Fcampaign%2F{campaign_id}%3Fdomain%3Da.com"
    r = anonymous_client.get(f"/campaign/{campaign_id}/stats",
                             headers={**HX, "HX-Current-URL": f"http://testserver/campaign/{campaign_id}"})
    assert r.headers["HX-Redirect"] == f"/login?next=%2Fcampaign%2F{campaign_id}"
    assert anonymous_client.get("/").headers["location"] == "/login"


def test_public_routes__need_no_sign_in(anonymous_client: Client, http: httpx.Client,
                                        campaign_id: int) -> None:
    assert anonymous_client.get("/login").status_code == 200
    assert anonymous_client.get("/static/htmx.min.js").status_code == 200
    assert http.get("/healthz").status_code == 200
    r = http.get("/api/event", params={"cid": campaign_id, "event": "email_click", "email": "a@b.com",
                                       "domain": "d.com"})
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert "Content-Security-Policy" not in r.headers  # the hot path carries none of the dashboard's headers


def test_every_post_route__refuses_missing_or_wrong_csrf_token(dashboard_client: Client,
                                                               dashboard_app: FastAPI, campaign_id: int,
                                                               db: psycopg.Connection) -> None:
    before = db.execute("SELECT count(*) FROM campaigns").fetchone()
    posts = [path for method, path in dashboard_routes(dashboard_app) if method == "POST"]
    assert posts
    for template in posts:
        path = concrete(template, campaign_id)
        for headers, data in (({}, {}), ({"X-CSRF-Token": "forged"}, {}), ({}, {"csrf_token": "forged"}),
                              ({**HX, "X-CSRF-Token": ""}, {})):
            r = dashboard_client.post(path, headers=headers,
                                      data={**data, "name": "CSRF", "offer_url": "https://x.example/"})
            assert r.status_code == 403, (path, headers, data, r.status_code)
    assert db.execute("SELECT count(*) FROM campaigns").fetchone() == before
    assert dashboard_client.get("/").status_code == 200  # still signed in: /logout refused too


def test_login__sets_httponly_lax_cookie_and_stores_only_a_hash(anonymous_client: Client,
                                                                user: tuple[str, str],
                                                                db: psycopg.Connection) -> None:
    page = anonymous_client.get("/login")
    assert page.status_code == 200 and page.template.name == "login.html"
    assert page.headers["X-Frame-Options"] == "DENY"
    r = sign_in(anonymous_client, *user)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    token = anonymous_client.cookies[SESSION_COOKIE]
    rows = db.execute("SELECT s.token_hash, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id "
                      "WHERE u.username = %s", (user[0],)).fetchall()
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), rows[0][1])]
    assert token not in str(rows)
    assert anonymous_client.get("/").status_code == 200


def test_login__wrong_password_or_unknown_user(anonymous_client: Client, user: tuple[str, str]) -> None:
    for username, password in ((user[0], "wrong-password"), ("nobody-" + uuid.uuid4().hex, user[1])):
        r = sign_in(anonymous_client, username, password)
        assert r.status_code == 401
        assert "Wrong username or password." in r.text
        assert SESSION_COOKIE not in anonymous_client.cookies
    assert anonymous_client.get("/").status_code == 303


def test_login__without_its_csrf_cookie__refused(anonymous_client: Client, user: tuple[str, str]) -> None:
    r = anonymous_client.post("/login", data={"username": user[0], "password": user[1], "csrf_token": "x"})
    assert r.status_code == 403 and SESSION_COOKIE not in anonymous_client.cookies


@pytest.mark.parametrize(("next_url", "expected"), [
    ("/campaign/5?domain=a.com", "/campaign/5?domain=a.com"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\t/evil.example/", "/"),
    ("/\\evil.example", "/"),
])
def test_login__returns_only_to_this_site(anonymous_client: Client, user: tuple[str, str], next_url: str,
                                          expected: str) -> None:
    page = anonymous_client.get("/login", params={"next": next_url})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    r = anonymous_client.post("/login", data={"username": user[0], "password": user[1],
                                              "csrf_token": token[1], "next": next_url})
    assert r.status_code == 303 and r.headers["location"] == expected


def test_logout__ends_the_session_on_the_server(anonymous_client: Client, user: tuple[str, str],
                                                dashboard_app: FastAPI, db: psycopg.Connection) -> None:
    sign_in(anonymous_client, *user)
    token = anonymous_client.cookies[SESSION_COOKIE]
    csrf = anonymous_client.get("/create").context["auth"].csrf_token
    r = anonymous_client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert db.execute("SELECT count(*) FROM sessions WHERE token_hash = %s",
                      (hashlib.sha256(token.encode()).hexdigest(),)).fetchone() == (0,)
    # Someone who kept a copy of the cookie gets nothing with it.
    replay = TestClient(dashboard_app, follow_redirects=False, cookies={SESSION_COOKIE: token})
    assert replay.get("/").status_code == 303


def test_expired_session__refused(anonymous_client: Client, user: tuple[str, str],
                                  db: psycopg.Connection) -> None:
    sign_in(anonymous_client, *user)
    token_hash = hashlib.sha256(anonymous_client.cookies[SESSION_COOKIE].encode()).hexdigest()
    db.execute("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = %s",
               (token_hash,))
    assert anonymous_client.get("/").status_code == 303


def test_disabled_user__signed_out(anonymous_client: Client, user: tuple[str, str],
                                   db: psycopg.Connection) -> None:
    sign_in(anonymous_client, *user)
    db.execute("UPDATE users SET is_active = false WHERE username = %s", (user[0],))
    assert anonymous_client.get("/").status_code == 303


@pytest.fixture
def http_web(web: str) -> Iterator[httpx.Client]:
    """A client of the uvicorn web process (another process than this test's in-process app)."""
    with httpx.Client(base_url=web, timeout=30, follow_redirects=False) as client:
        yield client


def test_wrong_passwords__limited_per_user_and_ip_across_processes(
        anonymous_client: Client, http_web: httpx.Client, user: tuple[str, str], dashboard_app: FastAPI,
        db: psycopg.Connection) -> None:
    limit = dashboard_app.state.settings.login_max_failures
    username, password = user
    # The uvicorn process sees clients as 127.0.0.1; make this process's client the same address.
    local = TestClient(dashboard_app, follow_redirects=False, client=("127.0.0.1", 50000))
    clients: list[Any] = [local, http_web]
    for attempt in range(limit):
        assert sign_in(clients[attempt % 2], username, "wrong-password").status_code == 401
    for client in clients:
        r = sign_in(client, username, password)  # even the right password waits now
        assert r.status_code == 429
        assert "Too many failed sign-ins" in r.text and int(r.headers["Retry-After"]) > 0
        assert SESSION_COOKIE not in client.cookies
    # Another address, or another user from this address, is not locked out.
    assert sign_in(anonymous_client, username, password).status_code == 303
    # When the window has passed, the user may try again.
    db.execute("UPDATE login_failures SET window_start = window_start - make_interval(secs => %s)",
               (dashboard_app.state.settings.login_failure_window_seconds,))
    assert sign_in(local, username, password).status_code == 303
    # ...and that sign-in swept away every count whose window had passed.
    assert db.execute("SELECT count(*) FROM login_failures "
                      "WHERE window_start <= now() - make_interval(secs => %s)",
                      (dashboard_app.state.settings.login_failure_window_seconds,)).fetchone() == (0,)


def test_successful_login__clears_failures(anonymous_client: Client, user: tuple[str, str],
                                           dashboard_app: FastAPI) -> None:
    limit = dashboard_app.state.settings.login_max_failures
    for _ in range(limit - 1):
        assert sign_in(anonymous_client, user[0], "wrong-password").status_code == 401
    assert sign_in(anonymous_client, *user).status_code == 303
    anonymous_client.cookies.clear()
    for _ in range(limit):
        assert sign_in(anonymous_client, user[0], "wrong-password").status_code == 401
    assert sign_in(anonymous_client, user[0], "wrong-password").status_code == 429
