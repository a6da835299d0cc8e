"""Web and worker processes freeze their start-up heap (common/heap.py), so that full collections stay short."""
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import service_env

ROOT = Path(__file__).resolve().parent.parent

# Each prints how many objects a fresh process has frozen before and after its start-up ran.
_WEB = """
import gc
from fastapi.testclient import TestClient
from web.main import create_app
before = gc.get_freeze_count()
with TestClient(create_app()) as client:
    assert client.get("/healthz").status_code in (200, 503)
    print(before, gc.get_freeze_count())
"""
_WORKER = """
import gc
from celery import signals
import worker.celery_app
before = gc.get_freeze_count()
signals.worker_process_init.send(sender=None)
from common.enrich import describe_ip
describe_ip("8.8.8.8")  # loaded already: the warm-up ran before the freeze
print(before, gc.get_freeze_count())
"""


@pytest.mark.parametrize("script", [_WEB, _WORKER], ids=["web", "worker"])
def test_startup_heap__frozen_once_started(script: str) -> None:
    out = subprocess.run([sys.executable, "-c", script], env=service_env(), cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, after = map(int, out.stdout.split()[-2:])
    assert before == 0 and after > 50_000  # the libraries and tables loaded at start-up, not a handful
