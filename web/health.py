"""`/healthz`: can this web process accept events right now?"""
import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response

from common.db import Conn
from web.ingest.api import json_response

router = APIRouter(tags=["operations"])


def _database_ok(conn: Conn) -> bool:
    return conn.execute("SELECT 1").fetchone() is not None


@router.get("/healthz", summary="Health of the web tier, its database and its broker")
async def healthz(request: Request) -> Response:
    pipeline = request.app.state.pipeline
    checks: dict[str, Any] = {}
    try:
        await asyncio.wait_for(pipeline.db.run(_database_ok), timeout=3)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        checks["queue_depth"] = await asyncio.wait_for(asyncio.to_thread(pipeline.queue_depth), timeout=3)
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
    # Events are accepted while either path to storage works.
    healthy = "ok" in (checks["database"], checks["broker"])
    return json_response({"status": "ok" if healthy else "error", **checks}, 200 if healthy else 503)
