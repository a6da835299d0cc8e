"""The campaign page's date range: all time, today, the last 7 or 30 days, or custom days.

Days are the dashboard's time zone's (DASHBOARD_TIMEZONE); a range is resolved to a half-open interval
[start, end) in naive UTC, as events are stored, so the same interval selects events (created_at), journeys
(first_seen) and hourly_stats rows (exactly, for zones a whole number of hours from UTC). It travels in the
page's URLs as `range=today|7d|30d|custom` with `from`/`to` (YYYY-MM-DD, both days included) for a custom range.
"""
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

Bucket = Literal["hour", "day", "week"]

PRESETS = {"today": (1, "Today"), "7d": (7, "Last 7 days"), "30d": (30, "Last 30 days")}
# Custom ranges longer than this are refused: a chart of decades of days helps no one and costs a scan.
MAX_CUSTOM_DAYS = 3 * 366
# Up to this span the chart has a point per hour; up to LONGEST_DAILY one per day; beyond, one per week.
LONGEST_HOURLY = timedelta(days=7)
LONGEST_DAILY = timedelta(days=400)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day_label(day: date) -> str:
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def _midnight(day: date, tz: tzinfo) -> datetime:
    """The start of `day` in `tz`, as naive UTC."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def to_local(moment: datetime, tz: tzinfo) -> datetime:
    """A naive UTC datetime as naive local time in `tz`."""
    return moment.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


@dataclass(frozen=True)
class Period:
    """A date range, resolved to naive UTC datetimes (as events are stored). `start is None`: all time."""

    key: str = "all"
    start: datetime | None = None
    end: datetime | None = None
    first_day: date | None = None  # the custom range's days, as entered
    last_day: date | None = None
    error: str | None = None  # why the requested custom range was not used

    @classmethod
    def parse(cls, key: str | None, first: str | None = None, last: str | None = None, *,
              now: datetime, tz: tzinfo = UTC) -> "Period":
        """The range a URL asks for, `now` being naive UTC and days those of `tz`; unknown keys mean all
        time, a bad custom range all time with an error."""
        today = to_local(now, tz).date()
        if key in PRESETS:
            days, _ = PRESETS[key]
            return cls(key, _midnight(today - timedelta(days=days - 1), tz), _midnight(today + timedelta(days=1), tz))
        if key != "custom":
            return cls()
        try:
            first_day, last_day = date.fromisoformat(first or ""), date.fromisoformat(last or "")
        except ValueError:
            return cls(error="Choose both days of the custom range (YYYY-MM-DD).")
        if first_day > last_day:
            return cls(error="The custom range starts after it ends.")
        if (last_day - first_day).days >= MAX_CUSTOM_DAYS:
            return cls(error=f"A custom range can span at most {MAX_CUSTOM_DAYS:,} days.")
        return cls("custom", _midnight(first_day, tz), _midnight(last_day + timedelta(days=1), tz),
                   first_day, last_day)

    @property
    def is_all(self) -> bool:
        return self.start is None

    def days(self, tz: tzinfo) -> tuple[date, date]:
        """The range as days of `tz`: the first, and the one after the last (a range is whole local days)."""
        assert self.start is not None and self.end is not None, "all time has no days"
        return to_local(self.start, tz).date(), to_local(self.end, tz).date()

    def params(self) -> dict[str, str]:
        """As query parameters: empty for all time."""
        if self.key == "custom" and self.first_day and self.last_day:
            return {"range": "custom", "from": self.first_day.isoformat(), "to": self.last_day.isoformat()}
        return {} if self.is_all else {"range": self.key}

    @property
    def label(self) -> str:
        if self.key in PRESETS:
            return PRESETS[self.key][1]
        if self.first_day and self.last_day:
            if self.first_day == self.last_day:
                return _day_label(self.first_day)
            return f"{_day_label(self.first_day)} – {_day_label(self.last_day)}"  # noqa: RUF001 (a dash)
        return "All time"

    def bounds(self, *, first_hour: datetime | None, now: datetime) -> tuple[datetime, datetime]:
        """The interval the chart spans: this range, or for all time from the first hour with events; either
        way ending with the current hour (a line running on at zero through hours to come would mislead)."""
        next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        if self.start is not None and self.end is not None:
            return self.start, max(min(self.end, next_hour), self.start + timedelta(hours=1))
        start = min(first_hour, next_hour - timedelta(hours=1)) if first_hour else next_hour - timedelta(hours=24)
        return start, next_hour



ALL_TIME = Period()  # no range: everything

def bucket_for(start: datetime, end: datetime) -> Bucket:
    """How coarse the chart's points are for a span: hours up to a week, days up to ~13 months, then weeks."""
    span = end - start
    if span <= LONGEST_HOURLY:
        return "hour"
    return "day" if span <= LONGEST_DAILY else "week"


def truncate(moment: datetime, bucket: Bucket) -> datetime:
    """The start of the bucket `moment` falls in (weeks start on Monday, as Postgres' date_trunc has it)."""
    hour = moment.replace(minute=0, second=0, microsecond=0)
    if bucket == "hour":
        return hour
    day = hour.replace(hour=0)
    return day if bucket == "day" else day - timedelta(days=day.weekday())


def bucket_starts(start: datetime, end: datetime, bucket: Bucket) -> list[datetime]:
    """Every bucket from the one holding `start` up to `end` (exclusive), gaps included."""
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[bucket]
    moment, starts = truncate(start, bucket), []
    while moment < end:
        starts.append(moment)
        moment += step
    return starts
