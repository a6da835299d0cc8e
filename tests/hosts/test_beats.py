"""Two beats on two hosts send each run of a job once: each run is claimed in PostgreSQL on the db host first
(worker/beat.py). Beat on worker-a runs all along; a second one starts on worker-b for a while."""

import itertools
import re
import time
from datetime import datetime

import pytest

from tests.hosts.cluster import VISIBILITY_TIMEOUT, Cluster
from tests.services import wait_until
from worker.beat import CLAIM_SHARE

pytestmark = pytest.mark.hosts

WINDOW = 8.0
RECOVER_EVERY = max(1, VISIBILITY_TIMEOUT // 5)  # as worker/celery_app.py schedules it
_SENT = re.compile(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): INFO/MainProcess\] Scheduler: Sending due task recover")


def _sends(log: str) -> list[datetime]:
    return [datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f") for stamp in _SENT.findall(log)]


def test_beats_on_two_hosts__each_run_sent_once(cluster: Cluster) -> None:
    beat_a = cluster.procs["beat@worker-a"]
    beat_b = cluster.start_process("beat", "worker-b", DATA_DIR=str(cluster.tmp / "worker-b"))
    try:
        wait_until(lambda: "beat: Starting" in beat_b.log(), timeout=60, message="beat on worker-b")
        started = datetime.now()
        time.sleep(WINDOW)
        ended = datetime.now()
    finally:
        beat_b.stop()
    sends = sorted(t for log in (beat_a.log(), beat_b.log()) for t in _sends(log) if started <= t <= ended)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(sends)]
    skipped = sum(log.count("claimed by another beat") for log in (beat_a.log(), beat_b.log()))
    # Unclaimed, each beat would send every second: runs 0-1 s apart, twice as many.
    assert len(sends) >= WINDOW / RECOVER_EVERY / 2, sends
    assert min(gaps) >= RECOVER_EVERY * CLAIM_SHARE - 0.1, gaps
    assert skipped > 0
