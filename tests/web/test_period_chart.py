"""Date ranges and the chart's geometry, as plain functions."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from web.dashboard.chart import BOTTOM, HEIGHT, LEFT, PLOT_WIDTH, TOP, build_chart, nice_ceiling
from web.dashboard.counts import Counts
from web.dashboard.period import Period, bucket_for, bucket_starts, to_local, truncate

NOW = datetime(2026, 11, 25, 14, 37, 12)


@pytest.mark.parametrize(("key", "start", "end", "label"), [
    ("today", datetime(2026, 11, 25), datetime(2026, 11, 26), "Today"),
    ("7d", datetime(2026, 11, 19), datetime(2026, 11, 26), "Last 7 days"),
    ("30d", datetime(2026, 10, 27), datetime(2026, 11, 26), "Last 30 days"),
])
def test_presets_are_whole_days_up_to_the_end_of_today(key: str, start: datetime, end: datetime, label: str) -> None:
    period = Period.parse(key, now=NOW)
    assert (period.start, period.end, period.label, period.params()) == (start, end, label, {"range": key})


def test_custom_range_includes_both_days() -> None:
    period = Period.parse("custom", "2026-02-27", "2026-03-01", now=NOW)
    assert (period.start, period.end) == (datetime(2026, 2, 27), datetime(2026, 3, 2))
    assert period.label == "Feb 27, 2026 – Mar 1, 2026"  # noqa: RUF001
    assert period.params() == {"range": "custom", "from": "2026-02-27", "to": "2026-03-01"}
    assert Period.parse("custom", "2026-03-01", "2026-03-01", now=NOW).label == "Mar 1, 2026"


@pytest.mark.parametrize(("key", "first", "last"), [
    (None, None, None), ("", None, None), ("forever", None, None), ("all", "2026-01-01", "2026-01-02")])
def test_anything_else_is_all_time(key: str | None, first: str | None, last: str | None) -> None:
    period = Period.parse(key, first, last, now=NOW)
    assert period.is_all and period.params() == {} and period.error is None and period.label == "All time"


@pytest.mark.parametrize(("first", "last"), [("2026-02-10", "2026-02-01"), ("", "2026-01-01"),
                                             ("2026-13-01", "2026-12-01"), ("2020-01-01", "2026-01-01")])
def test_bad_custom_ranges_fall_back_to_all_time_with_an_error(first: str, last: str) -> None:
    period = Period.parse("custom", first, last, now=NOW)
    assert period.is_all and period.error


def test_chart_bounds_end_with_the_current_hour() -> None:
    assert Period.parse("today", now=NOW).bounds(first_hour=None, now=NOW) == (
        datetime(2026, 11, 25), datetime(2026, 11, 25, 15))
    past = Period.parse("custom", "2026-11-01", "2026-11-02", now=NOW)
    assert past.bounds(first_hour=None, now=NOW) == (datetime(2026, 11, 1), datetime(2026, 11, 3))
    future = Period.parse("custom", "2026-12-01", "2026-12-02", now=NOW)
    assert future.bounds(first_hour=None, now=NOW) == (datetime(2026, 12, 1), datetime(2026, 12, 1, 1))


def test_all_time_bounds_run_from_the_first_hour_to_the_current_one() -> None:
    assert Period().bounds(first_hour=datetime(2026, 11, 20, 3), now=NOW) == (
        datetime(2026, 11, 20, 3), datetime(2026, 11, 25, 15))
    assert Period().bounds(first_hour=None, now=NOW) == (datetime(2026, 11, 24, 15), datetime(2026, 11, 25, 15))


def test_buckets() -> None:
    assert bucket_for(datetime(2026, 11, 19), datetime(2026, 11, 26)) == "hour"
    assert bucket_for(datetime(2026, 10, 27), datetime(2026, 11, 26)) == "day"
    assert bucket_for(datetime(2024, 10, 27), datetime(2026, 11, 26)) == "week"
    assert truncate(NOW, "week") == datetime(2026, 11, 23)  # a Monday, as date_trunc('week') has it
    assert bucket_starts(datetime(2026, 11, 25, 22), datetime(2026, 11, 26, 1), "hour") == [
        datetime(2026, 11, 25, 22), datetime(2026, 11, 25, 23), datetime(2026, 11, 26, 0)]
    assert len(bucket_starts(datetime(2026, 10, 27), datetime(2026, 11, 26), "day")) == 30
    assert date(2026, 11, 23) == bucket_starts(datetime(2026, 11, 25), datetime(2026, 12, 1), "week")[0].date()


@pytest.mark.parametrize(("value", "top", "step"), [(0, 4, 1), (3, 4, 1), (37, 40, 10), (101, 150, 50),
                                                    (999, 1000, 500), (1001, 1500, 500)])
def test_nice_ceiling(value: int, top: int, step: int) -> None:
    assert nice_ceiling(value) == (top, step)


def test_chart_geometry() -> None:
    starts = [datetime(2026, 11, 25, h) for h in range(4)]
    counts = {starts[1]: Counts({"email_clicks": 8, "landing_clicks": 4, "conversions": 1, "bot_email_clicks": 3}),
              starts[3]: Counts({"email_clicks": 2})}
    chart = build_chart(starts, counts, "hour", all_counts=False)
    email = chart.lines[0]
    assert (email.key, email.total) == ("email_clicks", 7)  # 8 + 2 - 3 bots
    # y axis 0..6 (step 2): 5 email clicks in the second hour sit at 5/6 of the height.
    assert [t.label for t in chart.y_ticks] == ["0", "2", "4", "6"]
    points = [tuple(map(float, p.split(","))) for p in email.points.split()]
    slot = PLOT_WIDTH / 4
    assert [x for x, _ in points] == [round(LEFT + (i + 0.5) * slot, 1) for i in range(4)]
    plot_height = HEIGHT - TOP - BOTTOM
    assert points[1][1] == round(TOP + plot_height * (1 - 5 / 6), 1) and points[0][1] == TOP + plot_height
    assert [t.label for t in chart.x_ticks] == ["Nov 25", "01:00", "02:00", "03:00"]
    assert chart.slots[1].title == "Nov 25, 01:00 UTC: 5 email clicks · 4 landing clicks · 1 conversions"
    assert not chart.empty
    assert build_chart(starts, {}, "hour", all_counts=True).empty


NEW_YORK = ZoneInfo("America/New_York")


def test_days_are_the_dashboard_time_zones() -> None:
    late_evening = datetime(2026, 11, 25, 3, 0)  # UTC: still Nov 24 in New York (UTC-5)
    today = Period.parse("today", now=late_evening, tz=NEW_YORK)
    assert (today.start, today.end) == (datetime(2026, 11, 24, 5), datetime(2026, 11, 25, 5))
    summer = Period.parse("custom", "2026-07-04", "2026-07-04", now=NOW, tz=NEW_YORK)
    assert (summer.start, summer.end) == (datetime(2026, 7, 4, 4), datetime(2026, 7, 5, 4))  # EDT, UTC-4
    assert to_local(datetime(2026, 7, 4, 4), NEW_YORK) == datetime(2026, 7, 4)
