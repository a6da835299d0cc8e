"""Users of each role and their API tokens, for the API's tests."""
import uuid
from datetime import datetime

from common.db import get_session
from common.tokens import create_token
from common.users import upsert_user


def new_user(role: str) -> tuple[str, str]:
    """A user of `role` of the caller's own: (username, password)."""
    username, password = f"{role}-{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    with get_session() as session:
        upsert_user(session=session, username=username, password=password, role=role)
    return username, password


def new_token(username: str, scope: str, expires_at: datetime | None = None) -> str:
    from common.users import get_by_username

    with get_session() as session:
        user = get_by_username(session=session, username=username)
        assert user is not None
        return create_token(session=session, user=user, scope=scope, name="test", expires_at=expires_at)[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
