"""GET /api/event served straight from ASGI, in front of FastAPI.

The event API is the hot path, and FastAPI's middleware stack, routing and Request objects cost more CPU
than everything else a GET needs. This wrapper answers exactly that route with the same `record()` the
FastAPI route uses (which still serves POST and documents the API); everything else goes to FastAPI.
It reads the raw ASGI scope as uvicorn fills it, so web/main.py puts it in front only while the uvicorn
adapter is active (common/adapters/uvicorn.py); otherwise FastAPI's route answers GET as well.
"""
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from common.validation import EventRejected, parse_query
from web.ingest.api import CORS_HEADERS, record, refused
from web.ingest.visitor import visitor_of

_JSON = (b"content-type", b"application/json")
_CORS = [(k.lower().encode(), v.encode()) for k, v in CORS_HEADERS.items()]


class EventFastPath:
    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/api/event" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        pipeline = self.app.state.pipeline
        extra: dict[str, str] = {}
        try:
            pairs = parse_query(scope["query_string"], pipeline.limits)
        except EventRejected as exc:
            status, body = refused(exc).status, exc.body()
        else:
            status, body, extra = await record(pipeline, pairs, visitor_of(scope, direct=False))
        payload = orjson.dumps(body)
        headers: list[tuple[bytes, bytes]] = [_JSON, (b"content-length", str(len(payload)).encode()), *_CORS]
        headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def __getattr__(self, name: str) -> Any:
        # Tests and tools reach the FastAPI app's attributes (routes, state, openapi) through this wrapper.
        return getattr(self.app, name)
