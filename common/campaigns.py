"""Campaign service: create, read, edit, archive and delete campaigns, with the validation the form and the
CLI share."""
import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from common.db import Conn
from common.models import Campaign, DomainStats, counter
from common.money import AmountError, parse_amount, parse_currency
from common.vocabulary import revenue_column

log = logging.getLogger(__name__)

# Rows removed per transaction when a deleted campaign is purged: each batch is a short transaction, so the
# worker's merge and the dashboard never wait long behind a deletion of millions of events.
PURGE_BATCH = 20_000

MAX_NAME = 255
MAX_URL = 2048


class CampaignError(ValueError):
    """Invalid campaign input; `errors` maps field name to message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def validate_campaign(name: str, offer_url: str) -> tuple[str, str]:
    """Cleaned (name, offer_url), or CampaignError naming each bad field."""
    name, offer_url = name.strip(), offer_url.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Campaign name is required."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Campaign name must be at most {MAX_NAME} characters."
    elif "\x00" in name:
        errors["name"] = "Campaign name contains a NUL character."
    parts = urlsplit(offer_url)
    if not offer_url:
        errors["offer_url"] = "Offer URL is required."
    elif len(offer_url) > MAX_URL:
        errors["offer_url"] = f"Offer URL must be at most {MAX_URL} characters."
    elif parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in offer_url):
        errors["offer_url"] = "Offer URL must be an absolute http:// or https:// URL."
    elif "{" in parts.netloc or "%7b" in parts.netloc.lower():
        # The tracking link fills macros in the path, query and fragment only: it never picks the host.
        errors["offer_url"] = "Macros such as {email} can go in the offer URL's path or query, not its host."
    if errors:
        raise CampaignError(errors)
    return name, offer_url


@dataclass(frozen=True)
class Money:
    """A campaign's currency and cost, as a form or the command line gives them (text; "" for none)."""

    currency: str | None = None  # None: left as it is (a new campaign: the database's default, USD)
    cost_total: str = ""  # a fixed total: a list rental, a send
    cost_per_click: str = ""  # per email click


def validate_money(money: Money) -> tuple[str | None, Decimal | None, Decimal | None]:
    """Cleaned (currency, cost_total, cost_per_click), or CampaignError naming each bad field."""
    errors: dict[str, str] = {}
    currency = None
    if money.currency is not None:
        try:
            currency = parse_currency(money.currency, "Currency")
        except AmountError as exc:
            errors["currency"] = f"{exc}."
    costs: list[Decimal | None] = []
    for field, label, text in (("cost_total", "Fixed cost", money.cost_total),
                               ("cost_per_click", "Cost per click", money.cost_per_click)):
        try:
            costs.append(Decimal(parse_amount(text, label)) if text.strip() else None)
        except AmountError as exc:
            errors[field] = f"{exc}."
            costs.append(None)
    if errors:
        raise CampaignError(errors)
    return currency, costs[0], costs[1]


def has_revenue(*, session: Session, campaign: Campaign) -> bool:
    """Whether any payout was counted for the campaign (its currency can no longer change)."""
    total = session.scalar(select(func.sum(counter(DomainStats, revenue_column())))
                           .where(DomainStats.campaign_id == campaign.id))
    return bool(total)


def new_postback_secret() -> str:
    """A campaign's postback secret: 256 random bits as 64 hex characters (safe in any URL)."""
    return secrets.token_hex(32)


def new_link_token() -> str:
    """A tracking link's key: 128 random bits, URL-safe (22 characters), never all digits (an id's form)."""
    while True:
        token = secrets.token_urlsafe(16)
        if not token.isdigit():
            return token


def create_campaign(*, session: Session, name: str, offer_url: str, money: Money | None = None) -> Campaign:
    errors: dict[str, str] = {}
    try:
        name, offer_url = validate_campaign(name, offer_url)
    except CampaignError as exc:
        errors.update(exc.errors)
    try:
        currency, cost_total, cost_per_click = validate_money(money or Money())
    except CampaignError as exc:
        errors.update(exc.errors)
    if errors:
        raise CampaignError(errors)
    campaign = Campaign(name=name, offer_url=offer_url, postback_secret=new_postback_secret(),
                        link_token=new_link_token(), webhook_secret=new_postback_secret(),
                        cost_total=cost_total, cost_per_click=cost_per_click)
    if currency is not None:
        campaign.currency = currency
    session.add(campaign)
    session.flush()
    return campaign


def campaign_currency(conn: Conn, campaign_id: int) -> str | None:
    """The campaign's currency, or None when there is no such campaign."""
    row = conn.execute("SELECT currency FROM campaigns WHERE id = %s", (campaign_id,)).fetchone()
    return None if row is None else str(row[0])


def get_campaign(*, session: Session, campaign_id: int) -> Campaign | None:
    return session.get(Campaign, campaign_id)


def list_campaigns(*, session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def update_campaign(*, session: Session, campaign: Campaign, name: str, offer_url: str,
                    money: Money | None = None, id_links: bool | None = None) -> Campaign:
    """Rename, change the offer URL, and with `money` the costs (for the whole campaign) and the currency (only
    while the campaign has no revenue: its payouts are in the currency they came in); validated like a new
    campaign's. `id_links` switches the old /r/<id> links on or off (None: left as they are)."""
    errors: dict[str, str] = {}
    try:
        name, offer_url = validate_campaign(name, offer_url)
    except CampaignError as exc:
        errors.update(exc.errors)
    currency, cost_total, cost_per_click = None, campaign.cost_total, campaign.cost_per_click
    if money is not None:
        try:
            currency, cost_total, cost_per_click = validate_money(money)
        except CampaignError as exc:
            errors.update(exc.errors)
        if currency not in (None, campaign.currency) and has_revenue(session=session, campaign=campaign):
            errors["currency"] = (f"The currency stays {campaign.currency}: the campaign has revenue in it. "
                                  "Create a new campaign for another currency.")
    if errors:
        raise CampaignError(errors)
    campaign.name, campaign.offer_url = name, offer_url
    campaign.cost_total, campaign.cost_per_click = cost_total, cost_per_click
    if id_links is not None:
        campaign.id_links = id_links
    if currency is not None:
        campaign.currency = currency
    session.flush()
    return campaign


def set_archived(*, session: Session, campaign: Campaign, archived: bool) -> None:
    """Archive (off the home page; events are still accepted and counted) or bring back."""
    campaign.archived_at = func.now() if archived else None
    session.flush()


def mark_deleted(*, session: Session, campaign: Campaign) -> None:
    """Hide the campaign everywhere at once; `purge_deleted_campaigns` then removes it and its data."""
    session.execute(update(Campaign).where(Campaign.id == campaign.id, Campaign.deleted_at.is_(None))
                    .values(deleted_at=func.now()))


_PURGE_STEPS = (
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE campaign_id = %s LIMIT %s)",
    # Rows per journey and report value (common/reports.py): more than the journeys, so in batches too.
    "DELETE FROM report_recipients WHERE (campaign_id, dimension, value, email, domain) IN "
    "(SELECT campaign_id, dimension, value, email, domain FROM report_recipients WHERE campaign_id = %s LIMIT %s)",
    "DELETE FROM journeys WHERE (campaign_id, email, domain) IN "
    "(SELECT campaign_id, email, domain FROM journeys WHERE campaign_id = %s LIMIT %s)",
)


def purge_campaign(conn: Conn, campaign_id: int, batch: int = PURGE_BATCH) -> None:
    """Delete a campaign marked deleted: its events and journeys in batches (one short transaction each),
    then the campaign row, whose ON DELETE CASCADE takes domain_stats and any event stored meanwhile.
    A campaign not marked deleted is left alone."""
    marked = conn.execute("SELECT 1 FROM campaigns WHERE id = %s AND deleted_at IS NOT NULL", (campaign_id,))
    if marked.fetchone() is None:
        return
    for step in _PURGE_STEPS:
        while True:
            with conn.transaction():
                removed = conn.execute(step, (campaign_id, batch)).rowcount
            if removed < batch:
                break
    with conn.transaction():
        conn.execute("DELETE FROM campaigns WHERE id = %s AND deleted_at IS NOT NULL", (campaign_id,))


def purge_deleted_campaigns(conn: Conn, batch: int = PURGE_BATCH) -> list[int]:
    """Purge every campaign marked deleted, including ones a stopped process left half done; returns their
    ids. Safe to run twice at once: batches of the same rows just wait for each other."""
    ids = [row[0] for row in conn.execute("SELECT id FROM campaigns WHERE deleted_at IS NOT NULL ORDER BY id")]
    for campaign_id in ids:
        purge_campaign(conn, campaign_id, batch)
        log.info("campaign %s deleted", campaign_id)
    return ids
