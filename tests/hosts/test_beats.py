"""Two beats on two hosts send each run of a job once: each run is claimed in PostgreSQL on the db host first
(worker/beat.py). For the test, worker-a's beat makes way for two beats, on worker-a and worker-b, that send to
a queue no worker reads, so the runs they sent can be counted in the broker."""

import time
import uuid

import pytest

from common.queue import RECOVER_TASK
from tests.hosts.cluster import VISIBILITY_TIMEOUT, Cluster
from tests.services import queued_runs, wait_until
from worker.beat import CLAIM_SHARE

pytestmark = [pytest.mark.hosts, pytest.mark.xdist_group("hosts")]  # one process: the package's cluster

WINDOW = 8.0
RECOVER_EVERY = max(1, VISIBILITY_TIMEOUT // 5)  # as worker/celery_app.py schedules it


def test_beats_on_two_hosts__each_run_sent_once(cluster: Cluster) -> None:
    assert cluster.redis is not None
    queue = f"{cluster.queue}_beats_{uuid.uuid4().hex[:6]}"

    def sent() -> int:
        assert cluster.redis is not None
        return cluster.redis.call(lambda client: queued_runs(client, queue, RECOVER_TASK))

    cluster.procs.pop("beat@worker-a").stop()
    beats = [cluster.start_process("beat", host, DATA_DIR=str(cluster.tmp / f"beats-{host}"), MAINTENANCE_QUEUE=queue)
             for host in ("worker-a", "worker-b")]
    try:
        wait_until(lambda: all("beat: Starting" in b.log() for b in beats) and sent() > 0, timeout=60,
                   message="both beats sending")
        before = sent()
        time.sleep(WINDOW)
        runs = sent() - before
        skipped = sum(b.log().count("claimed by another beat") for b in beats)
    finally:
        for beat in beats:
            beat.stop()
        cluster.redis.call(lambda client: client.delete(queue))
        cluster.start_process("beat", "worker-a", DATA_DIR=str(cluster.tmp / "worker-a"))
    # Unclaimed, the two beats would send `recover` about 2 x WINDOW / RECOVER_EVERY times; claimed, once per
    # period at most (a claim lasts CLAIM_SHARE of it, so a tick's jitter may fit one more run in).
    assert WINDOW / RECOVER_EVERY / 2 <= runs <= WINDOW / (RECOVER_EVERY * CLAIM_SHARE) + 1, runs
    assert skipped > 0
