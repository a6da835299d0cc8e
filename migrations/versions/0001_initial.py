"""Initial schema: campaigns, events (BIGINT ids), rollups, dashboard users.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _counter(name: str, type_: type[sa.types.TypeEngine] = sa.BigInteger) -> sa.Column:
    return sa.Column(name, type_(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("offer_url", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_events_campaign_id_campaigns"),
            nullable=False,
        ),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("ip", sa.String(45)),
        sa.Column("user_agent", sa.Text()),
        sa.Column("extra_params", postgresql.JSONB()),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("idx_events_campaign", "events", ["campaign_id"])
    op.create_index("idx_events_email", "events", ["email"])
    op.create_index("idx_events_domain", "events", ["domain"])

    op.create_table(
        "domain_stats",
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_domain_stats_campaign_id_campaigns"),
            primary_key=True,
        ),
        sa.Column("domain", sa.String(255), primary_key=True),
        *(
            _counter(name)
            for name in (
                "email_clicks",
                "landing_clicks",
                "conversions",
                "bot_email_clicks",
                "bot_landing_clicks",
                "bot_conversions",
                "users",
                "email_click_users",
                "landing_click_users",
                "conversion_users",
            )
        ),
    )
    op.create_table(
        "journeys",
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_journeys_campaign_id_campaigns"),
            primary_key=True,
        ),
        sa.Column("email", sa.String(255), primary_key=True),
        sa.Column("domain", sa.String(255), primary_key=True),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        *(
            _counter(name, sa.Integer)
            for name in ("email_clicks", "landing_clicks", "conversions", "bot_events")
        ),
    )
    # Journeys are listed newest recipient first. first_seen (unlike last_seen) almost never changes, so
    # the update every event makes to its journey touches no indexed column and stays a HOT update (no
    # index writes), and the order is stable while events arrive, so "Load more" never repeats a row.
    op.execute("ALTER TABLE journeys SET (fillfactor = 80)")
    op.execute(
        "CREATE INDEX ix_journeys_campaign_first_seen ON journeys (campaign_id, first_seen DESC, email, domain)"
    )
    op.execute(
        "CREATE INDEX ix_journeys_campaign_domain_first_seen "
        "ON journeys (campaign_id, domain, first_seen DESC, email)"
    )
    op.execute("CREATE INDEX ix_journeys_email_trgm ON journeys USING gin (email gin_trgm_ops)")

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )

    # Events the worker could not store for a reason other than a database outage, kept for an operator.
    op.create_table(
        "dead_events",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dead_events")
    op.drop_table("users")
    op.drop_table("journeys")
    op.drop_table("domain_stats")
    op.drop_table("events")
    op.drop_table("campaigns")
