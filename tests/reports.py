"""Folding the reports' queue and filling chosen reports the way production does, through the worker: the fold
task, sent to the queue the session's worker consumes (the beat would send it to MAINTENANCE_QUEUE)."""
from common.config import get_settings
from common.db import connect
from common.queue import REPORT_FOLD_TASK, make_celery
from tests.conftest import TEST_ENV
from tests.services import wait_until


def fold_through_worker(campaign_id: int, *, events: int) -> None:
    """Have the worker fold the queue until the campaign's report counts `events` events."""
    celery = make_celery(get_settings())

    def folded() -> bool:
        with connect() as conn:
            row = conn.execute("SELECT coalesce(sum(email_clicks + landing_clicks + conversions), 0) "
                               "FROM report_stats WHERE campaign_id = %s AND dimension = 'domain'",
                               (campaign_id,)).fetchone()
        if row == (events,):
            return True
        celery.send_task(REPORT_FOLD_TASK, queue=TEST_ENV["INGEST_QUEUE"])
        return False

    wait_until(folded, timeout=30, interval=0.5, message=f"{events} events in campaign {campaign_id}'s reports")


def fill_through_worker(campaign_id: int) -> None:
    """Have the worker's fold task backfill the campaign's chosen reports (a day per task) until all are filled."""
    celery = make_celery(get_settings())

    def filled() -> bool:
        with connect() as conn:
            row = conn.execute("SELECT bool_and(filled) FROM report_slots WHERE campaign_id = %s",
                               (campaign_id,)).fetchone()
        if row == (True,):
            return True
        celery.send_task(REPORT_FOLD_TASK, queue=TEST_ENV["INGEST_QUEUE"])
        return False

    wait_until(filled, timeout=30, interval=0.5, message=f"campaign {campaign_id}'s reports filled")
