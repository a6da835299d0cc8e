"""Daily rollup: each campaign's event counts and revenue per day, for the home page's date ranges.

The home table compares a thousand campaigns over a range: summing hourly_stats (per hour and sending domain)
read ~800 k rows for 30 days of 1,000 small campaigns (~100 ms); a day per campaign is 30 k rows. Days are
those of DASHBOARD_TIMEZONE, so the range presets ("Today", 7 and 30 days, custom days) are exact in any zone;
the zone is recorded in rollup_state, and `tracker rollups rebuild` recomputes the table after a change.

The insert statement (common/store.py) adds to it with the other rollups, retention takes from it, and this
migration fills it from the events already stored (one pass over them).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.config import get_settings

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = ("email_clicks", "landing_clicks", "conversions", "bot_email_clicks", "bot_landing_clicks",
           "bot_conversions", "unknown_email_clicks", "unknown_landing_clicks", "unknown_conversions")
_AMOUNTS = ("revenue", "bot_revenue", "unknown_revenue")


def upgrade() -> None:
    op.create_table(
        "daily_stats",
        sa.Column("campaign_id", sa.Integer(),
                  sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_daily_stats_campaign_id_campaigns"),
                  primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        *(sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False) for name in _COUNTS),
        *(sa.Column(name, sa.Numeric(20, 6), server_default=sa.text("0"), nullable=False) for name in _AMOUNTS),
    )
    # Every batch updates today's row of its campaign: room on each page keeps those updates HOT.
    op.execute("ALTER TABLE daily_stats SET (fillfactor = 70)")
    op.create_table("rollup_state", sa.Column("name", sa.Text(), primary_key=True),
                    sa.Column("value", sa.Text(), nullable=False))
    zone = get_settings().dashboard_timezone
    op.execute(sa.text("INSERT INTO rollup_state (name, value) VALUES ('daily_timezone', :zone)").bindparams(zone=zone))
    op.execute(sa.text(f"""
        INSERT INTO daily_stats (campaign_id, day, {", ".join(_COUNTS + _AMOUNTS)})
        SELECT campaign_id, (created_at AT TIME ZONE 'UTC' AT TIME ZONE :zone)::date,
               {", ".join(f"count(*) FILTER (WHERE event_type = '{t}'{cond})"
                          for cond in ("", " AND is_bot", " AND is_unknown")
                          for t in ("email_click", "landing_click", "conversion"))},
               coalesce(sum(payout), 0), coalesce(sum(payout) FILTER (WHERE is_bot), 0),
               coalesce(sum(payout) FILTER (WHERE is_unknown), 0)
        FROM (SELECT campaign_id, created_at, event_type, payout,
                     coalesce(extra_params -> '_tracker' ->> 'is_bot' = 'true', false) AS is_bot,
                     coalesce(extra_params -> '_tracker' ->> 'visitor' = 'unknown', false) AS is_unknown
              FROM events) e
        GROUP BY 1, 2
    """).bindparams(zone=zone))


def downgrade() -> None:
    op.drop_table("rollup_state")
    op.drop_table("daily_stats")
