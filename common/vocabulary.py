"""The tracker's vocabulary: the event types, in funnel order, and the counters each one feeds. Declared once.

Everything that counts reads this module: the ingest statement, retention and the bulk generator (their SQL
pieces are built in common/rollups.py), the rollup and journey columns (common/models.py), validation, and the
dashboard's columns, filters, chart series, CSV headers and template loops. A new event type is one line in
EVENT_TYPES, one migration adding its columns (see EventType) and its labels; nothing else names a type, but
for the few rules about one type in particular (the burst rule is about email clicks, a postback records a
conversion), which name it through the constants below.
"""
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EventType:
    """One kind of event. Its counters are columns named after it:

    - `journeys.<plural>`: the recipient's events of this type;
    - `domain_stats` and `hourly_stats`: `<plural>` (all traffic), `bot_<plural>` (the bots among them),
      `unknown_<plural>` (those whose visitor is unknown) and `<name>_users` (unique recipients with this type).

    A type that `pays` (conversions) may carry a payout: `revenue`, `bot_revenue` and `unknown_revenue` in the
    rollups and `revenue` in journeys sum them.
    """

    name: str  # as sent (`event=email_click`) and stored (events.event_type)
    label: str  # "Email click": a filter choice
    plural_label: str  # "Email clicks": a chart series
    short: str  # "E.Click": a table column
    pays: bool = False  # its events may carry a `payout`, summed into the revenue counters

    @property
    def heading(self) -> str:
        """The overall stats' title: "Email Clicks"."""
        return self.plural_label.title()

    @property
    def plural(self) -> str:
        """The column that counts its events: "email_clicks"."""
        return f"{self.name}s"

    @property
    def users(self) -> str:
        """The column that counts recipients with such an event: "email_click_users"."""
        return f"{self.name}_users"

    @property
    def slug(self) -> str:
        """For HTML ids and CSS classes: "email-clicks"."""
        return self.plural.replace("_", "-")


EMAIL_CLICK = EventType("email_click", "Email click", "Email clicks", "E.Click")
LANDING_CLICK = EventType("landing_click", "Landing click", "Landing clicks", "L.Click")
CONVERSION = EventType("conversion", "Conversion", "Conversions", "Conv", pays=True)

# In funnel order: the order of every column, series and choice.
EVENT_TYPES: tuple[EventType, ...] = (EMAIL_CLICK, LANDING_CLICK, CONVERSION)
EVENT_TYPE_NAMES: tuple[str, ...] = tuple(t.name for t in EVENT_TYPES)
BY_NAME: dict[str, EventType] = {t.name: t for t in EVENT_TYPES}

# The funnel's ends: the seed's "Clicks" are ENTRY events, its "Conv" GOAL events, and the conversion rate is
# GOAL ÷ ENTRY.
ENTRY = EMAIL_CLICK
GOAL = CONVERSION


@dataclass(frozen=True, slots=True)
class Traffic:
    """A share of the events with counters of its own, selected by what enrichment stored for the event
    (extra_params._tracker, common/enrich.py). The dashboard's "people only" view is ALL minus BOTS; events
    whose visitor is unknown (a server-side call that forwarded nothing about its visitor) are counted with
    the people, and shown apart."""

    prefix: str  # of its counter columns: "bot_email_clicks"; a journey's count of them is "<prefix>events"
    flag: str | None  # the boolean column of an event row set that selects it; None for every event
    marker: tuple[str, str] | None  # (key, value) in extra_params._tracker that sets the flag


# What common/enrich.py stores for an event whose visitor is unknown: {"visitor": "unknown"}.
VISITOR_UNKNOWN = "unknown"

ALL = Traffic("", None, None)
BOTS = Traffic("bot_", "is_bot", ("is_bot", "true"))
UNKNOWN = Traffic("unknown_", "is_unknown", ("visitor", VISITOR_UNKNOWN))
TRAFFIC: tuple[Traffic, ...] = (ALL, BOTS, UNKNOWN)
FLAGGED: tuple[Traffic, ...] = tuple(tr for tr in TRAFFIC if tr.flag)


def events_column(event_type: EventType, traffic: Traffic = ALL) -> str:
    """The rollup column counting `event_type` events of `traffic`: "bot_email_clicks"."""
    return traffic.prefix + event_type.plural


def revenue_column(traffic: Traffic = ALL) -> str:
    """The rollup column summing the payouts of `traffic`'s events: "bot_revenue"."""
    return f"{traffic.prefix}revenue"


# domain_stats' and hourly_stats' counters, in this order everywhere they are listed: event counts, amounts
# (exact decimals: the sum of the events' payouts), then unique recipients.
EVENT_COUNTERS: tuple[str, ...] = tuple(events_column(t, tr) for tr in TRAFFIC for t in EVENT_TYPES)
AMOUNT_COUNTERS: tuple[str, ...] = tuple(revenue_column(tr) for tr in TRAFFIC)
USER_COUNTERS: tuple[str, ...] = ("users", *(t.users for t in EVENT_TYPES))
ROLLUP_COUNTERS: tuple[str, ...] = EVENT_COUNTERS + AMOUNT_COUNTERS + USER_COUNTERS
# daily_stats' counters (per campaign and day, for the home page's ranges): the events and amounts, no recipients.
DAILY_COUNTERS: tuple[str, ...] = EVENT_COUNTERS + AMOUNT_COUNTERS
PAYING_TYPES: tuple[EventType, ...] = tuple(t for t in EVENT_TYPES if t.pays)
# A journey's counters: its events per type, and how many of all of them were flagged (bot_events, ...); and
# its revenue.
JOURNEY_TYPE_COUNTERS: tuple[str, ...] = tuple(t.plural for t in EVENT_TYPES)
JOURNEY_COUNTERS: tuple[str, ...] = (*JOURNEY_TYPE_COUNTERS, *(f"{tr.prefix}events" for tr in FLAGGED))
JOURNEY_AMOUNTS: tuple[str, ...] = (revenue_column(),)
# report_stats' counters (per campaign, dimension, day and value; common/reports.py): the events and amounts, and
# unique recipients per type counted where their first event of that type was ("first touch").
REPORT_USER_COUNTERS: tuple[str, ...] = tuple(t.users for t in EVENT_TYPES)
REPORT_COUNTERS: tuple[str, ...] = EVENT_COUNTERS + AMOUNT_COUNTERS + REPORT_USER_COUNTERS
