"""Backpressure: past a configured limit the web tier answers 503 + Retry-After instead of buffering.

Two limits, each with a web process of its own: the broker queue deeper than MAX_QUEUE_DEPTH, and more than
MAX_PENDING_EVENTS events waiting in one web process for a broker that does not answer.
"""

import socket
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from tests.checks import stored_ids
from tests.conftest import service_env
from tests.services import BIN, Process, free_port, start_web, start_worker, wait_until

pytestmark = pytest.mark.stock_path  # with LIBRARY_ADAPTERS=off too: the depth probed through Celery

MAX_QUEUE_DEPTH = 3
MAX_PENDING = 20


def _event(campaign_id: int, i: int) -> dict[str, Any]:
    return {"cid": campaign_id, "event": "email_click", "email": f"u{i}@example.com", "domain": "example.com"}


def _assert_overloaded(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"].isdigit()
    assert r.json() == {"status": "error", "error": "overloaded, retry later"}


@pytest.fixture
def deep_queue_web() -> Iterator[tuple[str, dict[str, str], str]]:
    """A web process publishing to a queue of its own that no worker consumes (yet)."""
    queue = f"backpressure_{uuid.uuid4().hex[:8]}"
    env = service_env(INGEST_QUEUE=queue, MAX_QUEUE_DEPTH=str(MAX_QUEUE_DEPTH), QUEUE_DEPTH_CHECK_SECONDS="0")
    proc, base_url = start_web(env)
    yield base_url, env, queue
    proc.stop()


def test_queue_deeper_than_limit__503_until_drained(
    deep_queue_web: tuple[str, dict[str, str], str], db: psycopg.Connection, campaign_id: int
) -> None:
    base_url, env, queue = deep_queue_web
    accepted: list[int] = []
    with httpx.Client(base_url=base_url, timeout=30) as http:
        # One request at a time: each is a batch of its own, so the queue grows by one message per event.
        for i in range(MAX_QUEUE_DEPTH + 3):
            r = http.get("/api/event", params=_event(campaign_id, i))
            if r.status_code != 200:
                break
            accepted.append(r.json()["event_id"])
        assert MAX_QUEUE_DEPTH < len(accepted) <= MAX_QUEUE_DEPTH + 1
        for i in range(10):  # stays refused while nothing drains the queue
            _assert_overloaded(http.get("/api/event", params=_event(campaign_id, 100 + i)))

        worker: Process = start_worker(env, queue)
        try:

            def accepted_again() -> bool:
                r = http.get("/api/event", params=_event(campaign_id, 200))
                if r.status_code == 200:
                    accepted.append(r.json()["event_id"])
                return r.status_code == 200

            wait_until(
                accepted_again, timeout=30, interval=0.5, message="events accepted once the queue drained"
            )
            wait_until(
                lambda: len(stored_ids(db, campaign_id)) == len(accepted), message="accepted events stored"
            )
        finally:
            worker.stop()
    assert sorted(stored_ids(db, campaign_id)) == sorted(accepted)  # the refused ones were not stored


@pytest.fixture
def silent_broker() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a broker that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        yield int(listener.getsockname()[1])


def _start_web_without_broker(env: dict[str, str]) -> tuple[Process, str]:
    """uvicorn as start_web runs it, ready once it serves; its /healthz waits on the hanging broker."""
    port = free_port()
    argv = [
        str(BIN / "uvicorn"),
        "web.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
    ]
    proc = Process("web", argv, env).start()
    base_url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base_url}/openapi.json", timeout=5).status_code == 200, message="web up")
    return proc, base_url


def test_too_many_unpublished_events__503_and_memory_bounded(
    silent_broker: int, db: psycopg.Connection, campaign_id: int
) -> None:
    env = service_env(
        REDIS_URL=f"redis://127.0.0.1:{silent_broker}/0",
        MAX_PENDING_EVENTS=str(MAX_PENDING),
        BROKER_PUBLISH_TIMEOUT_SECONDS="3",  # the held events wait this long, then go to the database
    )
    proc, base_url = _start_web_without_broker(env)
    try:
        # 100 requests at once, from threads (the test process may have an event loop running already).
        limits = httpx.Limits(max_connections=100)
        with (
            httpx.Client(base_url=base_url, timeout=60, limits=limits) as client,
            ThreadPoolExecutor(max_workers=100) as pool,
        ):
            answers = list(
                pool.map(lambda i: client.get("/api/event", params=_event(campaign_id, i)), range(100))
            )
    finally:
        proc.stop()
    ok = [r.json()["event_id"] for r in answers if r.status_code == 200]
    refused = [r for r in answers if r.status_code != 200]
    assert 0 < len(ok) <= MAX_PENDING  # what was held was stored by the fallback once the broker timed out
    assert len(refused) >= 100 - MAX_PENDING
    for r in refused:
        _assert_overloaded(r)
    assert sorted(stored_ids(db, campaign_id)) == sorted(ok)
