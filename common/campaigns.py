"""Campaign service: create and read campaigns, with the validation the form and the CLI share."""
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.models import Campaign

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
    if errors:
        raise CampaignError(errors)
    return name, offer_url


def create_campaign(*, session: Session, name: str, offer_url: str) -> Campaign:
    name, offer_url = validate_campaign(name, offer_url)
    campaign = Campaign(name=name, offer_url=offer_url)
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(*, session: Session, campaign_id: int) -> Campaign | None:
    return session.get(Campaign, campaign_id)


def list_campaigns(*, session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))
