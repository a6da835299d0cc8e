"""Flower (the queue monitor) is behind basic auth, and refuses to start without a password."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import service_env
from tests.services import ROOT, Process, free_port, wait_until

PASSWORD = "flower-test-password-7"


@pytest.fixture(scope="module")
def flower() -> Iterator[tuple[Process, str]]:
    port = free_port()
    proc = Process(
        "flower",
        [sys.executable, "-m", "common.cli", "flower", "--port", str(port)],
        service_env(FLOWER_USER="admin", FLOWER_PASSWORD=PASSWORD),
    ).start()
    base_url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if not proc.alive():
            raise AssertionError(f"flower exited:\n{proc.log()[-3000:]}")
        return httpx.get(base_url, timeout=2).status_code > 0

    wait_until(answers, timeout=60, message="flower listening")
    yield proc, base_url
    proc.stop()


@pytest.mark.parametrize(
    "auth", [None, ("admin", "wrong"), ("someone", PASSWORD)], ids=["none", "wrong-password", "wrong-user"]
)
def test_without_credentials__401(flower: tuple[Process, str], auth: tuple[str, str] | None) -> None:
    _, base_url = flower
    page = httpx.get(base_url, auth=auth, timeout=10)
    assert page.status_code == 401
    assert page.headers["www-authenticate"].lower().startswith("basic")  # the browser asks for credentials
    for path in ("/tasks", "/broker", "/api/workers", "/api/tasks", "/api/queues/length", "/metrics"):
        assert httpx.get(base_url + path, auth=auth, timeout=10).status_code == 401, path
    # The API can also send tasks and shut workers down.
    for path in ("/api/task/send-task/tracker.ingest_batch", "/api/worker/shutdown/celery@localhost"):
        assert httpx.post(base_url + path, json={"args": [[]]}, auth=auth, timeout=10).status_code == 401, (
            path
        )


def test_with_credentials__200(flower: tuple[Process, str]) -> None:
    _, base_url = flower
    assert httpx.get(base_url, auth=("admin", PASSWORD), timeout=10).status_code == 200
    metrics = httpx.get(base_url + "/metrics", auth=("admin", PASSWORD), timeout=10)
    assert metrics.status_code == 200 and "flower_" in metrics.text


def test_password_not_on_the_command_line(flower: tuple[Process, str]) -> None:
    proc, _ = flower
    assert PASSWORD.encode() not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()


def test_empty_password__refuses_to_start() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "common.cli", "flower", "--port", str(free_port())],
        env=service_env(FLOWER_PASSWORD=""),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "FLOWER_PASSWORD" in done.stdout
