"""The numbers the dashboard shows: rollup counters by the vocabulary's names, all traffic or people only."""
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from common.vocabulary import (
    ALL,
    AMOUNT_COUNTERS,
    BOTS,
    ENTRY,
    EVENT_TYPES,
    GOAL,
    ROLLUP_COUNTERS,
    UNKNOWN,
    EventType,
    events_column,
    revenue_column,
)

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TypeCounts:
    """One event type's numbers: its events, the bots among them, those whose visitor is unknown, and the unique
    recipients with one."""

    type: EventType
    events: int
    bots: int
    unknown: int
    users: int


@dataclass(frozen=True)
class Counts:
    """The rollup counters (common.vocabulary.ROLLUP_COUNTERS) of a campaign, a domain or a time bucket, by
    column name: the counts, and the amounts (revenue, exact); one not given is 0."""

    values: Mapping[str, int]
    amounts: Mapping[str, Decimal] = field(default_factory=dict)

    @classmethod
    def of_row(cls, row: Iterable[Any], columns: tuple[str, ...] = ROLLUP_COUNTERS) -> "Counts":
        """From a query row holding `columns`, in that order."""
        pairs = list(zip(columns, row, strict=True))
        return cls({c: int(v or 0) for c, v in pairs if c not in AMOUNT_COUNTERS},
                   {c: Decimal(v or 0) for c, v in pairs if c in AMOUNT_COUNTERS})

    def __getitem__(self, column: str) -> int:
        return self.values.get(column, 0)

    def amount(self, column: str) -> Decimal:
        return self.amounts.get(column, _ZERO)

    def __add__(self, other: "Counts") -> "Counts":
        return Counts({c: self[c] + other[c] for c in {*self.values, *other.values}},
                      {c: self.amount(c) + other.amount(c) for c in {*self.amounts, *other.amounts}})

    def of(self, event_type: EventType) -> TypeCounts:
        return TypeCounts(event_type, self[events_column(event_type)], self[events_column(event_type, BOTS)],
                          self[events_column(event_type, UNKNOWN)], self[event_type.users])

    @property
    def types(self) -> list[TypeCounts]:
        """Every event type's numbers, in funnel order."""
        return [self.of(t) for t in EVENT_TYPES]

    @property
    def entry(self) -> TypeCounts:
        """The funnel's first step: the seed's "Clicks"."""
        return self.of(ENTRY)

    @property
    def goal(self) -> TypeCounts:
        """The funnel's goal: the seed's "Conv"."""
        return self.of(GOAL)

    @property
    def users(self) -> int:
        """Unique recipients, all traffic."""
        return self["users"]

    @property
    def events(self) -> int:
        return sum(self[events_column(t)] for t in EVENT_TYPES)

    @property
    def bot_events(self) -> int:
        return sum(self[events_column(t, BOTS)] for t in EVENT_TYPES)

    @property
    def unknown_events(self) -> int:
        """Events whose visitor nothing is known about (counted with the people in both modes)."""
        return sum(self[events_column(t, UNKNOWN)] for t in EVENT_TYPES)

    @property
    def revenue(self) -> Decimal:
        """The payouts of the events counted (people only after humans())."""
        return self.amount(revenue_column(ALL))

    @property
    def epc(self) -> Decimal | None:
        """Earnings per entry event (per email click); None without one."""
        return self.revenue / self.entry.events if self.entry.events > 0 else None

    @property
    def conversion_rate(self) -> float | None:
        """Goal events per entry event (conversions per email click), in percent; None without entries."""
        entries = self.entry.events
        return 100.0 * self.goal.events / entries if entries > 0 else None

    def humans(self) -> "Counts":
        """The same counts without the events flagged as bots (human = total - bot). The unique-recipient
        counts stay all-traffic: the rollup counts a recipient once, whichever kind of event came first."""
        values = dict(self.values)
        for t in EVENT_TYPES:
            values[events_column(t)] = self[events_column(t)] - self[events_column(t, BOTS)]
            values[events_column(t, BOTS)] = 0
        amounts = {**self.amounts, revenue_column(ALL): self.revenue - self.amount(revenue_column(BOTS)),
                   revenue_column(BOTS): _ZERO}
        return replace(self, values=values, amounts=amounts)

    def shown(self, all_counts: bool) -> "Counts":
        """What the dashboard shows: every event with `all_counts`, else people only."""
        return self if all_counts else self.humans()


ZERO = Counts({})


def total(rows: Iterable[Counts]) -> Counts:
    """The counts of several rows added up (a campaign's domains, say)."""
    out = ZERO
    for row in rows:
        out = out + row
    return Counts(out.values, out.amounts)
