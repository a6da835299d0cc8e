"""Hourly rollup: events per (campaign, hour, sending domain), for the campaign page's chart and date ranges.

The insert statement (common/store.py) adds to it with the other rollups, retention takes from it, and this
migration fills it from the events already stored, so an upgraded install charts its history at once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTERS = ("email_clicks", "landing_clicks", "conversions", "bot_email_clicks", "bot_landing_clicks",
             "bot_conversions")


def upgrade() -> None:
    op.create_table(
        "hourly_stats",
        sa.Column("campaign_id", sa.Integer(),
                  sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_hourly_stats_campaign_id_campaigns"),
                  primary_key=True),
        # The campaign's hours in order: a date range is one contiguous slice of the primary key.
        sa.Column("hour", sa.DateTime(), primary_key=True),
        sa.Column("domain", sa.String(255), primary_key=True),
        *(sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False) for name in _COUNTERS),
    )
    op.execute("""
        INSERT INTO hourly_stats (campaign_id, hour, domain, email_clicks, landing_clicks, conversions,
                                  bot_email_clicks, bot_landing_clicks, bot_conversions)
        SELECT campaign_id, date_trunc('hour', created_at), domain,
               count(*) FILTER (WHERE event_type = 'email_click'),
               count(*) FILTER (WHERE event_type = 'landing_click'),
               count(*) FILTER (WHERE event_type = 'conversion'),
               count(*) FILTER (WHERE event_type = 'email_click' AND is_bot),
               count(*) FILTER (WHERE event_type = 'landing_click' AND is_bot),
               count(*) FILTER (WHERE event_type = 'conversion' AND is_bot)
        FROM (SELECT campaign_id, created_at, domain, event_type,
                     coalesce((extra_params -> '_tracker' ->> 'is_bot')::boolean, false) AS is_bot
              FROM events) e
        GROUP BY 1, 2, 3
    """)


def downgrade() -> None:
    op.drop_table("hourly_stats")
