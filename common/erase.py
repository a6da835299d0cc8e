"""A data-subject request: every trace of one recipient (their events, journeys, postback rows and dead
letters) removed, and every rollup kept equal to a recount of the events that remain.

Events go in batches through retention's own statement (common/retention.py), which takes each one out of
domain_stats, hourly_stats, daily_stats and its journey as it deletes it, so the dashboard stays exact
throughout and ingest is never held up for long. Running it again finds nothing more to remove.
"""
from collections.abc import Callable
from dataclasses import dataclass, field

from common.db import Conn
from common.retention import erase_batch

_BATCH = 1000
# The postbacks that stored or referred to the recipient's events (a postback's event is its conversion, its
# click_id the email click it credits).
_DELETE_POSTBACKS = """
DELETE FROM postbacks p USING events e
WHERE e.email = %(email)s AND e.campaign_id = ANY(%(campaigns)s) AND p.campaign_id = e.campaign_id
  AND (p.event_id = e.id OR p.click_id = e.id)
"""
# Accepted events the worker could not store: they carry the email too (common/event.py's wire form).
_DELETE_DEAD = "DELETE FROM dead_events WHERE payload ->> 'email' = %(email)s AND (payload ->> 'cid')::int = ANY(%(campaigns)s)"


@dataclass
class Erased:
    campaigns: list[int] = field(default_factory=list)
    events: int = 0
    journeys: int = 0
    postbacks: int = 0
    dead_letters: int = 0

    def __str__(self) -> str:
        return (f"{self.events} events, {self.journeys} journeys, {self.postbacks} postback rows and "
                f"{self.dead_letters} dead letters")


def campaigns_of(conn: Conn, email: str) -> list[int]:
    """The campaigns holding anything of the recipient."""
    return [row[0] for row in conn.execute(
        """SELECT campaign_id FROM events WHERE email = %(email)s
           UNION SELECT campaign_id FROM journeys WHERE email = %(email)s
           UNION SELECT (payload ->> 'cid')::int FROM dead_events WHERE payload ->> 'email' = %(email)s
           ORDER BY 1""", {"email": email})]


def erase(conn: Conn, *, email: str, campaign_ids: list[int], timezone: str,
          progress: Callable[[int], None] = lambda events: None) -> Erased:
    """Remove the recipient (`email` as stored: lower-cased) from those campaigns; `progress(events)` after each
    batch. `timezone`: DASHBOARD_TIMEZONE (daily_stats' days)."""
    params = {"email": email, "campaigns": campaign_ids}
    done = Erased(campaigns=campaign_ids)
    with conn.transaction():
        done.postbacks = conn.execute(_DELETE_POSTBACKS, params).rowcount
        done.dead_letters = conn.execute(_DELETE_DEAD, params).rowcount
    while True:
        batch = erase_batch(conn, email=email, campaign_ids=campaign_ids, batch=_BATCH, timezone=timezone)
        done.events += batch.events
        done.journeys += batch.journeys
        progress(batch.events)
        if batch.events == 0:
            return done
