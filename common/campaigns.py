"""Campaign service: create, read, edit, archive and delete campaigns, with the validation the form and the
CLI share."""
import logging
import secrets
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from common.db import Conn
from common.models import Campaign

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


def new_postback_secret() -> str:
    """A campaign's postback secret: 256 random bits as 64 hex characters (safe in any URL)."""
    return secrets.token_hex(32)


def create_campaign(*, session: Session, name: str, offer_url: str) -> Campaign:
    name, offer_url = validate_campaign(name, offer_url)
    campaign = Campaign(name=name, offer_url=offer_url, postback_secret=new_postback_secret())
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(*, session: Session, campaign_id: int) -> Campaign | None:
    return session.get(Campaign, campaign_id)


def list_campaigns(*, session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def update_campaign(*, session: Session, campaign: Campaign, name: str, offer_url: str) -> Campaign:
    """Rename and/or change the offer URL (validated like a new campaign's)."""
    campaign.name, campaign.offer_url = validate_campaign(name, offer_url)
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
