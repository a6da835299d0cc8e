"""Reports' drill-down: report_recipients, each campaign's journeys per report value (common/reports.py keeps it
with report_stats), so that a report row's journeys are found without reading events. Filled here from the
events already stored, a campaign at a time.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.config import get_settings

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Filled first and indexed after: one sort builds the primary key, where inserting 15 M rows into it
    # (10 M events) one by one would descend it for each.
    op.create_table(
        "report_recipients",
        sa.Column("campaign_id", sa.Integer(),
                  sa.ForeignKey("campaigns.id", ondelete="CASCADE",
                                name="fk_report_recipients_campaign_id_campaigns"), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
    )
    conn = op.get_bind()
    from common.reports import list_recipients

    settings = get_settings()
    raw = conn.connection.driver_connection
    for (campaign_id,) in conn.execute(sa.text("SELECT id FROM campaigns ORDER BY id")).fetchall():
        list_recipients(raw, campaign_id, timezone=settings.dashboard_timezone)
    op.create_primary_key("pk_report_recipients", "report_recipients",
                          ["campaign_id", "dimension", "value", "email", "domain"])


def downgrade() -> None:
    op.drop_table("report_recipients")
