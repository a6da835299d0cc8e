"""Links that don't give campaigns away, and signed webhooks on conversions.

`campaigns.link_token`: the tracking link's unguessable key (`/r/<token>`). A volatile server default gives
each existing campaign its own in this statement (122 random bits from gen_random_uuid(); new campaigns get
secrets.token_urlsafe(16) from common/campaigns.py). `campaigns.id_links`: whether the old `/r/<id>` links
still redirect (on, so links already sent in emails keep working until the marketer switches them off).

`campaigns.webhook_url` (none by default) and `webhook_secret` (random, like the postback secret): where each
stored conversion is POSTed, signed with the secret.

`webhook_deliveries` is the outbox: the ingest statement writes a row, in the same statement as the
conversion, only for a campaign with a webhook URL (common/store.py); the webhook worker sends it
(worker/webhooks.py). One row per conversion (unique event_id): a redelivered batch inserts no second one.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKEN_DEFAULT = "replace(gen_random_uuid()::text, '-', '')"
SECRET_DEFAULT = "replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '')"


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("link_token", sa.String(64), nullable=False,
                                         server_default=sa.text(TOKEN_DEFAULT)))
    op.create_index("uq_campaigns_link_token", "campaigns", ["link_token"], unique=True)
    op.add_column("campaigns", sa.Column("id_links", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("campaigns", sa.Column("webhook_url", sa.Text(), nullable=True))
    op.add_column("campaigns", sa.Column("webhook_secret", sa.String(64), nullable=False,
                                         server_default=sa.text(SECRET_DEFAULT)))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("campaign_id", sa.Integer(),
                  sa.ForeignKey("campaigns.id", ondelete="CASCADE",
                                name="fk_webhook_deliveries_campaign_id_campaigns"), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), server_default=sa.text("(now() AT TIME ZONE 'UTC')"),
                  nullable=False),
        sa.Column("payload", JSONB(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(now() AT TIME ZONE 'UTC')"),
                  nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        # Retries go on until then: set at the first attempt, and again by a redelivery.
        sa.Column("retry_until", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index("uq_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"], unique=True)
    # The sender's one query when idle: the pending rows that are due, and nothing else.
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'pending'"))
    # The campaign page's log, newest first.
    op.create_index("ix_webhook_deliveries_campaign", "webhook_deliveries", ["campaign_id", sa.text("id DESC")])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_column("campaigns", "webhook_secret")
    op.drop_column("campaigns", "webhook_url")
    op.drop_column("campaigns", "id_links")
    op.drop_index("uq_campaigns_link_token", table_name="campaigns")
    op.drop_column("campaigns", "link_token")
