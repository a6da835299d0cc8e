"""Browser-facing hardening for the dashboard: response headers, CSRF token checks, safe links.

Applied by the dashboard's own response helpers, never as app-wide middleware: `/api/event` is the hot path
and must not pay for any of this.
"""
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders

# HTMX runs under this policy because the pages use no inline script or style (htmx's own indicator style is
# switched off in base.html's htmx-config), and nothing is ever evaluated from attributes.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
))

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show a signed-in user's data: never keep them in shared or back-button caches.
    "Cache-Control": "no-store",
}

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def apply_security_headers(headers: MutableHeaders) -> None:
    headers.update(SECURITY_HEADERS)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison; an empty or missing token never matches."""
    return bool(expected and given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def http_url(url: str) -> str | None:
    """The URL when it is an absolute http(s) URL, else None: only such URLs ever become links."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return None


def local_path(target: str | None, default: str = "/") -> str:
    """`target` when it is a path on this site (for ?next= after login), else `default`: no open redirects."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    # Browsers drop tabs and newlines from URLs, so "/\t/evil.example" would become "//evil.example".
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
