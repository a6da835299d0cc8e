"""Tables. Events are the ledger; the rollups are what the dashboard reads, so no page counts `events`."""
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, mapped_column

from common.vocabulary import (
    AMOUNT_COUNTERS,
    DAILY_COUNTERS,
    JOURNEY_AMOUNTS,
    JOURNEY_COUNTERS,
    REPORT_COUNTERS,
    ROLLUP_COUNTERS,
)

# Stable constraint names, so Alembic migrations stay diffable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64 hex characters from the server's strong random source (migrations 0004 and 0013).
POSTBACK_SECRET_DEFAULT = "replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '')"
# 32 hex characters, for rows inserted without a link token (migration 0013).
LINK_TOKEN_DEFAULT = "replace(gen_random_uuid()::text, '-', '')"
# Naive UTC, as events are stored.
UTC_NOW = "(now() AT TIME ZONE 'UTC')"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    offer_url: Mapped[str] = mapped_column(Text)
    # Authenticates the offer's postbacks (common/campaigns.py makes one; the default covers other inserts).
    postback_secret: Mapped[str] = mapped_column(String(64), server_default=text(POSTBACK_SECRET_DEFAULT))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    # Archived: off the home page, still tracking. Deleted: hidden everywhere while a background job removes
    # its events in batches; the row goes last (migration 0005).
    archived_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Money (migration 0009): the one currency of its payouts (ISO 4217), and what it cost: a fixed total, and/or
    # an amount per email click.
    currency: Mapped[str] = mapped_column(String(3), server_default=text("'USD'"))
    cost_total: Mapped[Decimal | None] = mapped_column(Numeric(18, 6), nullable=True)
    cost_per_click: Mapped[Decimal | None] = mapped_column(Numeric(18, 6), nullable=True)
    # The tracking link's unguessable key, /r/<link_token>; id_links: whether old /r/<id> links still redirect
    # (migration 0013).
    link_token: Mapped[str] = mapped_column(String(64), unique=True, server_default=text(LINK_TOKEN_DEFAULT))
    id_links: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Each stored conversion is POSTed here, signed with the secret (common/webhooks.py).
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_secret: Mapped[str] = mapped_column(String(64), server_default=text(POSTBACK_SECRET_DEFAULT))


class Event(Base):
    __tablename__ = "events"

    # BIGINT: a busy sender passes 2^31 events. Ids are allocated by the web tier from this sequence.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, ForeignKey("campaigns.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(50))
    email: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)
    extra_params: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # A conversion's payout, exact (migration 0009).
    payout: Mapped[Decimal | None] = mapped_column(Numeric(18, 6), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    __table_args__ = (
        Index("idx_events_campaign", "campaign_id"),
        Index("idx_events_email", "email"),
        Index("idx_events_domain", "domain"),
    )


class Postback(Base):
    """A conversion stored from the offer's postback: the dedupe key written with it in one transaction."""

    __tablename__ = "postbacks"

    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    campaign_id: Mapped[int] = mapped_column(Integer, ForeignKey("campaigns.id", ondelete="CASCADE"))
    click_id: Mapped[int] = mapped_column(BigInteger)
    txid: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    __table_args__ = (
        # One conversion per txid; without a txid, one per click (a network's retry is not a second sale).
        Index("uq_postbacks_campaign_id_txid", "campaign_id", "txid", unique=True),
        Index("uq_postbacks_campaign_id_click_id", "campaign_id", "click_id", unique=True,
              postgresql_where=text("txid IS NULL")),
    )


# Sums of payouts: exact decimals (migration 0009).
AMOUNT = Numeric(20, 6)


class RollupCounters:
    """The counters domain_stats and hourly_stats share (common/vocabulary.py's ROLLUP_COUNTERS): events per
    type, all and bots (human = total - bot), and unique recipients in all and per type. Read them with
    counter(); they are set below, one column per name."""


for _name in ROLLUP_COUNTERS:
    setattr(RollupCounters, _name, mapped_column(_name, AMOUNT if _name in AMOUNT_COUNTERS else BigInteger,
                                                 nullable=False, server_default=text("0")))


class DomainStats(RollupCounters, Base):
    """Per (campaign, sending domain) counters."""

    __tablename__ = "domain_stats"

    campaign_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)


class HourlyStats(RollupCounters, Base):
    """Per (campaign, hour, sending domain): the events of that hour, and the recipients whose journey began
    in it (first_seen). The chart and the date ranges read it."""

    __tablename__ = "hourly_stats"

    campaign_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)


class JourneyCounters:
    """A journey's events per type and its flagged events (common/vocabulary.py's JOURNEY_COUNTERS), set below."""


for _name in JOURNEY_COUNTERS:
    setattr(JourneyCounters, _name, mapped_column(_name, Integer, nullable=False, server_default=text("0")))
for _name in JOURNEY_AMOUNTS:
    setattr(JourneyCounters, _name, mapped_column(_name, AMOUNT, nullable=False, server_default=text("0")))


class DailyCounters:
    """daily_stats' counters (common/vocabulary.py's DAILY_COUNTERS), set below."""


for _name in DAILY_COUNTERS:
    setattr(DailyCounters, _name, mapped_column(_name, AMOUNT if _name in AMOUNT_COUNTERS else BigInteger,
                                                nullable=False, server_default=text("0")))


class DailyStats(DailyCounters, Base):
    """Per (campaign, day of DASHBOARD_TIMEZONE): the events and revenue of that day, for the home page's ranges
    (migration 0010)."""

    __tablename__ = "daily_stats"

    campaign_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class ReportCounters:
    """report_stats' counters (common/vocabulary.py's REPORT_COUNTERS), set below."""


for _name in REPORT_COUNTERS:
    setattr(ReportCounters, _name, mapped_column(_name, AMOUNT if _name in AMOUNT_COUNTERS else BigInteger,
                                                 nullable=False, server_default=text("0")))


class ReportStats(ReportCounters, Base):
    """Per (campaign, dimension, day of DASHBOARD_TIMEZONE, value): the reports' rollup (common/reports.py,
    migration 0011)."""

    __tablename__ = "report_stats"

    campaign_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)


class ReportRecipient(Base):
    """A recipient (journey) with a counted event of a report's value: the drill-down's lookup from a value to
    its journeys without reading events (common/reports.py keeps it with report_stats, migration 0016). Values
    are the events' own, never "(other)": the cap bounds report_stats, not this table (a row per journey and
    value, like an index)."""

    __tablename__ = "report_recipients"

    campaign_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)


class ReportSlot(Base):
    """A `param:<key>` report or a pair a campaign chose (common/report_slots.py): counted for days up to
    `filled_through` while the background backfill runs, for every day once `filled` (migrations 0011, 0015)."""

    __tablename__ = "report_slots"

    campaign_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(Text, primary_key=True)  # report_stats.dimension it writes
    by_dimension: Mapped[str] = mapped_column(Text)
    then_dimension: Mapped[str | None] = mapped_column(Text, nullable=True)  # a pair's second dimension
    filled_through: Mapped[date | None] = mapped_column(Date, nullable=True)
    filled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class RollupState(Base):
    """Facts the rollups were computed under: `daily_timezone`, the zone of daily_stats' days."""

    __tablename__ = "rollup_state"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Journey(JourneyCounters, Base):
    """One recipient (email, sending domain) in one campaign."""

    __tablename__ = "journeys"

    campaign_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str] = mapped_column(String(255), primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime)
    # first_seen before the last statement that changed it: lets that statement move the recipient between
    # hours in hourly_stats (common/rollups.py) from its own RETURNING rows.
    previous_first_seen: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The latest email click the user-agent and network rules called human: the burst rule's reference
    # (common/burst.py).
    last_email_click_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (
        # Newest recipient first, per campaign and per campaign + domain. Ordered by first_seen, which an
        # event's update leaves alone: updates stay HOT and the order is stable for "Load more".
        Index("ix_journeys_campaign_first_seen", "campaign_id", text("first_seen DESC"), "email", "domain"),
        Index("ix_journeys_campaign_domain_first_seen", "campaign_id", "domain", text("first_seen DESC"), "email"),
        # Case-insensitive substring search on email (emails are stored lower-cased), alone or within a
        # domain (btree_gin indexes the domain column; migration 0007).
        Index("ix_journeys_domain_email_trgm", "domain", "email", postgresql_using="gin",
              postgresql_ops={"email": "gin_trgm_ops"}),
    )


class User(Base):
    """A dashboard user."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    # admin | editor | viewer (common/roles.py; migration 0012).
    role: Mapped[str] = mapped_column(String(10), server_default=text("'admin'"))


class ApiToken(Base):
    """A user's API token (migration 0012): only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(5))  # read | write
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class DeadEvent(Base):
    """An accepted event the worker could not store (not an outage): kept with the reason for an operator."""

    __tablename__ = "dead_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class WebhookDelivery(Base):
    """A conversion to POST to its campaign's webhook: the outbox row the ingest statement writes, then the
    sender's log of it (status pending, delivered or failed; attempts; the last answer)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, ForeignKey("campaigns.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, server_default=text(UTC_NOW))
    # The body as first sent: every retry and redelivery sends the same one.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=text(UTC_NOW))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Retries go on until then: set at the first attempt, and again by a redelivery.
    retry_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (
        Index("uq_webhook_deliveries_event_id", "event_id", unique=True),
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("ix_webhook_deliveries_campaign", "campaign_id", text("id DESC")),
    )


class AuthSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class LoginFailure(Base):
    """Failed sign-ins per (username, client IP), counted in a fixed window that starts at the first failure."""

    __tablename__ = "login_failures"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(DateTime)


def counter(model: type[Base], name: str) -> InstrumentedAttribute[Any]:
    """A counter column of a rollup or journey model by its vocabulary name (they are set in loops above)."""
    column: InstrumentedAttribute[Any] = getattr(model, name)
    return column
