"""A campaign's figures in a date range: its totals and money, and its counts over time. The campaign page's
fragments and the API (web/api/stats.py) both read them from here, so both show the same numbers."""
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from common.models import Campaign
from web.dashboard import queries
from web.dashboard.counts import Counts
from web.dashboard.money import Money, money
from web.dashboard.period import Bucket, Period, bucket_for, bucket_starts, to_local


@dataclass(frozen=True)
class Figures:
    shown: Counts  # the traffic shown (people only, or all)
    totals: Counts  # all traffic, with the bots' part
    money: Money


def campaign_figures(*, session: Session, campaign: Campaign, period: Period, all_counts: bool,
                     totals: Counts | None = None) -> Figures:
    """The campaign's totals in `period` (pass `totals` when already read) and what they earned and cost."""
    totals = totals or queries.campaign_totals(session=session, campaign_id=campaign.id, period=period)
    shown = totals.shown(all_counts)
    # The fixed cost is spread over all the campaign's email clicks (web/dashboard/money.py): a range needs them.
    everything = shown if period.is_all else queries.campaign_totals(session=session, campaign_id=campaign.id)
    figures = money(campaign, revenue=shown.revenue, clicks=shown.entry.events,
                    all_clicks=everything.shown(all_counts).entry.events, whole=period.is_all)
    return Figures(shown=shown, totals=totals, money=figures)


@dataclass(frozen=True)
class Timeline:
    bucket: Bucket
    starts: list[datetime]  # every bucket's local start, gaps included
    counts: dict[datetime, Counts]  # by local start; buckets without events are absent


def campaign_timeline(*, session: Session, campaign: Campaign, period: Period, zone: str,
                      now: datetime) -> Timeline:
    """Counts per hour, day or week (by the span) of the dashboard's zone, over the range or, for all time,
    from the campaign's first hour; up to the current hour."""
    start, end = period.bounds(first_hour=queries.first_hour(session=session, campaign_id=campaign.id), now=now)
    bucket = bucket_for(start, end)
    counts = queries.timeline(session=session, campaign_id=campaign.id, start=start, end=end, bucket=bucket,
                              tz=zone)
    tz = ZoneInfo(zone)
    return Timeline(bucket, bucket_starts(to_local(start, tz), to_local(end, tz), bucket), counts)
