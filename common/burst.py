"""The burst rule: an email click that comes within seconds of the same recipient's previous one is a machine.

Mail scanners open every link of a message within a second or two; a person clicks one, reads, maybe clicks
another much later. So an email click that the user-agent and network rules let through is marked a bot
(bot_kind "burst") when the same recipient made another such email click in the same campaign less than
BURST_WINDOW_SECONDS before or after it.

It needs the recipient's history, so it runs inside common.store's insert statement rather than in
common.enrich. That history is one column of the recipient's journey, `last_email_click_at` (the latest email
click the rules called human, kept by the same statement): a primary-key probe per click, where a lookup in
`events` cost Postgres ~60 us per event and depended on the planner choosing the email index. The verdict is written into the stored event itself, so the rollups (counted from the inserted
rows) and any recount of the events agree. Only the click that is stored second is flagged: a click is never
reclassified after it was stored, which keeps a redelivered batch a no-op and the rollups plain additions.
Trade-offs (docs/bot-detection.md): the first click of a burst stays human; two workers storing a
recipient's clicks at the same moment do not see each other's, so neither is flagged; a stored click is
compared with the recipient's latest one only (a late arrival near an older click is not flagged).
"""
from typing import Any

from common.enrich import BURST_KIND, ENRICH_KEY
from common.vocabulary import EMAIL_CLICK


def human_by_rules(tracker: str) -> str:
    """Whether the enrichment `tracker` (a jsonb expression) is "human" by the user-agent and network rules: an
    earlier burst verdict does not count against a click."""
    return (f"(NOT coalesce(({tracker} ->> 'is_bot')::boolean, false) "
            f"OR {tracker} ->> 'bot_kind' = '{BURST_KIND}')")


def by_rules_human(alias: str) -> str:
    """human_by_rules() of the stored enrichment of events row `alias`."""
    return human_by_rules(f"{alias}.extra_params -> '{ENRICH_KEY}'")


_WINDOW = "make_interval(secs => %(burst_seconds)s)"
# What the rule sets in an event's enrichment (merged with ||).
BURST_VERDICT = f"""jsonb_build_object(
             'is_bot', true, 'bot_kind', '{BURST_KIND}', 'bot_reason', %(burst_reason)s::text)"""
_CANDIDATE = f"(s.event_type = '{EMAIL_CLICK.name}' AND {by_rules_human('s')})"
_TRACKER = f"i.extra_params -> '{ENRICH_KEY}'"

# Replaces `incoming_events i` in the insert: the staged rows plus, for an email click the rules call human,
# the time of the recipient's previous such click in the same batch (a window function: one sort per batch,
# not a scan of the batch per row).
STAGED_WITH_PREVIOUS_CLICK = f"""(
    SELECT s.*,
           CASE WHEN {_CANDIDATE} THEN lag(s.created_at) OVER (
               PARTITION BY s.campaign_id, s.email, s.domain, {_CANDIDATE} ORDER BY s.created_at, s.id)
           END AS previous_click
    FROM incoming_events s
)"""

# The extra_params to store for staged row `i`: as enriched, or with the burst verdict when a recipient's
# other email click (in this batch before it, or the latest one stored, on either side of it) is within the
# window.
# The journey is found by its primary key (campaign_id, email, domain). The domain is compared with IS NOT
# DISTINCT FROM, which no index can use, so that the primary key is the only index matching two leading
# columns: with `=`, on a table never analyzed (autovacuum off, a fresh install) the planner picked
# ix_journeys_campaign_domain_first_seen instead, which reads every journey of the campaign's domain per
# click (Postgres CPU per event doubled, see docs/performance.md). Both columns are NOT NULL, so the result
# is the same. (On a tiny table, a few hundred rows, the two still cost the same; a plan made then lasts
# until the table is analyzed: keep autovacuum on, docs/operations.md.)
EXTRA_PARAMS_WITH_BURST = f"""CASE
    WHEN i.event_type = '{EMAIL_CLICK.name}' AND %(burst_seconds)s > 0
         AND NOT coalesce(({_TRACKER} ->> 'is_bot')::boolean, false)
         AND (i.previous_click >= i.created_at - {_WINDOW}
              OR EXISTS (SELECT 1 FROM journeys r
                         WHERE r.campaign_id = i.campaign_id AND r.email = i.email
                           AND r.domain IS NOT DISTINCT FROM i.domain
                           AND r.last_email_click_at BETWEEN i.created_at - {_WINDOW} AND i.created_at + {_WINDOW}))
    THEN jsonb_set(i.extra_params, '{{{ENRICH_KEY}}}', ({_TRACKER}) || {BURST_VERDICT})
    ELSE i.extra_params
END"""


def burst_params(seconds: float) -> dict[str, Any]:
    """The statement parameters the two fragments above use, for BURST_WINDOW_SECONDS `seconds`."""
    return {"burst_seconds": seconds,
            "burst_reason": f"burst: another email click by this recipient within {seconds:g} s"}
