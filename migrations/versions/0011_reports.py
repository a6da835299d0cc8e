"""Reports: report_stats (per campaign, dimension, day and value) and report_queue (the events ingest stored
that the fold has not counted yet). common/reports.py keeps them; this migration fills report_stats from the
events already stored, a campaign at a time (common/reports.py's rebuild).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.config import get_settings

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As of this revision (later vocabularies may add columns in their own migrations).
_COUNTS = ("email_clicks", "landing_clicks", "conversions", "bot_email_clicks", "bot_landing_clicks",
           "bot_conversions", "unknown_email_clicks", "unknown_landing_clicks", "unknown_conversions")
_AMOUNTS = ("revenue", "bot_revenue", "unknown_revenue")
_USERS = ("email_click_users", "landing_click_users", "conversion_users")


def upgrade() -> None:
    op.create_table(
        "report_stats",
        sa.Column("campaign_id", sa.Integer(),
                  sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_report_stats_campaign_id_campaigns"),
                  primary_key=True),
        sa.Column("dimension", sa.Text(), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("value", sa.Text(), primary_key=True),
        *(sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)
          for name in _COUNTS + _USERS),
        *(sa.Column(name, sa.Numeric(20, 6), server_default=sa.text("0"), nullable=False) for name in _AMOUNTS),
    )
    # The fold updates today's rows again and again: room on each page keeps those updates HOT.
    op.execute("ALTER TABLE report_stats SET (fillfactor = 80)")
    # No index: ingest appends, the fold takes everything. Emptied by the fold every few seconds.
    op.create_table("report_queue", sa.Column("event_id", sa.BigInteger(), nullable=False))
    # The `param:<key>` reports a campaign has chosen (at most 5): counted from the day they were chosen, and
    # backfilled a day at a time up to `filled_through` until `filled`.
    op.create_table(
        "report_slots",
        sa.Column("campaign_id", sa.Integer(),
                  sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_report_slots_campaign_id_campaigns"),
                  primary_key=True),
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("filled_through", sa.Date(), nullable=True),
        sa.Column("filled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    )
    conn = op.get_bind()
    from common.reports import rebuild

    settings = get_settings()
    raw = conn.connection.driver_connection
    for (campaign_id,) in conn.execute(sa.text("SELECT id FROM campaigns ORDER BY id")).fetchall():
        # No slot yet, and report_slots in this revision's shape (0015_pairs reshapes it); report_recipients comes
        # with migration 0015, which fills it.
        rebuild(raw, campaign_id, timezone=settings.dashboard_timezone, max_values=settings.report_max_values,
                fixed_only=True)


def downgrade() -> None:
    op.drop_table("report_slots")
    op.drop_table("report_queue")
    op.drop_table("report_stats")
