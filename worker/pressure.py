"""Whether ingest is under pressure, as the worker itself sees it, so that background work gives way to it.

The reports' fold costs PostgreSQL about twice the ingest statement's CPU per event (docs/performance.md). Run
flat out during a burst it takes a core of a small box from the web tier and the store, and the event API's
99th percentile with it. The signal is the worker's own: batches already waiting behind the one it stores
(store_batch merges them), seen within the last `hold_seconds`. It costs nothing (no broker round trip) and
works with either broker and with each pool process's own threads.
"""
import time


class IngestPressure:
    def __init__(self, hold_seconds: float = 1.0) -> None:
        self._hold = hold_seconds
        self._seen = -hold_seconds  # monotonic time of the last backlog: none yet

    def saw_backlog(self) -> None:
        """The worker found batches waiting behind the one it is storing."""
        self._seen = time.monotonic()

    def busy(self) -> bool:
        return time.monotonic() - self._seen < self._hold

    def pace(self, worked_seconds: float, share: float) -> float:
        """After `worked_seconds` of background work: while ingest is busy, wait so that the work takes at most
        `share` of the time (1 = never wait); returns the seconds waited."""
        if share >= 1 or not self.busy():
            return 0.0
        wait = worked_seconds * (1 - share) / share
        time.sleep(wait)
        return wait
