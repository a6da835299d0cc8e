"""The fold gives way to ingest: it waits between batches while the worker finds batches waiting, and not
otherwise (worker/pressure.py), and what it folds stays equal to the recount."""
import time
from typing import Any

import psycopg
import pytest

from common import reports
from common.config import get_settings
from tests.checks import assert_reports_match_recount
from tests.events import CHROME, store
from worker.pressure import IngestPressure


def test_pressure__waits_only_while_batches_were_seen_waiting() -> None:
    pressure = IngestPressure(hold_seconds=0.5)
    assert not pressure.busy()
    assert pressure.pace(0.2, 0.25) == 0.0  # idle: the fold runs flat out

    pressure.saw_backlog()
    assert pressure.busy()
    started = time.monotonic()
    waited = pressure.pace(0.1, 0.25)  # 0.1 s of work at a quarter of the time: 0.3 s of waiting
    assert waited == pytest.approx(0.3)
    assert time.monotonic() - started >= 0.29
    assert pressure.pace(0.1, 1.0) == 0.0  # share 1: never holds back

    time.sleep(0.55)
    assert not pressure.busy()


def test_fold__paces_after_each_full_batch_and_counts_everything(
        db: psycopg.Connection[Any], campaign_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reports, "FOLD_BATCH", 2)
    ids = [r[0] for r in db.execute("SELECT nextval('events_id_seq') FROM generate_series(1, 5)")]
    store(db, [{"id": i, "cid": campaign_id, "type": "email_click", "email": f"u{n}@x.com", "domain": "a.com",
                "ip": "90.0.0.1", "ua": CHROME, "extra": {"utm_source": f"s{n}"}, "ts": time.time()}
               for n, i in enumerate(ids)])
    paced: list[float] = []
    settings = get_settings()
    folded = reports.fold(db, timezone=settings.dashboard_timezone, max_values=settings.report_max_values,
                          pace=paced.append)
    assert folded == 5
    assert len(paced) == 2 and all(seconds > 0 for seconds in paced)  # after the two full batches, not the last
    assert_reports_match_recount(db, campaign_id)
