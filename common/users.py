"""Dashboard users: argon2 password hashes, created by the CLI or from TRACKER_ADMIN_* settings."""
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from common.models import AuthSession, User

# OWASP's argon2id recommendation (19 MiB, 2 passes): the library default takes 64 MiB per hash, which
# would double a web process's memory at every sign-in. Older hashes are re-hashed at their next sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so response times do not reveal usernames."""
    return _hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 8


class UserError(ValueError):
    """A username or password that cannot be accepted."""


def get_by_username(*, session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username.strip().lower())).first()


def _checked(username: str, password: str) -> str:
    """The username as stored; UserError when it or the password cannot be accepted."""
    name = username.strip().lower()
    if not name or len(name) > 150:
        raise UserError("username must be 1-150 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return name


def upsert_user(*, session: Session, username: str, password: str) -> tuple[User, bool]:
    """Create the user or set its password; returns (user, created)."""
    name = _checked(username, password)
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
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def count_users(*, session: Session) -> int:
    return len(session.scalars(select(User.id)).all())


def _existing(session: Session, username: str) -> User:
    user = get_by_username(session=session, username=username)
    if user is None:
        raise UserError(f"no user {username.strip().lower()!r} (see `tracker user list`)")
    return user


def _end_sessions(session: Session, user: User) -> int:
    """Signs the user out everywhere; returns how many sessions ended."""
    return int(session.execute(delete(AuthSession).where(AuthSession.user_id == user.id)).rowcount)  # type: ignore[attr-defined]


def list_users(*, session: Session) -> list[tuple[User, int]]:
    """Every user, with how many sessions it has signed in."""
    live = (select(AuthSession.user_id, func.count().label("n")).where(AuthSession.expires_at > func.now())
            .group_by(AuthSession.user_id).subquery())
    rows = session.execute(select(User, func.coalesce(live.c.n, 0)).outerjoin(live, live.c.user_id == User.id)
                           .order_by(User.username))
    return [(user, int(n)) for user, n in rows]


def create_user(*, session: Session, username: str, password: str) -> User:
    """A new user; UserError when the name is taken."""
    name = _checked(username, password)
    if get_by_username(session=session, username=name) is not None:
        raise UserError(f"user {name!r} exists (use `tracker user reset-password`)")
    return upsert_user(session=session, username=name, password=password)[0]


def reset_password(*, session: Session, username: str, password: str) -> int:
    """Sets an existing user's password and ends its sessions; returns how many."""
    _checked(username, password)
    user = _existing(session, username)
    user.password_hash = _hasher.hash(password)
    return _end_sessions(session, user)


def set_active(*, session: Session, username: str, active: bool) -> tuple[bool, int]:
    """Enables or disables a user (a disabled one cannot sign in, and its sessions end); returns (whether it
    changed, sessions ended)."""
    user = _existing(session, username)
    changed = user.is_active != active
    user.is_active = active
    return changed, 0 if active else _end_sessions(session, user)
