"""Campaign archive and delete: `archived_at` (off the home page, still tracking) and `deleted_at` (hidden
everywhere while its events are removed in batches in the background; the campaign row goes last).

Both nullable without a default: adding them rewrites nothing, however many campaigns there are.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("archived_at", sa.DateTime(), nullable=True))
    op.add_column("campaigns", sa.Column("deleted_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("campaigns", "deleted_at")
    op.drop_column("campaigns", "archived_at")
