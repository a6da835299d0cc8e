"""Sign in and sign out.

The login form is protected against CSRF before any session exists with a double-submit token: a random
value in a short-lived cookie that must come back in the form.
"""
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from common.users import authenticate
from web.dashboard.auth import (
    SESSION_COOKIE,
    CurrentUser,
    clear_login_failures,
    count_login_attempt,
    end_session,
    load_session,
    require_csrf,
    start_session,
)
from web.dashboard.deps import DbSession
from web.dashboard.render import render, secured
from web.dashboard.timing import TimedRoute
from web.security import local_path, new_token, tokens_match

router = APIRouter(include_in_schema=False, route_class=TimedRoute)

LOGIN_CSRF_COOKIE = "tracker_login_csrf"
LOGIN_CSRF_MAX_AGE = 3600


def _login_page(request: Request, *, next_url: str, username: str = "", error: str | None = None,
                status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    token = new_token()
    response = render(request, "login.html",
                      {"login_csrf": token, "next": next_url, "username": username, "error": error},
                      status_code=status_code, headers=headers)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=LOGIN_CSRF_MAX_AGE, path="/login", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


@router.get("/login")
def login_page(request: Request, session: DbSession,
               next_url: Annotated[str | None, Query(alias="next")] = None) -> Response:
    target = local_path(next_url)
    token = request.cookies.get(SESSION_COOKIE)
    if token and load_session(session=session, token=token):
        return secured(RedirectResponse(target, status_code=303))
    return _login_page(request, next_url=target)


@router.post("/login")
def login(request: Request, session: DbSession, username: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "",
          next_url: Annotated[str, Form(alias="next")] = "/") -> Response:
    target, username = local_path(next_url), username[:150]
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        return _login_page(request, next_url=target, username=username, status_code=403,
                           error="The sign-in form expired. Please try again.")
    settings = request.app.state.settings
    ip = request.client.host if request.client else ""
    wait = count_login_attempt(session=session, username=username, ip=ip,
                               max_failures=settings.login_max_failures,
                               window_seconds=settings.login_failure_window_seconds)
    session.commit()  # the attempt counts even if this request dies while the password is being checked
    if wait is not None:
        minutes = -(-wait // 60)
        plural = "s" if minutes > 1 else ""
        return _login_page(request, next_url=target, username=username, status_code=429,
                           headers={"Retry-After": str(wait)},
                           error=f"Too many failed sign-ins. Try again in {minutes} minute{plural}.")
    user = authenticate(session=session, username=username, password=password)
    if user is None:
        return _login_page(request, next_url=target, username=username, status_code=401,
                           error="Wrong username or password.")
    clear_login_failures(session=session, username=username, ip=ip,
                         window_seconds=settings.login_failure_window_seconds)
    token = start_session(session=session, user_id=user.id, max_age_seconds=settings.session_max_age_seconds)
    session.commit()
    response = secured(RedirectResponse(target, status_code=303))
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_max_age_seconds, path="/",
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request, session: DbSession, user: CurrentUser) -> Response:
    end_session(session=session, token_hash=user.token_hash)
    session.commit()
    response = secured(RedirectResponse("/login", status_code=303))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
