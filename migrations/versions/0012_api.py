"""API tokens and roles: users.role (admin, editor, viewer) and api_tokens.

Every user that exists before this migration could already do everything, so they all become admins; users
created later get the role they are given (the CLI's default is admin: the operator at the console).

A token is shown once; the table keeps its SHA-256 only (a token is 256 random bits, so a plain hash is as good
as a slow one and costs nothing per API request), with its scope, a name, an optional expiry and its last use
(written at most once a minute: common/tokens.py).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("role", sa.String(10), server_default=sa.text("'admin'"), nullable=False))
    op.create_check_constraint("ck_users_role", "users", "role IN ('admin', 'editor', 'viewer')")
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_api_tokens_user_id_users"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(5), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'write')", name="ck_api_tokens_scope"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_constraint("ck_users_role", "users", type_="check")
    op.drop_column("users", "role")
