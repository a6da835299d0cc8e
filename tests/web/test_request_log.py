"""LOG_FORMAT=json and ACCESS_LOG=on in real processes: JSON lines with the request's (or task's) id, one access
line per request without its query string; by default the web tier adds nothing to the event API's answer."""
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import psycopg
import pytest
import redis

from common.config import Settings
from common.queue import INGEST_TASK, make_celery
from tests.conftest import TEST_ENV, service_env
from tests.services import Process, start_web, start_worker, wait_until
from tests.worker.test_ingest_task import batch, new_ids


def json_lines(proc: Process) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in proc.log().splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def json_web() -> Iterator[tuple[Process, str]]:
    proc, base_url = start_web(service_env(LOG_FORMAT="json", ACCESS_LOG="on"))
    yield proc, base_url
    proc.stop()


def test_json_web__access_line_with_the_callers_request_id_and_no_query(json_web: tuple[Process, str],
                                                                       campaign_id: int) -> None:
    proc, base_url = json_web
    request_id = f"req-{uuid.uuid4().hex[:8]}"
    answer = httpx.get(f"{base_url}/api/event", params={"cid": campaign_id, "event": "email_click",
                                                         "email": "secret@example.com", "domain": "example.com"},
                       headers={"X-Request-ID": request_id})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == request_id

    def access_line() -> dict[str, Any] | None:
        return next((e for e in json_lines(proc) if e.get("request_id") == request_id), None)

    wait_until(access_line, timeout=10, message="the access line")
    line = access_line()
    assert line is not None
    assert line["logger"] == "tracker.access" and line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/event", 200)
    assert line["duration_ms"] >= 0 and line["client"] == "127.0.0.1"
    assert "secret@example.com" not in proc.log()
    # uvicorn's own lines are JSON too.
    assert any(e["logger"].startswith("uvicorn") for e in json_lines(proc))


def test_json_web__insane_request_id__replaced_by_a_new_one(json_web: tuple[Process, str]) -> None:
    _, base_url = json_web
    answer = httpx.get(f"{base_url}/healthz", headers={"X-Request-ID": "x" * 65})
    assert len(answer.headers["x-request-id"]) == 24 and answer.headers["x-request-id"] != "x" * 65
    again = httpx.get(f"{base_url}/healthz", headers={"X-Request-ID": "<a b>"})
    assert again.status_code == 200 and len(again.headers["x-request-id"]) == 24


def test_default_web__event_api_answer_unchanged(http: httpx.Client, campaign_id: int) -> None:
    answer = http.get("/api/event", params={"cid": campaign_id, "event": "email_click", "email": "a@example.com",
                                            "domain": "example.com"})
    assert answer.status_code == 200 and "x-request-id" not in answer.headers


def test_json_worker__a_tasks_lines_carry_its_id(db: psycopg.Connection[Any], campaign_id: int) -> None:
    queue = f"jsonlog_{uuid.uuid4().hex[:8]}"
    worker = start_worker(service_env(LOG_FORMAT="json", INGEST_QUEUE=queue), queue)
    try:
        events = batch(new_ids(db, 2), campaign_id)
        events[1]["email"] = "x" * 300 + "@example.com"  # too long for its column: dead-lettered, and logged
        task = make_celery(Settings(ingest_queue=queue)).send_task(INGEST_TASK, args=[events], queue=queue)

        def logged() -> dict[str, Any] | None:
            return next((e for e in json_lines(worker) if "cannot be stored" in e["message"]), None)

        wait_until(logged, timeout=30, message="the dead letter's log line")
        line = logged()
        assert line is not None and line["request_id"] == task.id and "exception" in line
        assert any(e["message"].endswith(" ready.") for e in json_lines(worker))
    finally:
        worker.stop()
        redis.Redis.from_url(TEST_ENV["REDIS_URL"]).delete(queue, f"{queue}.inflight", f"{queue}.inflight.batches")
