"""Across hosts: a change counter for campaigns, and beat's claims on job runs.

`change_counters` row 'campaigns' goes up with every statement that inserts, updates or deletes campaigns
(a statement-level trigger, so a purge of many rows is one bump). Each web process reads that one row every
CAMPAIGN_CHECK_SECONDS and reloads its campaign cache when it moved: a campaign deleted through one host stops
being accepted on every host within that time (web/ingest/campaign_cache.py).

`beat_claims` holds, per scheduled job, which beat sent its last run and until when that run is claimed:
two beats on two hosts send each run once (worker/beat.py).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("change_counters", sa.Column("name", sa.Text(), primary_key=True),
                    sa.Column("value", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    op.execute("INSERT INTO change_counters (name) VALUES ('campaigns')")
    op.execute("""
        CREATE FUNCTION count_campaign_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE change_counters SET value = value + 1 WHERE name = 'campaigns';
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER campaigns_changed AFTER INSERT OR UPDATE OR DELETE ON campaigns
        FOR EACH STATEMENT EXECUTE FUNCTION count_campaign_change()
    """)
    op.create_table(
        "beat_claims",
        sa.Column("job", sa.Text(), primary_key=True),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("beat_claims")
    op.execute("DROP TRIGGER campaigns_changed ON campaigns")
    op.execute("DROP FUNCTION count_campaign_change()")
    op.drop_table("change_counters")
