"""SQL pieces shared by everything that writes the rollups: ingest (common/store.py), the bulk generator and
retention. Each of them folds a set of event rows into domain_stats and hourly_stats; keeping the counters
and their upserts in one place keeps the three in step with each other and with a recount of `events`."""

# Per event type, all traffic and the bots among them (human = total - bot). Both rollups have these.
EVENT_COUNTERS = (
    "email_clicks",
    "landing_clicks",
    "conversions",
    "bot_email_clicks",
    "bot_landing_clicks",
    "bot_conversions",
)
# domain_stats also counts unique recipients: in all, and per event type.
USER_COUNTERS = ("users", "email_click_users", "landing_click_users", "conversion_users")
DOMAIN_STATS_COUNTERS = EVENT_COUNTERS + USER_COUNTERS

_EVENT_TYPES = {"email_clicks": "email_click", "landing_clicks": "landing_click", "conversions": "conversion"}


def _counter(name: str) -> str:
    bot = name.startswith("bot_")
    condition = f"event_type = '{_EVENT_TYPES[name.removeprefix('bot_')]}'" + (" AND is_bot" if bot else "")
    return f"count(*) FILTER (WHERE {condition}) AS {name}"


# The six EVENT_COUNTERS counted over rows with `event_type` and `is_bot` columns, named as the columns.
COUNT_EVENTS = ", ".join(_counter(name) for name in EVENT_COUNTERS)
# ...and summed again from rows that already carry them (e.g. per hour -> per domain).
SUM_EVENTS = ", ".join(f"sum({name})::bigint AS {name}" for name in EVENT_COUNTERS)

HOUR = "date_trunc('hour', created_at)"


def _add_to(alias: str, key: str, counters: tuple[str, ...]) -> str:
    return f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(f"{c} = {alias}.{c} + excluded.{c}" for c in counters)


# Upsert tails that add a row of deltas to a rollup (the INSERT names the table `s` or `h`).
ADD_TO_DOMAIN_STATS = _add_to("s", "campaign_id, domain", DOMAIN_STATS_COUNTERS)
ADD_TO_HOURLY_STATS = _add_to("h", "campaign_id, hour, domain", EVENT_COUNTERS)

_COLUMNS = ", ".join(EVENT_COUNTERS)
# Inserts the rows of CTE `hd` (campaign_id, hour, domain and the six counters) into hourly_stats.
INSERT_HOURLY = f"""INSERT INTO hourly_stats AS h (campaign_id, hour, domain, {_COLUMNS})
    SELECT campaign_id, hour, domain, {_COLUMNS} FROM hd ORDER BY campaign_id, hour, domain
    {ADD_TO_HOURLY_STATS}
    RETURNING 1"""
