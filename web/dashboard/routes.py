"""Wires the dashboard into the app: its routers, and how sign-in, unknown campaigns and 404s are answered."""
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from web.dashboard import account, login, pages, report_pages, webhooks
from web.dashboard.auth import LoginRequired
from web.dashboard.render import is_htmx, render, secured
from web.security import local_path


def _login_url(back_to: str) -> str:
    return "/login" if back_to == "/" else "/login?" + urlencode({"next": back_to})


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def _login_required(request: Request, exc: Exception) -> Response:
    if is_htmx(request):
        # A fragment request must not get the login page swapped into the table: HX-Redirect makes HTMX
        # navigate, and the visitor comes back to the page (not the fragment) after signing in.
        back_to = local_path(_path_and_query(request.headers.get("HX-Current-URL", "")))
        return secured(Response(status_code=401, headers={"HX-Redirect": _login_url(back_to)}))
    back_to = local_path(_path_and_query(str(request.url))) if request.method == "GET" else "/"
    return secured(RedirectResponse(_login_url(back_to), status_code=303))


async def _campaign_not_found(request: Request, exc: Exception) -> Response:
    return render(request, "404.html", {"message": "There is no campaign with this ID."}, status_code=404)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Browsers get the 404 page; API clients (and every other status) keep FastAPI's JSON answer."""
    assert isinstance(exc, StarletteHTTPException)
    api = request.url.path.startswith("/api/")
    browser = not api and "text/html" in request.headers.get("accept", "")
    if exc.status_code == 404 and browser:
        return render(request, "404.html", {"message": "There is no page at this address."}, status_code=404)
    if exc.status_code == 403 and browser:
        return render(request, "404.html", {"title": "Not allowed", "message": exc.detail}, status_code=403)
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(webhooks.router)
    app.include_router(account.router)
    app.include_router(report_pages.router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(pages.CampaignNotFound, _campaign_not_found)
    app.add_exception_handler(StarletteHTTPException, _http_error)
