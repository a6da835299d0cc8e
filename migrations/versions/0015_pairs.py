"""Report slots hold a dimension spec: `by_dimension`, and `then_dimension` for a pair (`?by=country&then=device`),
so that a campaign's pairs are chosen, backfilled and folded as its `param:` reports are (common/report_slots.py).
`dimension` is the report_stats dimension the slot writes ("param:sub1", "country|device"). Existing `param:`
slots keep their rows in report_stats: their dimension is the one they wrote.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("report_slots", sa.Column("dimension", sa.Text(), nullable=True))
    op.add_column("report_slots", sa.Column("by_dimension", sa.Text(), nullable=True))
    op.add_column("report_slots", sa.Column("then_dimension", sa.Text(), nullable=True))
    op.execute("UPDATE report_slots SET dimension = 'param:' || key, by_dimension = 'param:' || key")
    op.alter_column("report_slots", "dimension", nullable=False)
    op.alter_column("report_slots", "by_dimension", nullable=False)
    op.drop_constraint("pk_report_slots", "report_slots", type_="primary")
    op.drop_column("report_slots", "key")
    op.create_primary_key("pk_report_slots", "report_slots", ["campaign_id", "dimension"])


def downgrade() -> None:
    # Pairs have no place in the old shape: their slots and rows go.
    op.execute("DELETE FROM report_stats r USING report_slots s WHERE s.then_dimension IS NOT NULL "
               "AND r.campaign_id = s.campaign_id AND r.dimension = s.dimension")
    op.execute("DELETE FROM report_slots WHERE then_dimension IS NOT NULL")
    op.add_column("report_slots", sa.Column("key", sa.Text(), nullable=True))
    op.execute("UPDATE report_slots SET key = substr(by_dimension, 7)")
    op.alter_column("report_slots", "key", nullable=False)
    op.drop_constraint("pk_report_slots", "report_slots", type_="primary")
    op.drop_column("report_slots", "then_dimension")
    op.drop_column("report_slots", "by_dimension")
    op.drop_column("report_slots", "dimension")
    op.create_primary_key("pk_report_slots", "report_slots", ["campaign_id", "key"])
