"""The reports' fold as the beat schedules it: a Celery task the real worker runs."""
import time
from typing import Any

import psycopg

from tests.checks import assert_reports_match_recount
from tests.events import CHROME, store
from tests.reports import fold_through_worker
from tests.services import Process


def test_fold_task__counts_the_queued_events(worker: Process, db: psycopg.Connection[Any], campaign_id: int) -> None:
    ids = [r[0] for r in db.execute("SELECT nextval('events_id_seq') FROM generate_series(1, 3)")]
    store(db, [{"id": i, "cid": campaign_id, "type": "email_click", "email": f"u{n}@x.com", "domain": "a.com",
                "ip": "90.0.0.1", "ua": CHROME, "extra": {"utm_source": "news"}, "ts": time.time()}
               for n, i in enumerate(ids)])
    fold_through_worker(campaign_id, events=3)
    row = db.execute("SELECT email_clicks, email_click_users FROM report_stats "
                     "WHERE campaign_id = %s AND dimension = 'utm_source' AND value = 'news'", (campaign_id,)).fetchone()
    assert row == (3, 3)
    assert_reports_match_recount(db, campaign_id)
