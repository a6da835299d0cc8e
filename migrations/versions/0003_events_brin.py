"""BRIN index on events.created_at for the retention job.

Events arrive in time order, so a BRIN index finds old rows for a few kilobytes of index, where a btree
would cost every insert another index write. (Monthly partitions were the alternative; they would force
created_at into the primary key, and the idempotent insert relies on the id alone being unique.)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_events_created_at_brin ON events USING brin (created_at) WITH (pages_per_range = 32)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_events_created_at_brin")
