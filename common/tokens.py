"""API tokens: created (shown once), listed, revoked, and looked up for each API request.

A token is `ctk_` and 256 random bits (URL-safe base64); only its SHA-256 is stored. That is as safe as a slow
hash for a value nobody can guess, and it is one indexed lookup per request. Its last use is written at most
once per LAST_USE_RESOLUTION, so a busy client does not turn every read into a write.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from common.models import ApiToken, User
from common.roles import SCOPES, Permission, permissions, scopes_for

PREFIX = "ctk_"
MAX_NAME = 100
LAST_USE_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token that cannot be created as asked."""


@dataclass(frozen=True)
class TokenUser:
    """Who a presented token acts for, and what it may do."""

    token_id: int
    user_id: int
    username: str
    role: str
    scope: str
    permissions: frozenset[Permission]


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    username: str
    scope: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


def _now() -> datetime:
    """Naive UTC, as the tables store time."""
    return datetime.now(UTC).replace(tzinfo=None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, session: Session, user: User, scope: str, name: str = "",
                 expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the token itself, which is stored nowhere."""
    if scope not in SCOPES:
        raise TokenError(f"scope must be one of: {', '.join(SCOPES)}")
    if scope not in scopes_for(user.role):
        raise TokenError(f"a {user.role} can create {' or '.join(scopes_for(user.role))} tokens only")
    name = name.strip() or f"{scope} token"
    if len(name) > MAX_NAME or "\x00" in name:
        raise TokenError(f"the name must be at most {MAX_NAME} characters")
    if expires_at is not None and expires_at <= _now():
        raise TokenError("the expiry must be in the future")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=token_hash(token), scope=scope, expires_at=expires_at)
    session.add(row)
    session.flush()
    return row, token


def list_tokens(*, session: Session, user_id: int | None = None) -> list[TokenInfo]:
    """Every token (of one user), newest first."""
    stmt = (select(ApiToken.id, ApiToken.name, User.username, ApiToken.scope, ApiToken.created_at,
                   ApiToken.expires_at, ApiToken.last_used_at)
            .join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc()))
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return [TokenInfo(*row) for row in session.execute(stmt)]


def revoke_token(*, session: Session, token_id: int, user_id: int | None = None) -> bool:
    """Delete the token (only if it is `user_id`'s, when given); whether there was one."""
    stmt = delete(ApiToken).where(ApiToken.id == token_id)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def authenticate_token(*, session: Session, token: str) -> TokenUser | None:
    """The active user and permissions behind a presented token; None when it is unknown, expired or its user
    is disabled. Records the use when the last one recorded is older than LAST_USE_RESOLUTION."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.execute(
        select(ApiToken.id, ApiToken.user_id, User.username, User.role, ApiToken.scope, ApiToken.expires_at,
               ApiToken.last_used_at)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash(token), User.is_active)
    ).first()
    now = _now()
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or row.last_used_at <= now - LAST_USE_RESOLUTION:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        session.commit()
    return TokenUser(token_id=row.id, user_id=row.user_id, username=row.username, role=row.role, scope=row.scope,
                     permissions=permissions(row.role, row.scope))
