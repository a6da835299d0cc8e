"""Engine, sessions and database bootstrap shared by web, worker, CLI and migrations."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from common.config import settings

# Timestamps are stored as UTC; fail fast when Postgres is down (the web tier answers 503, the worker retries).
CONNECT_ARGS: dict[str, Any] = {"connect_timeout": 5, "options": "-c timezone=UTC"}


@lru_cache
def get_engine() -> Engine:
    return create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        # No server-side prepared statements for the ORM (the dashboard): psycopg prepares a query after five
        # runs and Postgres may then switch to a generic plan, one that ignores the values. For an email
        # search that plan cannot see how common the term is: a week's range + "gmail" went from 4 ms to
        # 48 ms (BitmapAnd of the whole trigram match and the whole range, docs/performance.md). Planning
        # each dashboard query afresh costs a fraction of a millisecond. The ingest path (connect() below)
        # keeps its prepared statement.
        connect_args={**CONNECT_ARGS, "prepare_threshold": None},
    )


@lru_cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def get_session() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = _session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def libpq_dsn(url: str | None = None) -> str:
    """The SQLAlchemy URL as a plain libpq DSN (for psycopg and command-line tools)."""
    u = make_url(url or settings.database_url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(url: str | None = None) -> bool:
    """Create the configured database if it does not exist; returns True when it was created."""
    u = make_url(url or settings.database_url)
    name = u.database
    admin_dsn = libpq_dsn(u.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(f'CREATE DATABASE "{name}"')  # name comes from our own settings, quoted
        return True


def connect(url: str | None = None) -> psycopg.Connection[Any]:
    """A plain psycopg connection (COPY, the ingest merge): used where SQLAlchemy adds nothing."""
    return psycopg.connect(libpq_dsn(url), autocommit=True, **CONNECT_ARGS)
