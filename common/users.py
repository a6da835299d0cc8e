"""Dashboard users: argon2 password hashes, created by the CLI or from TRACKER_ADMIN_* settings."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.models import User

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps response times equal (no username probing).
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 8


class UserError(ValueError):
    """A username or password that cannot be accepted."""


def get_by_username(*, session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username.strip().lower())).first()


def upsert_user(*, session: Session, username: str, password: str) -> tuple[User, bool]:
    """Create the user or set its password; returns (user, created)."""
    name = username.strip().lower()
    if not name or len(name) > 150:
        raise UserError("username must be 1-150 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    user = get_by_username(session=session, username=name)
    created = user is None
    if user is None:
        user = User(username=name, password_hash=_hasher.hash(password))
        session.add(user)
    else:
        user.password_hash = _hasher.hash(password)
        user.is_active = True
    session.flush()
    return user, created


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    user = get_by_username(session=session, username=username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def count_users(*, session: Session) -> int:
    return len(session.scalars(select(User.id)).all())
