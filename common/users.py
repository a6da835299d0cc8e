"""Dashboard users: argon2 password hashes and roles (common/roles.py), created by the CLI, from TRACKER_ADMIN_*
settings, or by an admin on the users page."""
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from common.models import AuthSession, User
from common.roles import DEFAULT_ROLE, ROLES

# OWASP's argon2id recommendation (19 MiB, 2 passes): the library default takes 64 MiB per hash, which
# would double a web process's memory at every sign-in. Older hashes are re-hashed at their next sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so response times do not reveal usernames."""
    return _hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes any length; a megabyte form field should not be hashed


class UserError(ValueError):
    """A username or password that cannot be accepted."""


def get_by_username(*, session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username.strip().lower())).first()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"password must be at most {MAX_PASSWORD_LENGTH} characters")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"role must be one of: {', '.join(ROLES)}")


def _checked(username: str, password: str) -> str:
    """The username as stored; UserError when it or the password cannot be accepted."""
    name = username.strip().lower()
    if not name or len(name) > 150 or any(c.isspace() or not c.isprintable() for c in name):
        raise UserError("username must be 1-150 characters, without spaces")
    _check_password(password)
    return name


def upsert_user(*, session: Session, username: str, password: str, role: str | None = None) -> tuple[User, bool]:
    """Create the user (with `role`, by default DEFAULT_ROLE) or set its password (and `role`, when given);
    returns (user, created)."""
    name = _checked(username, password)
    if role is not None:
        _check_role(role)
    user = get_by_username(session=session, username=name)
    created = user is None
    if user is None:
        user = User(username=name, password_hash=_hasher.hash(password), role=role or DEFAULT_ROLE)
        session.add(user)
    else:
        user.password_hash = _hasher.hash(password)
        user.is_active = True
        if role is not None:
            user.role = role
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


def existing_user(*, session: Session, username: str) -> User:
    """The user with this name; UserError when there is none."""
    user = get_by_username(session=session, username=username)
    if user is None:
        raise UserError(f"no user {username.strip().lower()!r} (see `tracker user list`)")
    return user


def get_user(*, session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def _end_sessions(session: Session, user: User, keep_session: str | None = None) -> int:
    """Signs the user out everywhere but `keep_session` (a session's token hash); returns how many ended."""
    result = session.execute(delete(AuthSession).where(AuthSession.user_id == user.id,
                                                        AuthSession.token_hash != (keep_session or "")))
    session.flush()
    return int(result.rowcount)  # type: ignore[attr-defined]


def list_users(*, session: Session) -> list[tuple[User, int]]:
    """Every user, with how many live sessions it has signed in."""
    live = (select(AuthSession.user_id, func.count().label("n")).where(AuthSession.expires_at > func.now())
            .group_by(AuthSession.user_id).subquery())
    rows = session.execute(select(User, func.coalesce(live.c.n, 0)).outerjoin(live, live.c.user_id == User.id)
                           .order_by(User.username))
    return [(user, int(n)) for user, n in rows]


def create_user(*, session: Session, username: str, password: str, role: str | None = None) -> User:
    """A new user; UserError when the name is taken."""
    name = _checked(username, password)
    if get_by_username(session=session, username=name) is not None:
        raise UserError(f"user {name!r} exists (use `tracker user reset-password`)")
    return upsert_user(session=session, username=name, password=password, role=role)[0]


def set_password(*, session: Session, user: User, password: str, keep_session: str | None = None) -> int:
    """A new password (own, or reset by an admin); the user's sessions end, but for `keep_session` (the token
    hash of the session that changed its own password). Returns how many ended."""
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    return _end_sessions(session, user, keep_session)


def set_role(*, session: Session, user: User, role: str) -> None:
    _check_role(role)
    user.role = role
    session.flush()


def set_active(*, session: Session, user: User, active: bool) -> int:
    """Disable (signed out everywhere, tokens refused) or enable a user; returns the sessions ended."""
    user.is_active = active
    session.flush()
    return 0 if active else _end_sessions(session, user)


def check_password(*, user: User, password: str) -> bool:
    """Whether `password` is the user's (to confirm a change of one's own)."""
    try:
        return bool(_hasher.verify(user.password_hash, password))
    except (VerificationError, InvalidHashError):
        return False
