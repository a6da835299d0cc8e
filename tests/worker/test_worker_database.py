"""The worker's database connection: prepared plans are dropped at doubling intervals and made afresh."""
import time
from typing import Any

import psycopg
import pytest

from common.config import settings
from worker.tasks import _Database

_PREPARED = "SELECT count(*) FROM pg_prepared_statements"


def _prepare(conn: psycopg.Connection[Any], value: int) -> int:
    row = conn.execute("SELECT %s::int", (value,), prepare=True).fetchone()
    assert row is not None
    return int(row[0])


def test_after_the_refresh_interval__prepared_statements_dropped_and_prepared_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "plan_refresh_seconds", 0.2)
    database = _Database()
    conn = database.get()
    _prepare(conn, 1)
    assert conn.execute(_PREPARED).fetchone() == (1,)

    assert database.get() is conn and conn.execute(_PREPARED).fetchone() == (1,)  # not yet
    time.sleep(0.25)
    assert database.get() is conn
    assert conn.execute(_PREPARED).fetchone() == (0,)
    # psycopg forgot its record of the statement too: the same query prepares again instead of failing.
    assert _prepare(conn, 2) == 2
    assert conn.execute(_PREPARED).fetchone() == (1,)
    conn.close()


def test_refresh_interval__doubles_from_one_second_to_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "plan_refresh_seconds", 300.0)
    database = _Database()
    conn = database.get()
    _prepare(conn, 1)
    time.sleep(1.1)
    database.get()  # 1 s after connecting: re-planned
    assert conn.execute(_PREPARED).fetchone() == (0,)
    _prepare(conn, 1)
    time.sleep(1.1)
    database.get()  # the next interval is 2 s
    assert conn.execute(_PREPARED).fetchone() == (1,)
    time.sleep(1.0)
    database.get()
    assert conn.execute(_PREPARED).fetchone() == (0,)
    conn.close()
