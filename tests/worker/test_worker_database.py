"""The worker's database connection: prepared plans are dropped every PLAN_REFRESH_SECONDS and made afresh."""
import time

import pytest

from common.config import settings
from worker.tasks import _Database

_PREPARED = "SELECT count(*) FROM pg_prepared_statements"


def test_after_the_refresh_interval__prepared_statements_dropped_and_prepared_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "plan_refresh_seconds", 0.2)
    database = _Database()
    conn = database.get()
    conn.execute("SELECT %s::int", (1,), prepare=True)
    assert conn.execute(_PREPARED).fetchone() == (1,)

    assert database.get() is conn and conn.execute(_PREPARED).fetchone() == (1,)  # not yet
    time.sleep(0.25)
    assert database.get() is conn
    assert conn.execute(_PREPARED).fetchone() == (0,)
    # psycopg forgot its record of the statement too: the same query prepares again instead of failing.
    assert conn.execute("SELECT %s::int", (2,), prepare=True).fetchone() == (2,)
    assert conn.execute(_PREPARED).fetchone() == (1,)
    conn.close()
