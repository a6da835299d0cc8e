"""Money: a conversion's payout in a real column, revenue in the rollups, a campaign's currency and cost.

- events.payout: the exact decimal a conversion carried (also kept in extra_params, as before).
- journeys.revenue; domain_stats and hourly_stats: revenue, bot_revenue, unknown_revenue (like the counters,
  all traffic and the bots and unknown visitors among it).
- campaigns.currency (ISO 4217; existing campaigns get USD, editable while a campaign has no revenue),
  campaigns.cost_total (a fixed total) and campaigns.cost_per_click (per email click).

Every new column is nullable or has a constant default: on PostgreSQL 11+ nothing is rewritten. Payouts of
conversions stored before this revision stay in extra_params only; revenue counts from the upgrade on.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AMOUNT = sa.Numeric(20, 6)
_ROLLUP_COLUMNS = ("revenue", "bot_revenue", "unknown_revenue")


def upgrade() -> None:
    op.add_column("events", sa.Column("payout", sa.Numeric(18, 6), nullable=True))
    op.add_column("journeys", sa.Column("revenue", _AMOUNT, server_default=sa.text("0"), nullable=False))
    for table in ("domain_stats", "hourly_stats"):
        for column in _ROLLUP_COLUMNS:
            op.add_column(table, sa.Column(column, _AMOUNT, server_default=sa.text("0"), nullable=False))
    op.add_column("campaigns", sa.Column("currency", sa.String(3), server_default=sa.text("'USD'"), nullable=False))
    op.add_column("campaigns", sa.Column("cost_total", sa.Numeric(18, 6), nullable=True))
    op.add_column("campaigns", sa.Column("cost_per_click", sa.Numeric(18, 6), nullable=True))


def downgrade() -> None:
    for column in ("cost_per_click", "cost_total", "currency"):
        op.drop_column("campaigns", column)
    for table in ("domain_stats", "hourly_stats"):
        for column in _ROLLUP_COLUMNS:
            op.drop_column(table, column)
    op.drop_column("journeys", "revenue")
    op.drop_column("events", "payout")
