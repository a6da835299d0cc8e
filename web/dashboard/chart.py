"""The campaign page's chart, drawn on the server as SVG: no chart library, no JavaScript, nothing to load.

`build_chart` turns per-bucket counts into coordinates; templates/partials/chart.html only prints them.
"""
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from common.money import format_money
from common.vocabulary import EVENT_TYPES
from web.dashboard.counts import ZERO, Counts
from web.dashboard.period import Bucket

WIDTH, HEIGHT = 960, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 72, 12, 28  # room for the axis labels (revenue's on the right)
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_X_LABELS = 8
# One line per event type, keyed by its counter column (also the CSS class that colours it).
SERIES = tuple((t.plural, t.plural_label) for t in EVENT_TYPES)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Line:
    key: str  # the Counts field, also the CSS class that colours it
    label: str
    total: int
    points: str  # "x,y x,y ..." for <polyline>


@dataclass(frozen=True)
class Slot:
    """One bucket's column: hovering it shows its counts (an SVG <title>)."""

    x: float
    width: float
    title: str


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    lines: list[Line]
    slots: list[Slot]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    bucket: Bucket
    summary: str  # what a screen reader hears
    zone: str  # the time zone of the labels
    revenue: "RevenueLine | None" = None  # drawn on an axis of its own, on the right, when asked for

    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    right: int = WIDTH - RIGHT

    @property
    def empty(self) -> bool:
        return all(line.total == 0 for line in self.lines)


def nice_ceiling(value: int, steps: int = 4) -> tuple[int, int]:
    """A round top for the y axis and its step (1, 2 or 5 times a power of ten): 37 -> (40, 10)."""
    if value <= steps:
        return steps, 1
    raw = value / steps
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return step * math.ceil(value / step), step


def _day(moment: datetime) -> str:
    return f"{_MONTHS[moment.month - 1]} {moment.day}"


def bucket_label(moment: datetime, bucket: Bucket) -> str:
    """ "Nov 3, 14:00", "Nov 3" or "week of Nov 3"."""
    if bucket == "hour":
        return f"{_day(moment)}, {moment:%H}:00"
    return f"week of {_day(moment)}" if bucket == "week" else _day(moment)


def _x_ticks(starts: list[datetime], bucket: Bucket, slot: float) -> list[Tick]:
    every = max(1, math.ceil(len(starts) / MAX_X_LABELS))
    ticks = []
    for i in range(0, len(starts), every):
        moment = starts[i]
        # An hourly chart names the day at its first label and where the day changes, the hour elsewhere.
        new_day = i == 0 or starts[i - every].date() != moment.date()
        label = f"{moment:%H}:00" if bucket == "hour" and not new_day else _day(moment)
        ticks.append(Tick(round(LEFT + (i + 0.5) * slot, 1), label))
    return ticks


@dataclass(frozen=True)
class RevenueLine:
    total: str  # formatted in the campaign's currency
    points: str
    ticks: list[Tick]  # the right-hand axis


def _describe(counts: Counts, currency: str | None) -> str:
    parts = [f"{counts[key]:,} {label.lower()}" for key, label in SERIES]
    if currency is not None:
        parts.append(f"{format_money(counts.revenue, currency)} revenue")
    return " · ".join(parts)


def _revenue_line(shown: list[Counts], x: list[float], currency: str) -> RevenueLine:
    amounts = [c.revenue for c in shown]
    top, step = nice_ceiling(math.ceil(max(amounts, default=Decimal(0))))

    def y(value: Decimal | int) -> float:
        return round(TOP + PLOT_HEIGHT * (1 - float(value) / top), 1)

    return RevenueLine(format_money(sum(amounts, Decimal(0)), currency),
                       " ".join(f"{xi:.1f},{y(a)}" for xi, a in zip(x, amounts, strict=True)),
                       [Tick(y(v), format_money(Decimal(v), currency)) for v in range(0, top + 1, step)])


def build_chart(starts: list[datetime], counts: dict[datetime, Counts], bucket: Bucket, *,
                all_counts: bool, zone: str = "UTC", revenue_in: str | None = None) -> Chart:
    """The chart of `starts` (every bucket, gaps included, in time zone `zone`), with people only unless
    `all_counts`; with `revenue_in` (a currency), the revenue too, on its own axis."""
    shown = [counts.get(moment, ZERO).shown(all_counts) for moment in starts]
    top, step = nice_ceiling(max((c[key] for c in shown for key, _ in SERIES), default=0))
    slot = PLOT_WIDTH / max(len(starts), 1)
    x = [LEFT + (i + 0.5) * slot for i in range(len(starts))]

    def y(value: int) -> float:
        return round(TOP + PLOT_HEIGHT * (1 - value / top), 1)

    lines = [
        Line(key, label, sum(c[key] for c in shown),
             " ".join(f"{xi:.1f},{y(c[key])}" for xi, c in zip(x, shown, strict=True)))
        for key, label in SERIES
    ]
    slots = [Slot(round(LEFT + i * slot, 1), round(slot, 1),
                  f"{bucket_label(moment, bucket)} {zone}: {_describe(c, revenue_in)}")
             for i, (moment, c) in enumerate(zip(starts, shown, strict=True))]
    y_ticks = [Tick(y(v), f"{v:,}") for v in range(0, top + 1, step)]
    revenue = _revenue_line(shown, x, revenue_in) if revenue_in is not None else None
    summary = f"Events per {bucket} over {len(starts)} {bucket}s: " + ", ".join(
        f"{line.total:,} {line.label.lower()}" for line in lines) + (f", {revenue.total} revenue" if revenue else "")
    return Chart(lines, slots, _x_ticks(starts, bucket, slot), y_ticks, bucket, summary, zone, revenue)
