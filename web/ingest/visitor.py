"""The one place the web tier reads who sent a request: the client's address and its User-Agent header.

From the ASGI scope, so the GET fast path (which has no Request object) and the FastAPI routes read them the
same way. Behind a proxy, uvicorn's --proxy-headers has already put the forwarded address in the scope, for
the proxies FORWARDED_ALLOW_IPS trusts.
"""
from starlette.types import Scope

from common.event import Visitor


def visitor_of(scope: Scope, *, direct: bool) -> Visitor:
    """`direct`: the route is one only a visitor's own browser calls (a tracking link, a pixel), not /api/event,
    which server-side landing scripts call too."""
    client = scope.get("client")
    user_agent = next((value.decode("latin-1") for name, value in scope["headers"] if name == b"user-agent"), None)
    return Visitor(ip=client[0] if client else None, user_agent=user_agent, direct=direct)
