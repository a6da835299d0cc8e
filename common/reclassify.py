"""Stored events judged again by the current bot rules (`tracker bots reclassify`), after a rules update
(common/data/scanner_rules.json, crawlerdetect, the ASN database, BURST_WINDOW_SECONDS); the rollups follow.

Per campaign, in two steps:

1. Without any lock: every event (since a date) is enriched again from its stored address and user agent
   (common/enrich.py, the worker's own code), and the verdicts that differ from the stored ones go to a
   temporary table. What the web tier knew about the request and did not store is read back from the stored
   verdict: a visitor marked unknown stays unknown (nothing was forwarded), and an event whose user agent was
   not held against it (a server-side script's own, stored without a browser) is judged again the same way.
   Events stored meanwhile were judged by the current rules already.
2. Still without a lock: the burst rule (common/burst.py) is applied again over each recipient's email clicks
   in time order (a click that the rules call human, within BURST_WINDOW_SECONDS after the recipient's previous
   such click, is a burst), and the final verdicts that differ from the stored ones are kept aside.
3. Only if there are any, in one transaction with event writes held off (as `tracker rollups rebuild`,
   common/rebuild.py): they are written, and the campaign's rollups are rebuilt from the events. A click stored
   between steps 2 and 3 was judged by the current rules already; one that arrived late, earlier in time than
   a stored click of the same recipient, may leave that click's burst verdict to the next run.

A second run finds nothing to change. At insert time the burst rule compares a click with the recipient's
latest stored click; here with the one before it in time: a click that arrived late may trade its verdict with
its neighbour's (the counts are the same).
"""
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.burst import BURST_VERDICT, human_by_rules
from common.db import Conn
from common.enrich import BURST_KIND, ENRICH_KEY, enrich
from common.rebuild import Changes, rebuild_campaign
from common.store import StoreOptions
from common.vocabulary import EMAIL_CLICK, VISITOR_UNKNOWN

_CHUNK = 5000
_RULES_FIELDS = ("browser", "os", "device", "country", "asn", "is_bot", "bot_kind", "bot_reason")
_NOT_A_BURST = {"is_bot": False, "bot_kind": None, "bot_reason": None}
_NO_USER_AGENT_REASON = "no user agent"  # common/enrich.py's verdict on an empty user agent


@dataclass
class Reclassified:
    events: int = 0  # judged again
    to_bot: int = 0
    to_human: int = 0
    reason: int = 0  # another reason or kind, still a bot
    rollups: dict[str, Changes] = field(default_factory=dict)
    held_seconds: float = 0.0  # event writes waited this long (step 2)

    def __str__(self) -> str:
        return (f"{self.events} events judged: {self.to_bot} now bots, {self.to_human} now people, "
                f"{self.reason} with another bot reason")


def _by_rules(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored verdict without the burst rule's part: what the user-agent and network rules said."""
    return {**stored, **_NOT_A_BURST} if stored.get("bot_kind") == BURST_KIND else stored


def judge(ip: str | None, user_agent: str | None, stored: dict[str, Any]) -> dict[str, Any]:
    """The current rules' verdict on a stored event, as common/enrich.py gives it."""
    if stored.get("visitor") == VISITOR_UNKNOWN:
        return stored
    ua = user_agent or ""
    # Only a server-side script's own user agent is stored with no browser named (see the module docstring).
    caller_ua = stored.get("browser") is None and (
        bool(ua.strip()) or stored.get("bot_reason") != _NO_USER_AGENT_REASON)
    fresh: dict[str, Any] = dict(enrich(ip, user_agent, caller_ua=caller_ua))
    return {**stored, **fresh}


def _changed(ip: str | None, user_agent: str | None, stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """The new verdict when it differs from the stored one's rules part, else None."""
    before = _by_rules(stored or {})
    after = judge(ip, user_agent, before)
    same = all(after.get(k) == before.get(k) for k in _RULES_FIELDS)
    return None if same else after


_JUDGED = "CREATE TEMP TABLE IF NOT EXISTS judged (id bigint PRIMARY KEY, tracker jsonb NOT NULL)"
_STORED = f"extra_params -> '{ENRICH_KEY}'"
_AS_RULES = (f"CASE WHEN {_STORED} ->> 'bot_kind' = '{BURST_KIND}' "
             f"THEN {_STORED} || '{json.dumps(_NOT_A_BURST)}'::jsonb ELSE {_STORED} END")
_WINDOW = "make_interval(secs => %(burst_seconds)s)"

# Step 2: every event of the campaign since %(since)s gets its final verdict: the rules' (judged, or the stored
# one's rules part), with the burst rule applied again to email clicks over the whole campaign's history; the
# verdicts that differ from the stored ones go to table `changes`.
_CHANGES = f"""
CREATE TEMP TABLE changes ON COMMIT DROP AS
WITH verdicts AS (
    SELECT e.id, e.event_type, e.email, e.domain, e.created_at, e.created_at >= %(since)s AS mine,
           {_STORED} AS old,
           CASE WHEN e.created_at >= %(since)s THEN coalesce(j.tracker, {_AS_RULES}) ELSE {_STORED} END AS rules
    FROM events e LEFT JOIN judged j ON j.id = e.id
    -- Email clicks: the burst rule reads all of them. Other events change only when judged anew.
    WHERE e.campaign_id = %(c)s AND (e.event_type = '{EMAIL_CLICK.name}' OR j.id IS NOT NULL)
), clicks AS (
    SELECT *, event_type = '{EMAIL_CLICK.name}' AND {human_by_rules("v.rules")} AS candidate
    FROM verdicts v
), ordered AS (
    SELECT *, CASE WHEN candidate THEN lag(created_at) OVER (
                  PARTITION BY email, domain, candidate ORDER BY created_at, id) END AS previous_click
    FROM clicks
), final AS (
    SELECT id, old,
           CASE WHEN candidate AND %(burst_seconds)s > 0 AND previous_click >= created_at - {_WINDOW}
                THEN rules || {BURST_VERDICT} ELSE rules END AS tracker
    FROM ordered WHERE mine
)
SELECT id, old, tracker FROM final WHERE old IS DISTINCT FROM tracker
"""
# Step 3, with event writes held off: the changed verdicts written; for each, whether it was and is a bot.
_APPLY = f"""
UPDATE events e SET extra_params = jsonb_set(e.extra_params, '{{{ENRICH_KEY}}}', c.tracker)
FROM changes c WHERE e.id = c.id
RETURNING coalesce((c.old ->> 'is_bot')::boolean, false), coalesce((c.tracker ->> 'is_bot')::boolean, false)
"""


def judge_events(conn: Conn, *, campaign_id: int, since: datetime,
                 progress: Callable[[int], None] = lambda n: None) -> int:
    """Step 1: fills temp table `judged` with the campaign's events whose verdict changed; returns how many
    events were judged."""
    conn.execute(_JUDGED)
    conn.execute("TRUNCATE judged")
    judged = 0
    with conn.transaction(), conn.cursor(name="reclassify") as rows:
        rows.itersize = _CHUNK
        rows.execute(f"SELECT id, ip, user_agent, {_STORED} FROM events WHERE campaign_id = %s AND created_at >= %s",
                     (campaign_id, since))
        while chunk := rows.fetchmany(_CHUNK):
            changed = [(i, json.dumps(new)) for i, ip, ua, stored in chunk
                       if (new := _changed(ip, ua, stored)) is not None]
            if changed:
                with conn.cursor().copy("COPY judged (id, tracker) FROM STDIN") as copy:
                    for record in changed:
                        copy.write_row(record)
            judged += len(chunk)
            progress(len(chunk))
    return judged


def reclassify_campaign(conn: Conn, *, campaign_id: int, since: datetime, options: StoreOptions,
                        max_values: int, progress: Callable[[int], None] = lambda n: None) -> Reclassified:
    """Every step for one campaign (see the module docstring)."""
    done = Reclassified(events=judge_events(conn, campaign_id=campaign_id, since=since, progress=progress))
    with conn.transaction():
        conn.execute(_CHANGES, {"c": campaign_id, "since": since, **options.params()})
        if not conn.execute("SELECT EXISTS (SELECT FROM changes)").fetchone()[0]:  # type: ignore[index]
            return done  # nothing to write: event writes are not held at all
        conn.execute("ANALYZE changes")
        started = time.monotonic()

        def apply(conn: Conn) -> None:
            for was, now in conn.execute(_APPLY):
                if was and now:
                    done.reason += 1
                elif now:
                    done.to_bot += 1
                elif was:
                    done.to_human += 1

        # The lock is taken inside this transaction (a savepoint): `changes` lives until it commits.
        done.rollups = rebuild_campaign(conn, campaign_id=campaign_id, timezone=options.timezone,
                                       max_values=max_values, before=apply)
        done.held_seconds = time.monotonic() - started
    return done
