"""Beat on two hosts: each run of a job is claimed in the database, so two beats send it once (worker/beat.py)."""
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import redis

from common.queue import RECOVER_TASK
from tests.conftest import TEST_ENV, service_env
from tests.services import BIN, Process, queued_runs, wait_until
from worker.beat import claim_run

WINDOW = 8.0  # seconds both beats run side by side; `recover` is due every second (visibility timeout 5 s)


def test_claim_run__refused_to_another_holder_until_it_expires(db: psycopg.Connection[Any]) -> None:
    job = f"job-{uuid.uuid4().hex[:6]}"
    assert claim_run(db, job, "host-a:1", 0.5)
    assert not claim_run(db, job, "host-b:1", 0.5)
    assert not claim_run(db, job, "host-a:1", 0.5)  # the holder too: one run per claim
    time.sleep(0.6)
    assert claim_run(db, job, "host-b:1", 0.5)
    row = db.execute("SELECT holder FROM beat_claims WHERE job = %s", (job,)).fetchone()
    assert row == ("host-b:1",)


def _beat(env: dict[str, str], folder: Path, name: str) -> Process:
    argv = [str(BIN / "celery"), "-A", "worker.celery_app", "beat", "--loglevel", "INFO",
            "--schedule", str(folder / f"{name}-schedule")]
    return Process(f"beat-{name}", argv, env).start()


def test_two_beats__each_run_sent_once() -> None:
    queue = f"maintenance_beat_{uuid.uuid4().hex[:8]}"
    env = service_env(MAINTENANCE_QUEUE=queue, BROKER_VISIBILITY_TIMEOUT_SECONDS="5")
    folder = Path(tempfile.mkdtemp(prefix="beats-"))
    broker = redis.Redis.from_url(TEST_ENV["REDIS_URL"])
    beats = [_beat(env, folder, "a"), _beat(env, folder, "b")]
    try:
        wait_until(lambda: all("beat: Starting" in b.log() for b in beats)
                   and queued_runs(broker, queue, RECOVER_TASK) > 0, timeout=60, message="both beats sending")
        sent_before = queued_runs(broker, queue, RECOVER_TASK)
        time.sleep(WINDOW)
        sent = queued_runs(broker, queue, RECOVER_TASK) - sent_before
        skipped = sum(b.log().count("claimed by another beat") for b in beats)
    finally:
        for b in beats:
            b.stop()
        logs = "\n".join(f"--- {b.name} ---\n{b.log()[-2000:]}" for b in beats)
        for b in beats:
            b.log_path.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        broker.delete(queue)
    # Unclaimed, the two beats would send `recover` about 2 x WINDOW times; claimed, once a second at most
    # (a claim lasts 0.9 s, so a tick's jitter may fit one more run into the window).
    assert WINDOW * 0.5 <= sent <= WINDOW / 0.9 + 1, f"{sent} runs sent in {WINDOW} s\n{logs}"
    assert skipped > 0, logs
