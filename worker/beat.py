"""Beat's scheduler, safe to run on several hosts: each run of a job is claimed in PostgreSQL before it is sent.

Two beats (a standby on a second host, or one started by mistake) would each send every job. The first beat to
send a run claims the job for nine tenths of its period, timed by the database's clock so the hosts' clocks
need not agree; the other beat finds the claim and skips that run. If the beat holding the claims dies, the
other sends the next run once the claim expires. While the database does not answer, a run is sent unclaimed:
every job but `recover` needs the database and can do nothing then, `recover` stores idempotently (harmless
twice), and a missed run of it would leave dropped batches waiting.
"""
import os
import socket
from datetime import timedelta
from typing import Any

import psycopg
from celery.beat import PersistentScheduler, ScheduleEntry
from celery.utils.log import get_logger

from common.db import Conn, connect

log = get_logger("celery.beat")  # beat configures this logger (the app leaves the root logger alone)

# A claim lasts this share of the job's period: the next run (sent a little late or early by either beat's
# tick) always finds the previous claim expired.
CLAIM_SHARE = 0.9

_CLAIM = """
INSERT INTO beat_claims AS c (job, holder, expires_at)
VALUES (%(job)s, %(holder)s, now() + make_interval(secs => %(hold)s))
ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, claimed_at = now(), expires_at = excluded.expires_at
WHERE c.expires_at <= now()
RETURNING 1
"""


def claim_run(conn: Conn, job: str, holder: str, hold_seconds: float) -> bool:
    """Claim the job's next run for `hold_seconds`; False when another holder's claim has not expired."""
    return conn.execute(_CLAIM, {"job": job, "holder": holder, "hold": hold_seconds}).fetchone() is not None


def period_seconds(entry: ScheduleEntry) -> float:
    """How long until the entry runs again after running now (its interval; for a crontab, to its next time)."""
    schedule = entry.schedule
    assert schedule is not None  # every entry of the app's beat_schedule has one
    remaining: timedelta = schedule.remaining_estimate(schedule.now())
    return max(remaining.total_seconds(), 1.0)


class ClaimingScheduler(PersistentScheduler):
    """PersistentScheduler (the Procfile's --schedule file) that sends a run only when it claimed it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._holder = f"{socket.gethostname()}:{os.getpid()}"
        self._conn: Conn | None = None
        super().__init__(*args, **kwargs)

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        if self._claimed(entry):
            super().apply_entry(entry, producer=producer)
        else:
            log.info("Scheduler: %s claimed by another beat; this run is theirs", entry.name)

    def _claimed(self, entry: ScheduleEntry) -> bool:
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = connect()
            return claim_run(self._conn, str(entry.name), self._holder, period_seconds(entry) * CLAIM_SHARE)
        except psycopg.Error as exc:
            log.warning("Scheduler: could not claim %s (%s); sending it unclaimed", entry.name, exc)
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            return True

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        super().close()
