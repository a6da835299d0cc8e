"""Fixtures that start real services: a fresh PostgreSQL database, Redis, a Celery worker and the web tier.

The environment is set here, before any application module is imported, so the app's settings point at
the test database, a Redis database and queue of the test run's own.
"""
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_RUN = uuid.uuid4().hex[:8]
TEST_ENV = {
    "ENVIRONMENT": "development",
    "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/tracker_test_{_RUN}",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "BROKER_URL": "",
    "INGEST_QUEUE": f"ingest_test_{_RUN}",
    "MAINTENANCE_QUEUE": f"maintenance_test_{_RUN}",
    "WEBHOOK_QUEUE": f"webhooks_test_{_RUN}",
    "TRACKER_ADMIN_USER": "",
    "TRACKER_ADMIN_PASSWORD": "",
    "FLOWER_PASSWORD": "test-flower-password",
    # Each process's metrics files (common/metrics.py): the run's own folder.
    "METRICS_DIR": f"/tmp/tracker-metrics-{_RUN}",
    "BROKER_VISIBILITY_TIMEOUT_SECONDS": "10",
    "HOME_REFRESH_SECONDS": "1",
    "STATS_REFRESH_SECONDS": "1",
    # On unless the run says off (make test's second pass); never a developer's .env.
    "LIBRARY_ADAPTERS": os.environ.get("LIBRARY_ADAPTERS", "on"),
}
os.environ.update(TEST_ENV)

import httpx  # noqa: E402
import psycopg  # noqa: E402
import pytest  # noqa: E402

from common.campaigns import create_campaign  # noqa: E402
from common.cli import main as cli  # noqa: E402
from common.db import connect, get_engine, get_session, libpq_dsn  # noqa: E402
from tests.chaos.report import summarize  # noqa: E402
from tests.services import Process, start_web, start_worker  # noqa: E402


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The chaos and hosts suites' tables of runs. Here, not in their folders' conftest: under pytest-xdist
    (make test) the process that prints the summary loads only this one."""
    summarize(terminalreporter)


def service_env(**overrides: str) -> dict[str, str]:
    """Environment for a child process of the app: the test settings plus overrides."""
    return {**os.environ, **TEST_ENV, **overrides}


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    """A fresh database with every migration applied, dropped after the run."""
    assert cli(["migrate"]) == 0
    yield TEST_ENV["DATABASE_URL"]
    get_engine().dispose()
    name = TEST_ENV["DATABASE_URL"].rsplit("/", 1)[1]
    with psycopg.connect(libpq_dsn().rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(TEST_ENV["METRICS_DIR"], ignore_errors=True)


@pytest.fixture
def db() -> Iterator[psycopg.Connection[Any]]:
    """A plain autocommit connection to the test database."""
    with connect() as conn:
        yield conn


@pytest.fixture(scope="session")
def worker() -> Iterator[Process]:
    proc = start_worker(service_env(), TEST_ENV["INGEST_QUEUE"])
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def web(worker: Process) -> Iterator[str]:
    """Base URL of the web tier (uvicorn), with a worker consuming its queue."""
    proc, base_url = start_web(service_env())
    yield base_url
    proc.stop()


@pytest.fixture
def http(web: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web, timeout=30) as client:
        yield client


@pytest.fixture
def campaign_id() -> int:
    """A new campaign of this test's own, so assertions never see another test's events."""
    with get_session() as session:
        return create_campaign(session=session, name=f"Test {uuid.uuid4().hex[:6]}",
                               offer_url="https://offer.example.com/?aff=1").id


# --- dashboard -------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def dashboard_user() -> tuple[str, str]:
    """A dashboard user of this run's own: (username, password)."""
    from common.users import upsert_user

    username, password = f"marketer-{_RUN}", f"pw-{uuid.uuid4().hex}"
    with get_session() as session:
        upsert_user(session=session, username=username, password=password)
    return username, password


@pytest.fixture(scope="session")
def dashboard_app() -> Any:
    """The app in this process with the spec's refresh intervals (home 30 s, stats 10 s), for route tests
    that look at templates and their context. Its lifespan is not run: the dashboard needs no pipeline."""
    from common.config import Settings
    from web.main import create_app

    return create_app(Settings(home_refresh_seconds=30, stats_refresh_seconds=10))


def sign_in(client: Any, username: str, password: str) -> Any:
    """Sign in through the login form (its CSRF cookie and field included); returns the POST's response."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token[1],
                                       "next": "/"}, follow_redirects=False)


@pytest.fixture
def anonymous_client(dashboard_app: Any) -> Iterator[Any]:
    """A signed-out browser-like client of the in-process app."""
    from fastapi.testclient import TestClient

    client = TestClient(dashboard_app, follow_redirects=False)  # not `with`: that would start the lifespan
    yield client
    client.close()


@pytest.fixture
def dashboard_client(anonymous_client: Any, dashboard_user: tuple[str, str]) -> Any:
    """A client of the in-process app, signed in as `dashboard_user`."""
    assert sign_in(anonymous_client, *dashboard_user).status_code == 303
    return anonymous_client


# --- tracking link, pixel, postback ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def overloaded_web() -> Iterator[str]:
    """Base URL of a web process that refuses every event as overloaded: it publishes to a queue of its own
    that no worker consumes, filled past MAX_QUEUE_DEPTH. The queue is deleted afterwards."""
    import redis

    queue = f"overloaded_{_RUN}"
    proc, base_url = start_web(service_env(INGEST_QUEUE=queue, MAX_QUEUE_DEPTH="1", QUEUE_DEPTH_CHECK_SECONDS="0"))
    with get_session() as session:
        cid = create_campaign(session=session, name="Overload filler", offer_url="https://offer.example.com/").id
    with httpx.Client(base_url=base_url, timeout=30) as client:
        # One at a time: each event is a batch (a queued message) of its own; the depth is checked after each.
        for i in range(10):
            r = client.get("/api/event", params={"cid": cid, "event": "email_click", "email": f"f{i}@x.com",
                                                 "domain": "x.com"})
            if r.status_code == 503:
                break
        assert r.status_code == 503, r.text
    yield base_url
    proc.stop()
    redis.Redis.from_url(TEST_ENV["REDIS_URL"]).delete(queue, f"{queue}.inflight", f"{queue}.inflight.batches")


# --- databases of a test's own ------------------------------------------------------------------------------

@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A brand-new database at the head migration, never analysed, dropped afterwards: yields its SQLAlchemy URL."""
    with new_database() as url:
        yield url


@contextmanager
def new_database() -> Iterator[str]:
    """A brand-new database at the head migration, dropped on leaving: its SQLAlchemy URL."""
    from sqlalchemy.engine import make_url

    name = f"tracker_fresh_{uuid.uuid4().hex[:8]}"
    admin = libpq_dsn().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(TEST_ENV["DATABASE_URL"]).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str) -> None:
    """Every migration applied to the database at `url` (a SQLAlchemy URL), in this process: no interpreter to
    start and no application to import, as `tracker migrate` would."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, pool

    from tests.services import ROOT

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            config = Config(str(ROOT / "alembic.ini"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
    finally:
        engine.dispose()
