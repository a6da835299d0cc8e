"""Postbacks: a secret per campaign, and one row per conversion a postback stored (its dedupe key).

`campaigns.postback_secret` has a volatile server default, so adding the column gives every existing campaign
its own random secret in the same statement (the table is rewritten; campaigns are few), and a row inserted
by code that does not know the column (an old web process during a rolling deploy, SQL by hand) gets one too.
gen_random_uuid() draws from the server's strong random source: two of them are 244 random bits.

`postbacks` is written in the same transaction as the conversion event. Its unique indexes make a repeated
postback a no-op however many arrive at once: one conversion per (campaign, txid), and without a txid one per
click. No foreign key to events: the retention job may delete the event; the dedupe key must outlive it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECRET_DEFAULT = "replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '')"


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("postback_secret", sa.String(64), nullable=False,
                                         server_default=sa.text(SECRET_DEFAULT)))
    op.create_table(
        "postbacks",
        sa.Column("event_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_postbacks_campaign_id_campaigns"),
            nullable=False,
        ),
        sa.Column("click_id", sa.BigInteger(), nullable=False),
        sa.Column("txid", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_postbacks"),
    )
    op.create_index("uq_postbacks_campaign_id_txid", "postbacks", ["campaign_id", "txid"], unique=True)
    op.create_index("uq_postbacks_campaign_id_click_id", "postbacks", ["campaign_id", "click_id"], unique=True,
                    postgresql_where=sa.text("txid IS NULL"))


def downgrade() -> None:
    op.drop_table("postbacks")
    op.drop_column("campaigns", "postback_secret")
