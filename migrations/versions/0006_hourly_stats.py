"""Hourly rollup: events per (campaign, hour, sending domain), for the campaign page's chart and date ranges,
and the recipients first seen in that hour (with, among them, those who have each event type).

The insert statement (common/store.py) adds to it with the other rollups, retention takes from it, and this
migration fills it from the events and journeys already stored, so an upgraded install charts its history at
once. journeys.previous_first_seen lets a statement that moves a journey's first_seen (an older event arriving
late, retention) move the recipient between hours without reading the row twice.

journeys.last_email_click_at is the burst rule's reference (common/burst.py), which used to look recipients
up in `events`. It starts empty: only a click within BURST_WINDOW_SECONDS of one stored before the upgrade
could go unflagged, so no backfill over every event is worth its time.

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
             "bot_conversions", "users", "email_click_users", "landing_click_users", "conversion_users")


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
    # Every batch updates the current hour's rows: room on each page keeps those updates HOT (no index writes).
    op.execute("ALTER TABLE hourly_stats SET (fillfactor = 70)")
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
    op.execute("""
        UPDATE hourly_stats h SET users = r.users, email_click_users = r.ec_users,
                                  landing_click_users = r.lc_users, conversion_users = r.cv_users
        FROM (SELECT campaign_id, date_trunc('hour', first_seen) AS hour, domain, count(*) AS users,
                     count(*) FILTER (WHERE email_clicks > 0) AS ec_users,
                     count(*) FILTER (WHERE landing_clicks > 0) AS lc_users,
                     count(*) FILTER (WHERE conversions > 0) AS cv_users
              FROM journeys GROUP BY 1, 2, 3) r
        WHERE h.campaign_id = r.campaign_id AND h.hour = r.hour AND h.domain = r.domain
    """)
    # Not indexed and written in the same row update as first_seen: journey updates stay HOT.
    op.add_column("journeys", sa.Column("previous_first_seen", sa.DateTime(), nullable=True))
    op.add_column("journeys", sa.Column("last_email_click_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("journeys", "last_email_click_at")
    op.drop_column("journeys", "previous_first_seen")
    op.drop_table("hourly_stats")
