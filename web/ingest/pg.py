"""Blocking Postgres work for the async web tier: each executor thread owns one psycopg connection."""
import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg

from common.db import connect

T = TypeVar("T")


class ThreadConnections:
    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pg")
        self._local = threading.local()

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = self._local.conn = connect()
        try:
            return fn(conn, *args)
        except psycopg.OperationalError:
            conn.close()  # reconnect on the next call
            raise

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(conn, *args) on a pool thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
