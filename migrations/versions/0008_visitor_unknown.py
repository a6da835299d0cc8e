"""Visitor unknown: counters for events whose visitor nothing is known about (an /api/event call from a
server-side script that forwarded neither `ua` nor `ip`). They count with the people, and are shown apart.

`unknown_<type>s` in domain_stats and hourly_stats, `unknown_events` in journeys. NOT NULL DEFAULT 0 is a
catalog change only on PostgreSQL 11+: nothing is rewritten, however large the tables. Events stored before
this revision cannot be told apart (whether `ua` was forwarded was not kept): they count as they were.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLLUP_COLUMNS = ("unknown_email_clicks", "unknown_landing_clicks", "unknown_conversions")


def upgrade() -> None:
    for table in ("domain_stats", "hourly_stats"):
        for column in _ROLLUP_COLUMNS:
            op.add_column(table, sa.Column(column, sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    op.add_column("journeys", sa.Column("unknown_events", sa.Integer(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    op.drop_column("journeys", "unknown_events")
    for table in ("domain_stats", "hourly_stats"):
        for column in _ROLLUP_COLUMNS:
            op.drop_column(table, column)
