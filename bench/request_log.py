"""What LOG_FORMAT=json and ACCESS_LOG=on cost per request: web/request_log.py around a trivial ASGI app.

    .venv/bin/python bench/request_log.py [--requests 100000]

Neither is installed by default (web/main.py), so the event API's default path pays nothing; this measures
what an operator who turns them on pays. The access line goes to a handler that drops it, so the formatting
and writing of the line (text or JSON, to a pipe) come on top.
"""
import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from web.request_log import RequestLog

SCOPE = {"type": "http", "method": "GET", "path": "/api/event", "client": ("127.0.0.1", 50000),
         "headers": [(b"host", b"track.example.com"), (b"user-agent", b"Mozilla/5.0"), (b"accept", b"*/*")]}


async def bare(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})


async def _send(message: Any) -> None:
    pass


async def _receive() -> Any:
    return {}


async def per_request(app: Any, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await app(SCOPE, _receive, _send)
    return (time.perf_counter() - started) / n * 1e6


async def main(n: int) -> None:
    access = logging.getLogger("tracker.access")
    access.addHandler(logging.NullHandler())
    access.propagate, access.level = False, logging.INFO
    for _ in range(3):
        base = await per_request(bare, n)
        ids = await per_request(RequestLog(bare, access_log=False), n)
        lines = await per_request(RequestLog(bare, access_log=True), n)
        print(f"bare {base:.2f} us; with a request id +{ids - base:.2f} us; with the access line too "
              f"+{lines - base:.2f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().requests))
