"""Throwaway services the chaos tests may kill: PostgreSQL, Redis, and a TCP proxy that can cut a link.

Each instance lives in a temp dir of its own on a free port, so killing it never touches the machine's shared
services. Given a simulated host (tests/hosts), it runs there instead, on the host's address. Durability
settings are the defaults (Postgres fsync on; Redis AOF with `appendfsync always`).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import redis

from tests.hosts.network import Host
from tests.services import Process, free_port, wait_until

T = TypeVar("T")


def _on(host: Host | None, fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) where the service's address is reachable: on its host, or here for 127.0.0.1."""
    return fn(*args) if host is None else host.call(fn, *args)


def _postgres_bin() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda path: int(path.parent.parent.name)
    )
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return found[-1].parent


class Postgres:
    """A throwaway cluster: initdb into a temp dir, its own port and socket dir.

    initdb and postgres refuse to run as root, so under root they run as the `postgres` OS user.
    """

    def __init__(self, host: Host | None = None, port: int = 5432) -> None:
        self.bin = _postgres_bin()
        self.host = host
        self.address = "127.0.0.1" if host is None else host.address
        self.port = free_port() if host is None else port
        self.dir = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        self.data = self.dir / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        # --no-sync only skips initdb's own final fsync; the server runs with the default fsync=on.
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        if host is not None:  # the other hosts of the simulated network, private to the test
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write(f"host all all {host.address.rsplit('.', 1)[0]}.0/24 trust\n")

    def _run(self, tool: str, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        argv = [*prefix, str(self.bin / tool), *args]
        subprocess.run(argv if self.host is None else self.host.wrap(argv), check=True, capture_output=True,
                       timeout=60)

    @property
    def url(self) -> str:
        """The app's DATABASE_URL for the `tracker` database of this cluster."""
        return f"postgresql+psycopg://postgres@{self.address}:{self.port}/tracker"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@{self.address}:{self.port}/tracker"

    def connect(self) -> psycopg.Connection:
        return _on(self.host, lambda: psycopg.connect(self.dsn, autocommit=True, connect_timeout=3))

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses={self.address} -c shared_buffers=64MB"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; mode "immediate" is a crash: no checkpoint, WAL replay on the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def log(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A throwaway Redis with the broker settings docs/operations.md asks for: AOF, fsync on every write."""

    def __init__(self, host: Host | None = None) -> None:
        self.host = host
        self.address = "127.0.0.1" if host is None else host.address
        self.port = free_port() if host is None else 6379
        self.dir = Path(tempfile.mkdtemp(prefix="chaos-redis-"))
        self.proc: Process | None = None
        self.logs: list[Path] = []

    def url(self, db: int = 0) -> str:
        return f"redis://{self.address}:{self.port}/{db}"

    def client(self) -> redis.Redis:
        return redis.Redis(host=self.address, port=self.port, socket_timeout=3, socket_connect_timeout=3)

    def call(self, fn: Callable[[redis.Redis], T]) -> T:
        """fn(client) where the server is reachable (a client connects on its first command, on that thread)."""
        def run() -> T:
            with self.client() as client:
                return fn(client)

        return _on(self.host, run)

    def start(self) -> None:
        argv = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            self.address,
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--dir",
            str(self.dir),
        ]
        if self.host is not None:
            # Reached from other hosts without a password: the simulated network is private to the test.
            argv = self.host.wrap([*argv, "--protected-mode", "no"])
        self.proc = Process("redis", argv, dict(os.environ)).start()
        self.logs.append(self.proc.log_path)
        wait_until(lambda: self.call(lambda client: client.ping()), timeout=15, message="throwaway redis")

    def kill(self) -> None:
        """SIGKILL: the crash case (a graceful shutdown would rewrite the AOF first)."""
        assert self.proc is not None and self.proc.popen is not None
        self.proc.kill(signal.SIGKILL)
        self.proc.popen.wait(10)

    def destroy(self) -> None:
        if self.proc is not None:
            self.proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        for path in self.logs:
            path.unlink(missing_ok=True)


class Proxy:
    """A TCP proxy (tests/chaos/proxy.py) in its own process; cut() makes the target unreachable."""

    def __init__(self, target_port: int, host: Host | None = None, port: int = 0) -> None:
        self.host = host
        self.address = "127.0.0.1" if host is None else host.address
        self.port = port or free_port()
        argv = [sys.executable, "-m", "tests.chaos.proxy", str(self.port), str(target_port), self.address]
        self.proc = Process("proxy", argv if host is None else host.wrap(argv), dict(os.environ)).start()
        wait_until(self._accepts, timeout=15, message="proxy listening")

    def _accepts(self) -> bool:
        def connects() -> bool:
            try:
                with socket.create_connection((self.address, self.port), timeout=1):
                    return True
            except OSError:
                return False

        return _on(self.host, connects)

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        self.proc.kill(signal.SIGUSR1)
        wait_until(lambda: not self._accepts(), timeout=5, message="proxy cut")

    def slow_down(self) -> None:
        """Delay what the target sends (tests/chaos/proxy.py: the stand-in for tc netem)."""
        self.proc.kill(signal.SIGHUP)

    def restore(self) -> None:
        self.proc.kill(signal.SIGUSR2)
        wait_until(self._accepts, timeout=5, message="proxy restored")

    def destroy(self) -> None:
        self.proc.stop()
        self.proc.log_path.unlink(missing_ok=True)


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    pids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(p) for p in (task / "children").read_text().split()]
    return pids
