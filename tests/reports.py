"""Folding the reports' queue and filling chosen reports the way production does, through the worker: the fold
task, sent to the queue the session's worker consumes (the beat would send it to MAINTENANCE_QUEUE)."""
from common.config import get_settings
from common.db import connect
from common.queue import REPORT_FOLD_TASK, make_celery
from tests.conftest import TEST_ENV
from tests.services import wait_until


def _nudge_until(done: str, params: tuple[object, ...], expected: tuple[object, ...], message: str) -> None:
    """Send the worker the fold task until query `done` returns `expected` (the fold task folds the queue, then
    backfills a day of a chosen report)."""
    celery = make_celery(get_settings())

    def reached() -> bool:
        with connect() as conn:
            if conn.execute(done, params).fetchone() == expected:
                return True
        celery.send_task(REPORT_FOLD_TASK, queue=TEST_ENV["INGEST_QUEUE"])
        return False

    wait_until(reached, timeout=30, interval=0.5, message=message)


def fold_through_worker(campaign_id: int, *, events: int) -> None:
    """Have the worker fold the queue until the campaign's report counts `events` events."""
    _nudge_until("SELECT coalesce(sum(email_clicks + landing_clicks + conversions), 0) "
                 "FROM report_stats WHERE campaign_id = %s AND dimension = 'domain'", (campaign_id,), (events,),
                 f"{events} events in campaign {campaign_id}'s reports")


def fill_through_worker(campaign_id: int) -> None:
    """Have the worker's fold task backfill the campaign's chosen reports (a day per task) until all are filled."""
    _nudge_until("SELECT bool_and(filled) FROM report_slots WHERE campaign_id = %s", (campaign_id,), (True,),
                 f"campaign {campaign_id}'s reports filled")
