"""Dashboard sign-in: server-side sessions, the failed-login limit, and the dependencies that guard routes.

The session cookie carries a random token; the `sessions` table keeps its SHA-256, the user and the CSRF
token, so logout (or deleting the row) ends a session at once in every web process.
"""
import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common.models import AuthSession, LoginFailure, User
from common.roles import Permission, permissions
from web.dashboard.deps import DbSession
from web.security import CSRF_FIELD, CSRF_HEADER, new_token, tokens_match

SESSION_COOKIE = "tracker_session"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class LoginRequired(Exception):
    """Raised by `current_user` for a signed-out visitor; the dashboard turns it into a redirect to /login."""


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    username: str
    csrf_token: str
    token_hash: str
    role: str = "viewer"

    def can(self, permission: str) -> bool:
        """Whether the user's role allows `permission` (read, write, admin): the templates hide what it does not."""
        return permission in permissions(self.role)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def start_session(*, session: Session, user_id: int, max_age_seconds: int) -> str:
    """Store a new session for the user and return its cookie token (shown to nobody else)."""
    # Expired rows are never used again; clearing them here keeps the table small without a cron job.
    session.execute(delete(AuthSession).where(AuthSession.expires_at < func.now()))
    token = new_token()
    session.add(AuthSession(token_hash=_sha256(token), user_id=user_id, csrf_token=new_token(),
                            expires_at=func.now() + timedelta(seconds=max_age_seconds)))
    session.flush()
    return token


def load_session(*, session: Session, token: str) -> SignedIn | None:
    """The signed-in user behind a cookie token; None when unknown, expired or the user is disabled."""
    token_hash = _sha256(token)
    row = session.execute(
        select(User.id, User.username, AuthSession.csrf_token, User.role)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(AuthSession.token_hash == token_hash, AuthSession.expires_at > func.now(), User.is_active)
    ).first()
    if row is None:
        return None
    return SignedIn(user_id=row.id, username=row.username, csrf_token=row.csrf_token, token_hash=token_hash,
                    role=row.role)


def end_session(*, session: Session, token_hash: str) -> None:
    session.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash))


def _failure_key(username: str, ip: str) -> str:
    return _sha256(f"{username.strip().lower()}\x00{ip}")


def count_login_attempt(*, session: Session, username: str, ip: str, max_failures: int,
                        window_seconds: int) -> int | None:
    """Count a sign-in attempt; returns the seconds to wait when the limit is reached, else None.

    The attempt is counted before the password is checked and in one statement, so parallel guesses (from any
    number of web processes) cannot slip past the limit; a successful sign-in clears the count.
    """
    window = timedelta(seconds=window_seconds)
    expired = LoginFailure.window_start <= func.now() - window
    key = _failure_key(username, ip)
    upsert = insert(LoginFailure).values(key_hash=key, failures=1, window_start=func.now())
    stmt = upsert.on_conflict_do_update(
        index_elements=[LoginFailure.key_hash],
        set_={
            "failures": case((expired, 1), else_=LoginFailure.failures + 1),
            "window_start": case((expired, func.now()), else_=LoginFailure.window_start),
        },
    ).returning(LoginFailure.failures, func.extract("epoch", LoginFailure.window_start + window - func.now()))
    failures, seconds_left = session.execute(stmt).one()
    if failures <= max_failures:
        return None
    return max(1, math.ceil(seconds_left))


def clear_login_failures(*, session: Session, username: str, ip: str, window_seconds: int) -> None:
    """Forget this user's failures from this address, and every count whose window has passed."""
    session.execute(delete(LoginFailure).where(or_(
        LoginFailure.key_hash == _failure_key(username, ip),
        LoginFailure.window_start <= func.now() - timedelta(seconds=window_seconds),
    )))


def current_user(request: Request, session: DbSession) -> SignedIn:
    """The signed-in user, or LoginRequired. Also left on request.state for the templates."""
    token = request.cookies.get(SESSION_COOKIE)
    signed_in = load_session(session=session, token=token) if token else None
    if signed_in is None:
        raise LoginRequired()
    request.state.auth = signed_in
    return signed_in


CurrentUser = Annotated[SignedIn, Depends(current_user)]


async def require_csrf(request: Request, user: CurrentUser) -> None:
    """403 unless the request carries the session's CSRF token (HTMX sends a header, plain forms a field)."""
    given = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given is None and content_type in FORM_TYPES:
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not tokens_match(user.csrf_token, given):
        raise HTTPException(status_code=403, detail="CSRF token missing or invalid")


def allow(permission: Permission) -> Any:
    """A route dependency: 403 unless the signed-in user's role allows `permission` (common/roles.py)."""
    def check(user: CurrentUser) -> None:
        if not user.can(permission):
            raise HTTPException(status_code=403, detail=f"A {user.role} cannot do this: it needs {permission.value} "
                                                        "rights")
    return Depends(check)


# The dashboard's route classes: a page or fragment that reads (the router's sign-in check is enough), a form
# page that changes campaigns, a POST that changes campaigns, and the admin's users pages and POSTs.
EDIT_PAGE = [allow(Permission.WRITE)]
EDIT = [Depends(require_csrf), allow(Permission.WRITE)]
ADMIN_PAGE = [allow(Permission.ADMIN)]
ADMIN = [Depends(require_csrf), allow(Permission.ADMIN)]
OWN = [Depends(require_csrf)]  # a POST about the user's own account (password, tokens): any role
