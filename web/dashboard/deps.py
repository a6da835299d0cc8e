"""Request-scoped dependencies the dashboard routes share."""
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from common.db import get_session


def _db_session() -> Iterator[Session]:
    with get_session() as session:
        yield session


# One session per request: the sign-in check and the page share it (FastAPI caches dependencies per request).
DbSession = Annotated[Session, Depends(_db_session)]
