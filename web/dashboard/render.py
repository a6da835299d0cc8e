"""Templates, their filters, and the one place dashboard responses are made (with the security headers)."""
import hashlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from common.money import format_money
from common.vocabulary import EVENT_TYPES
from web.security import SECURITY_HEADERS, apply_security_headers, http_url

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "web" / "static"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def number(value: int | None) -> str:
    """1234 -> "1,234"."""
    return f"{value or 0:,}"


def short_date(moment: datetime, today: datetime | None = None) -> str:
    """ "Jan 15"; the year is added for dates outside the current year ("Jan 15, 2025")."""
    today = today or datetime.now()
    label = f"{_MONTHS[moment.month - 1]} {moment.day}"
    return label if moment.year == today.year else f"{label}, {moment.year}"


def percent(rate: float | Decimal | None) -> str:
    """7.234 -> "7.2%"; None (no email clicks yet, no cost) -> "—"."""
    return "—" if rate is None else f"{rate:.1f}%"


@cache
def static_url(name: str) -> str:
    """/static/<name>?v=<content hash>: browsers may cache assets for long and still get new versions."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def _base_context(request: Request) -> dict[str, Any]:
    return {"auth": getattr(request.state, "auth", None), "settings": request.app.state.settings}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(number=number, short_date=short_date, percent=percent, http_url=http_url, money=format_money)
    env.globals.update(static_url=static_url, event_types=EVENT_TYPES)
    return env


templates = Jinja2Templates(env=_environment(), context_processors=[_base_context])


def is_htmx(request: Request) -> bool:
    """An HTMX request that wants a fragment (a history restore after a cache miss wants the whole page)."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def render(request: Request, template: str, context: Mapping[str, Any] | None = None, *,
           status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A page or fragment of the dashboard, with its security headers."""
    return templates.TemplateResponse(request, template, dict(context or {}), status_code=status_code,
                                       headers={**SECURITY_HEADERS, **(headers or {})})


def secured(response: Response) -> Response:
    """A non-template dashboard response (redirect, empty HTMX answer) with the same security headers."""
    apply_security_headers(response.headers)
    return response
