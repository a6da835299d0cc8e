"""The idempotent batch insert shared by the worker and the web tier's broker-down fallback.

Events carry ids allocated before they were queued, so a batch delivered twice (worker killed before its ack,
Redis restored, fallback racing a late publish) inserts nothing the second time: `ON CONFLICT DO NOTHING` on
the primary key, and the rollups are updated from the RETURNING rows only, in the same statement and transaction.
"""


from dataclasses import dataclass
from typing import Any

import msgspec

from common.burst import EXTRA_PARAMS_WITH_BURST, STAGED_WITH_PREVIOUS_CLICK, burst_params, by_rules_human
from common.config import Settings
from common.db import Conn
from common.enrich import ENRICH_KEY, enrich
from common.event import Batch, Event, encode
from common.rollups import (
    ADD_TO_JOURNEY,
    COUNT_JOURNEY_DELTAS,
    HOUR,
    HOURLY_DELTAS,
    INSERT_HOURLY,
    JOURNEY_COLUMNS,
    JOURNEY_DELTAS,
    JOURNEYS_WITH_DELTAS,
    MEASURE_EVENTS,
    SUM_EVENTS,
    UPSERT_DOMAIN_STATS,
    cohort_moves,
    flags,
    insert_daily,
    journey_counts,
    user_changes,
)
from common.vocabulary import EMAIL_CLICK, GOAL

_COLUMNS = "id, campaign_id, event_type, email, domain, ip, user_agent, extra_params, payout, created_at"

# The batch arrives as ONE jsonb parameter, the events as they travel (common/event.py's wire names), unpacked
# by Postgres: a single round trip and a single statement (its own transaction) per batch, where a staging
# table filled by COPY took five round trips and a Python-side adaptation of every value. Measured in
# docs/performance.md. Times travel as epoch seconds: Postgres turns them into timestamps faster than Python
# formats ISO strings.
_INCOMING = """incoming_events AS (
    SELECT r.id, r.cid AS campaign_id, r.type AS event_type, r.email, r.domain, r.ip, r.ua AS user_agent,
           r.extra AS extra_params, r.payout, to_timestamp(r.ts) AT TIME ZONE 'UTC' AS created_at
    FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
        id bigint, cid int, type text, email text, domain text, ip text, ua text, extra jsonb, payout numeric,
        ts double precision)
)"""

# One statement: insert new events (rows of deleted campaigns are dropped, not retried forever), then fold
# only the inserted rows into journeys, hourly_stats, domain_stats and daily_stats, and queue them for the reports
# (common/reports.py folds the queue later: the report rows' upserts stay off this path). Inputs are ordered so concurrent
# writers lock rows in the same order. A journey's per-type count that equals this batch's delta was zero
# before: a new unique user.
# Email clicks get the burst verdict (common/burst.py) on the way in, so what is stored is what is counted.
_MERGE = f"""
WITH {_INCOMING}, ins AS (
    INSERT INTO events ({_COLUMNS})
    SELECT i.id, i.campaign_id, i.event_type, i.email, i.domain, i.ip, i.user_agent,
           {EXTRA_PARAMS_WITH_BURST}, i.payout, i.created_at
    FROM {STAGED_WITH_PREVIOUS_CLICK} i
    WHERE EXISTS (SELECT 1 FROM campaigns c WHERE c.id = i.campaign_id)
    ORDER BY id
    -- No conflict target: the key is `id` on one table, (id, created_at) on a table partitioned by month
    -- (common/partitions.py); either way a redelivered event repeats both.
    ON CONFLICT DO NOTHING
    RETURNING id, campaign_id, email, domain, event_type, payout, created_at, {flags()},
              CASE WHEN event_type = '{EMAIL_CLICK.name}' AND {by_rules_human("events")} THEN created_at END
                  AS click_at
), jd AS (
    SELECT campaign_id, email, domain, {COUNT_JOURNEY_DELTAS},
           min(created_at) AS first_seen, max(created_at) AS last_seen, max(click_at) AS last_click
    FROM ins GROUP BY campaign_id, email, domain
), j AS (
    INSERT INTO journeys AS t (campaign_id, email, domain, first_seen, last_seen, {JOURNEY_COLUMNS},
                               last_email_click_at)
    SELECT campaign_id, email, domain, first_seen, last_seen, {JOURNEY_DELTAS}, last_click
    FROM jd ORDER BY campaign_id, email, domain
    ON CONFLICT (campaign_id, email, domain) DO UPDATE SET
        previous_first_seen = t.first_seen,
        first_seen = least(t.first_seen, excluded.first_seen),
        last_seen = greatest(t.last_seen, excluded.last_seen),
        last_email_click_at = greatest(t.last_email_click_at, excluded.last_email_click_at),
        {ADD_TO_JOURNEY}
    RETURNING t.campaign_id, t.email, t.domain, {journey_counts("t")},
              t.first_seen, t.previous_first_seen, (t.xmax = 0) AS inserted
), jj AS (
    {JOURNEYS_WITH_DELTAS}
), ud AS (
    SELECT campaign_id, domain, {user_changes(gained=True)}
    FROM jj GROUP BY campaign_id, domain
), hd AS (
    SELECT campaign_id, {HOUR} AS hour, domain, {MEASURE_EVENTS}
    FROM ins GROUP BY 1, 2, 3
), hu AS (
    {cohort_moves(old_counts="-", old_exists="NOT inserted", new_exists="true")}
), hourly AS (
    {HOURLY_DELTAS}
), hs AS (
    {INSERT_HOURLY}
), ed AS (
    SELECT campaign_id, domain, {SUM_EVENTS} FROM hd GROUP BY campaign_id, domain
), ds AS (
    {UPSERT_DOMAIN_STATS}
), dd AS (
    {insert_daily("ins")}
), rq AS (
    INSERT INTO report_queue (event_id) SELECT id FROM ins
)/*outbox*/
SELECT count(*) FROM ins
"""

# The webhook outbox (worker/webhooks.py sends it): one row per stored conversion of a campaign with a webhook,
# in the same statement, so a delivery exists exactly when its conversion does. Only batches that hold a
# conversion run this variant: every other batch runs the statement as it was, at its cost.
_OUTBOX = f""", wh AS (
    INSERT INTO webhook_deliveries (campaign_id, event_id)
    SELECT ins.campaign_id, ins.id FROM ins JOIN campaigns c ON c.id = ins.campaign_id
    WHERE ins.event_type = '{GOAL.name}' AND c.webhook_url IS NOT NULL
    ORDER BY ins.id
    ON CONFLICT (event_id) DO NOTHING
)"""
_STATEMENT = _MERGE
_STATEMENT_WITH_OUTBOX = _MERGE.replace("/*outbox*/", _OUTBOX)


def _enriched(event: Event) -> Event:
    tracker = enrich(event.ip, event.user_agent, caller_ip=event.caller_ip, caller_ua=event.caller_ua)
    return msgspec.structs.replace(event, extra_params={**event.extra_params, ENRICH_KEY: tracker})


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """The settings the store statement depends on."""

    burst_window: float  # BURST_WINDOW_SECONDS (common/burst.py)
    timezone: str  # DASHBOARD_TIMEZONE: the days of daily_stats

    @classmethod
    def of(cls, settings: Settings) -> "StoreOptions":
        return cls(settings.burst_window_seconds, settings.dashboard_timezone)

    def params(self) -> dict[str, Any]:
        return {**burst_params(self.burst_window), "tz": self.timezone}


def store_events(conn: Conn, events: Batch, options: StoreOptions) -> int:
    """Enrich and insert a batch in one statement; returns how many events were new."""
    if not events:
        return 0
    rows = encode([_enriched(e) for e in events]).decode()
    statement = _STATEMENT_WITH_OUTBOX if any(e.event_type == GOAL.name for e in events) else _STATEMENT
    # One statement is atomic on its own (our connections autocommit), or part of the caller's transaction.
    found = conn.execute(statement, {"rows": rows, **options.params()}).fetchone()
    return int(found[0]) if found else 0
