"""`tracker metrics`: the web tier's and the worker's metrics, added up across processes, on a bind of their
own; the public port has no /metrics, and a token, when set, is required."""
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from common.cli import main as cli
from common.metrics import remove_dead
from tests.checks import event_count
from tests.conftest import service_env
from tests.services import Process, free_port, wait_until

TOKEN = "metrics-test-token-1"


def _serve(**env: str) -> tuple[Process, str]:
    port = free_port()
    proc = Process("metrics", [sys.executable, "-m", "common.cli", "metrics", "--bind", f"127.0.0.1:{port}"],
                   service_env(**env)).start()
    url = f"http://127.0.0.1:{port}/metrics"

    def answers() -> bool:
        if not proc.alive():
            raise AssertionError(f"metrics exited:\n{proc.log()[-3000:]}")
        return httpx.get(url, timeout=2).status_code > 0

    wait_until(answers, timeout=30, message="tracker metrics")
    return proc, url


@pytest.fixture(scope="module")
def metrics_url() -> Iterator[str]:
    proc, url = _serve()
    yield url
    proc.stop()


def scrape(url: str, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = httpx.get(url, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics__web_and_worker_counts(metrics_url: str, http: httpx.Client, db: psycopg.Connection,
                                        campaign_id: int) -> None:
    before = scrape(metrics_url)
    event = {"cid": campaign_id, "event": "email_click", "domain": "example1.com"}
    for n in range(3):
        assert http.get("/api/event", params={**event, "email": f"m{n}@gmail.com"}).status_code == 200
    assert http.get("/api/event", params={**event, "email": "not-an-email"}).status_code == 422
    assert http.get("/api/event", params={**event, "cid": 987654321, "email": "m@gmail.com"}).status_code == 404
    assert http.get("/login").status_code == 200  # a dashboard page
    wait_until(lambda: event_count(db, campaign_id) == 3, timeout=30, message="events stored")

    def grown(name: str, by: float, **labels: str) -> bool:
        return value(after, name, **labels) - value(before, name, **labels) >= by

    after = scrape(metrics_url)
    assert grown("tracker_events_accepted_total", 3, via="broker")
    assert grown("tracker_events_refused_total", 1, reason="invalid")
    assert grown("tracker_events_refused_total", 1, reason="unknown_campaign")
    assert grown("tracker_dashboard_request_seconds_count", 1, route="/login", method="GET")
    assert grown("tracker_events_stored_total", 3)
    assert grown("tracker_batch_events_count", 1) and grown("tracker_batch_events_sum", 3)
    assert grown("tracker_store_seconds_count", 1)
    assert ("tracker_queue_depth", ()) in after and ("tracker_dead_letters", ()) in after
    assert value(after, "tracker_service_up", service="broker") == 1
    assert value(after, "tracker_service_up", service="database") == 1


def test_metrics__not_on_the_public_port(http: httpx.Client) -> None:
    r = http.get("/metrics")
    assert r.status_code in (303, 404) and "tracker_events" not in r.text


def test_metrics__token_required_when_set() -> None:
    proc, url = _serve(METRICS_TOKEN=TOKEN)
    try:
        assert httpx.get(url, timeout=10).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
        assert "tracker_service_up" in httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
    finally:
        proc.stop()


@pytest.mark.parametrize("bind", ["0.0.0.0:9464", "localhost", "127.0.0.1:99999"])
def test_metrics__public_or_malformed_bind_without_token__exit_2(bind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["metrics", "--bind", bind]) == 2
    assert "METRICS_BIND" in capsys.readouterr().out


def test_metrics__files_of_processes_gone_are_removed_at_start(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_pid, live_pid = int(gone.stdout), os.getppid()
    for pid in (dead_pid, live_pid):
        (tmp_path / f"counter_{pid}.db").write_bytes(b"")
        (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"")
    remove_dead(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"counter_{live_pid}.db", f"gauge_livesum_{live_pid}.db"]
