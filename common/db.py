"""PostgreSQL for every tier: the web tier's pool (Database), the worker's and CLI's plain connections (connect),
and database bootstrap.

The web tier reaches Postgres one way, through a Database built from its settings: SQLAlchemy's engine and
its pool. The dashboard reads through ORM sessions; the ingest path runs short psycopg work (ids, campaign
look-ups, postbacks, the broker-down fallback) on pooled connections in autocommit mode, on threads of its
own so the event loop never waits on the database. The worker holds one plain connection per pool thread
(worker/tasks.py), with a statement timeout of its own.
"""
import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from common.config import Settings, get_settings

T = TypeVar("T")
# A plain psycopg connection, rows as tuples: what every raw query here gets.
Conn = psycopg.Connection[TupleRow]

# Timestamps are stored as UTC; fail fast when Postgres is down (the web tier answers 503, the worker retries).
CONNECT_ARGS: dict[str, Any] = {"connect_timeout": 5, "options": "-c timezone=UTC"}


def make_engine(settings: Settings) -> Engine:
    return create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        # No automatic server-side prepared statements: psycopg prepares a query after five runs and Postgres
        # may then switch to a generic plan, one that ignores the values. For an email search that plan cannot
        # see how common the term is: a week's range + "gmail" went from 4 ms to 48 ms (BitmapAnd of the whole
        # trigram match and the whole range, docs/performance.md). Planning each dashboard query afresh costs a
        # fraction of a millisecond. The ingest statement asks to be prepared (common/store.py).
        connect_args={**CONNECT_ARGS, "prepare_threshold": None},
    )


class Database:
    """An engine and its pool, sessions on it, and pooled psycopg connections for blocking work."""

    def __init__(self, settings: Settings, threads: int = 2) -> None:
        self.engine = make_engine(settings)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pg")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        """A pooled psycopg connection in autocommit mode (raw SQL, COPY, the ingest statement). One that broke,
        or that an error left inside a transaction, is closed rather than returned to the pool."""
        try:
            checked_out = self.engine.connect()
        except DBAPIError as exc:  # callers handle the driver's errors (a 503, a retry), as on any statement
            if isinstance(exc.orig, psycopg.Error):
                raise exc.orig from exc
            raise
        with checked_out as pooled:
            pooled = pooled.execution_options(isolation_level="AUTOCOMMIT")
            driver: Conn = pooled.connection.driver_connection  # type: ignore[assignment]
            try:
                yield driver
            except psycopg.Error:
                if driver.broken or driver.info.transaction_status != TransactionStatus.IDLE:
                    pooled.invalidate()
                raise

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        with self.connection() as conn:
            return fn(conn, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(conn, *args) on one of this Database's threads, with a pooled connection."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()


@lru_cache
def default_database() -> Database:
    """The Database of the process's settings, for the command line, migrations, benchmarks and tests."""
    return Database(get_settings())


def get_engine() -> Engine:
    return default_database().engine


@contextmanager
def get_session() -> Iterator[Session]:
    """A session of default_database(): commits on success, rolls back on error."""
    with default_database().session() as session:
        yield session


def libpq_dsn(url: str | None = None) -> str:
    """The SQLAlchemy URL as a plain libpq DSN (for psycopg and command-line tools)."""
    u = make_url(url or get_settings().database_url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(url: str | None = None) -> bool:
    """Create the configured database if it does not exist; returns True when it was created."""
    u = make_url(url or get_settings().database_url)
    name = u.database
    admin_dsn = libpq_dsn(u.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(f'CREATE DATABASE "{name}"')  # name comes from our own settings, quoted
        return True


def connect(url: str | None = None) -> Conn:
    """A plain autocommit psycopg connection of its own (the worker, bulk work on the command line)."""
    return psycopg.connect(libpq_dsn(url), autocommit=True, **CONNECT_ARGS)
