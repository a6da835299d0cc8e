"""Request ids and the access log, in front of everything the web tier serves (the event fast path too).

Installed only when LOG_FORMAT=json or ACCESS_LOG=on (web/main.py): otherwise the event API pays nothing
for it. The id is the caller's X-Request-ID when it sends a sane one (a proxy's, to follow a request across
tiers), else a new one; it is in every line logged for the request (common/logs.py) and in the answer's
X-Request-ID header. The access line leaves out the query string: on the event API it holds recipients'
email addresses.
"""
import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.logs import REQUEST_ID

access = logging.getLogger("tracker.access")
_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value.decode() if _SANE_ID.fullmatch(value) else None
    return None


class RequestLog:
    def __init__(self, app: ASGIApp, *, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or os.urandom(12).hex()  # a third of uuid4()'s cost
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 0  # no answer started (the client went away, or the app failed before answering)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log:
                took = (time.perf_counter() - started) * 1000
                client = scope.get("client")
                access.info("%s %s %d %.1f ms", scope["method"], scope["path"], status, took,
                            extra={"method": scope["method"], "path": scope["path"], "status": status,
                                   "duration_ms": round(took, 2), "client": client[0] if client else None})
            REQUEST_ID.reset(token)

    def __getattr__(self, name: str) -> Any:
        # Tests and tools reach the FastAPI app's attributes (routes, state) through the wrappers.
        return getattr(self.app, name)
