"""Builds the FastAPI app: ingest API, health check, dashboard and its static files."""
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from common import metrics
from common.adapters import uvicorn as uvicorn_adapter
from common.config import Settings, get_settings
from common.db import Database
from common.heap import freeze_startup_heap
from common.logs import configure_logging
from web import health
from web.api import install as install_api
from web.dashboard.routes import install as install_dashboard
from web.ingest import api, pixel, postback, redirect
from web.ingest.fastpath import EventFastPath
from web.ingest.pipeline import build_pipeline
from web.request_log import RequestLog

STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    metrics.enable(settings, "web")

    db = Database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pipeline = build_pipeline(settings, db)
        freeze_startup_heap()
        yield
        app.state.pipeline.close()
        db.close()

    app = FastAPI(
        title="Click Tracker",
        description="Self-hosted click and conversion tracker for email marketers.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.include_router(api.router)
    app.include_router(pixel.router)
    app.include_router(postback.router)
    app.include_router(redirect.router)
    app.include_router(health.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_dashboard(app)
    install_api(app, settings)
    return app


def serve(settings: Settings | None = None) -> ASGIApp:
    """The ASGI app uvicorn serves: GET /api/event short-circuits FastAPI (web/ingest/fastpath.py) while the
    uvicorn adapter is active (it relies on uvicorn's scope); otherwise FastAPI's route answers it too. In
    front of both, request ids and the access log when asked for (web/request_log.py)."""
    settings = settings or get_settings()
    app = create_app(settings)
    served: ASGIApp = EventFastPath(app) if uvicorn_adapter.active(settings) else app
    if settings.log_format == "json" or settings.access_log:
        served = RequestLog(served, access_log=settings.access_log)
    return served


app = serve()
