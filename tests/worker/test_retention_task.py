"""The scheduled retention task, run by a real worker configured with RETENTION_DAYS."""

import time
from collections.abc import Iterator

import psycopg
import pytest

from common.config import get_settings
from common.queue import RETENTION_TASK, make_celery
from tests.checks import assert_rollups_match_recount, event_count
from tests.conftest import TEST_ENV, service_env
from tests.events import store
from tests.services import Process, start_worker, wait_until


@pytest.fixture
def retention_worker() -> Iterator[Process]:
    proc = start_worker(
        service_env(RETENTION_DAYS="30", RETENTION_BATCH_SIZE="3", RETENTION_RUN_SECONDS="0"),
        TEST_ENV["MAINTENANCE_QUEUE"],
    )
    yield proc
    proc.stop()


def test_retention_task__deletes_in_bounded_runs(
    retention_worker: Process, db: psycopg.Connection, campaign_id: int
) -> None:
    ids = [r[0] for r in db.execute("SELECT nextval('events_id_seq') FROM generate_series(1, 8)")]
    old = time.time() - 45 * 86_400
    store(
        db,
        [
            {
                "id": i,
                "cid": campaign_id,
                "type": "email_click",
                "email": f"u{n}@x.com",
                "domain": "a.com",
                "ip": None,
                "ua": None,
                "extra": {},
                "ts": old if n < 7 else time.time(),
            }
            for n, i in enumerate(ids)
        ],
    )
    make_celery(get_settings()).send_task(RETENTION_TASK)
    # 7 old events, 3 per batch, no time per run: the task re-queues itself until all are gone.
    wait_until(lambda: event_count(db, campaign_id) == 1, timeout=60, message="old events deleted")
    assert_rollups_match_recount(db, campaign_id)
    assert "continuing in a new task" in retention_worker.log()
