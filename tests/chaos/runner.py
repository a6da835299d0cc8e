"""One fault run, shared by the chaos tests (one machine) and the hosts suite (simulated hosts): the load, the
fault during it, the wait for the backlog, then the durability check and the run's numbers.

Recovery: seconds from the end of the fault (for a kill or a restart, the kill) until every event answered ok
before then is stored and no request fails any more.
"""

import time
from collections.abc import Callable
from typing import Protocol

import psycopg

from common.config import get_settings
from common.reports import fold
from tests.chaos.load import Load
from tests.chaos.report import Report, check_and_report

# Waiting for the backlog gives up only when nothing more got stored for this long (or after the cap):
# a slow machine takes longer, a stuck queue fails.
STALL_TIMEOUT = 30.0
SETTLE_CAP = 240.0

Record = Callable[[Report], None]
Fault = Callable[[Load], float]  # breaks something during the load; returns when the fault ended


class Database(Protocol):
    def connect(self) -> psycopg.Connection: ...


class Target(Protocol):
    """What a run needs of the system under test (tests/chaos/stack.py, tests/hosts/cluster.py)."""

    @property
    def pg(self) -> Database | None: ...

    def queue_drained(self) -> bool: ...

    def logs(self) -> str: ...


def count_stored(target: Target, campaign_id: int, ids: list[int] | None = None) -> int:
    """Events of the campaign stored, or of `ids` only."""
    assert target.pg is not None
    with target.pg.connect() as conn:
        if ids is None:
            row = conn.execute("SELECT count(*) FROM events WHERE campaign_id = %s", (campaign_id,)).fetchone()
        else:
            row = conn.execute("SELECT count(*) FROM events WHERE id = ANY(%s)", (ids,)).fetchone()
    return int(row[0]) if row else 0


def wait_while_progressing(target: Target, campaign_id: int, done: Callable[[], bool]) -> bool:
    """Poll done() until true; False once the stored count stopped growing for STALL_TIMEOUT."""
    started = last_progress = time.monotonic()
    best = -1
    while time.monotonic() - started < SETTLE_CAP:
        try:
            if done():
                return True
            stored = count_stored(target, campaign_id)
            if stored > best:
                best, last_progress = stored, time.monotonic()
        except psycopg.OperationalError:
            pass  # the database is down for a while (that fault's test)
        if time.monotonic() - last_progress > STALL_TIMEOUT:
            return False
        time.sleep(0.2)
    return False


def run(target: Target, load: Load, record_report: Record, scenario: str, fault: Fault) -> Load:
    """Start the load, fault, wait for the backlog, then check the promise and record the numbers."""
    campaign_id = load.campaign_id
    load.start()
    try:
        fault_ended = fault(load)
        before = [
            o.event_id for o in list(load.outcomes) if o.event_id is not None and o.answered_at <= fault_ended
        ]
        wait_while_progressing(target, campaign_id, lambda: count_stored(target, campaign_id, before) == len(before))
        caught_up = time.monotonic()
        load.join()
        failures_end = max((o.answered_at for o in load.outcomes if not o.ok), default=fault_ended)
        ok_ids = load.ok_ids()
        drained = wait_while_progressing(
            target, campaign_id,
            lambda: count_stored(target, campaign_id, ok_ids) == len(ok_ids) and target.queue_drained(),
        )
        assert target.pg is not None
        with target.pg.connect() as conn:
            # The reports' queue folded first, outside the snapshot: a fold inside it would conflict with the
            # beat's own fold ("could not serialize access"); after this one the queue is empty.
            settings = get_settings()
            fold(conn, timezone=settings.dashboard_timezone, max_values=settings.report_max_values)
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot for every check
            with conn.transaction():
                report = check_and_report(
                    conn, load, campaign_id, scenario, max(caught_up, failures_end) - fault_ended
                )
        record_report(report)
        assert drained, "the queue was not drained"
    except BaseException:
        print(target.logs())
        raise
    return load
