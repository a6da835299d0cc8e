"""The worker's database connection: replaced at doubling intervals, so its prepared plans are made afresh."""
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


def test_after_the_interval__a_new_connection_without_prepared_statements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "plan_refresh_seconds", 0.2)
    database = _Database()
    first = database.get()
    _prepare(first, 1)
    assert database.get() is first and first.execute(_PREPARED).fetchone() == (1,)  # not yet

    time.sleep(0.25)
    second = database.get()
    assert second is not first and first.closed
    assert second.execute(_PREPARED).fetchone() == (0,)
    assert second.execute("SHOW statement_timeout").fetchone() == (f"{settings.task_time_limit_seconds // 60}min",)
    assert _prepare(second, 2) == 2
    second.close()


def test_replaced_before_and_after_preparing__prepared_queries_keep_working(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The case DEALLOCATE ALL got wrong: nothing prepared at the first refresh, something at the second."""
    monkeypatch.setattr(settings, "plan_refresh_seconds", 0.1)
    database = _Database()
    database.get()
    time.sleep(0.15)
    conn = database.get()  # first refresh: nothing was prepared
    for n in range(6):  # psycopg prepares after five runs
        assert _prepare(conn, n) == n
    time.sleep(0.15)
    conn = database.get()  # second refresh
    for n in range(6):
        assert _prepare(conn, n) == n
    conn.close()


def test_interval__doubles_from_one_second_to_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "plan_refresh_seconds", 300.0)
    database = _Database()
    first = database.get()
    time.sleep(1.1)
    second = database.get()  # 1 s after opening
    assert second is not first
    time.sleep(1.1)
    assert database.get() is second  # the next interval is 2 s
    time.sleep(1.0)
    third = database.get()
    assert third is not second
    third.close()
