"""Request-scoped dependencies the dashboard routes share."""
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from common.db import Database


def _database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


Db = Annotated[Database, Depends(_database)]


def _db_session(db: Db) -> Iterator[Session]:
    with db.session() as session:
        yield session


# One session per request: the sign-in check and the page share it (FastAPI caches dependencies per request).
DbSession = Annotated[Session, Depends(_db_session)]
