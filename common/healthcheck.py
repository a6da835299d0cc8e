"""Container healthchecks (docker-compose.yml): `python -m common.healthcheck web|flower|beat`; exit 0 = healthy.

- web: /healthz answers 200 (the database and the broker are reachable from this process).
- flower: its port answers HTTP at all (401 without credentials is an answer: the checker has none).
- beat: beat has no port, so its schedule file must exist (written once it has started) and the broker must
  answer, without which nothing it schedules is sent.
"""

import argparse
import sys
from pathlib import Path

import httpx


def web(url: str) -> bool:
    return httpx.get(f"{url}/healthz", timeout=3).status_code == 200


def flower(url: str) -> bool:
    httpx.get(url, timeout=3)  # any answer: raises when nothing does
    return True


def beat(schedule: Path) -> bool:
    from common.config import get_settings
    from common.queue import make_celery

    if not list(schedule.parent.glob(f"{schedule.name}*")):  # the shelve backend may add a suffix
        return False
    with make_celery(get_settings()).connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=3)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.healthcheck")
    sub = parser.add_subparsers(dest="service", required=True)
    sub.add_parser("web").add_argument("--url", default="http://127.0.0.1:8000")
    sub.add_parser("flower").add_argument("--url", default="http://127.0.0.1:5555")
    sub.add_parser("beat").add_argument("--schedule", type=Path, default=Path("/tmp/celerybeat-schedule"))
    args = parser.parse_args(argv)
    try:
        healthy = beat(args.schedule) if args.service == "beat" else {"web": web, "flower": flower}[args.service](
            args.url)
    except Exception as exc:  # unhealthy, and say why in `docker inspect`
        print(f"{args.service}: {exc!r}", file=sys.stderr)
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
