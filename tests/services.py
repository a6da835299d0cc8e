"""Real processes for tests: the web tier (uvicorn), Celery workers, and helpers to wait on them."""
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on a thread of its own: the browser tests' sync Playwright keeps a loop on the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float = 60.0, interval: float = 0.1,
               message: str = "condition") -> None:
    """Poll until predicate() is truthy; fail the test with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as exc:  # the service may still be starting
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last error: {last_error!r})")


class Process:
    """A child process with its output in a log file, stopped (and its group killed) on stop()."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".log")[1])
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> "Process":
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (uvicorn and prefork pools have children)."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.kill(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.popen.wait(5)


def queued_runs(client: Any, queue: str, task: str) -> int:
    """How many messages for `task` wait in a Redis broker's `queue` (a redis.Redis client)."""
    return sum(json.loads(message)["headers"]["task"] == task for message in client.lrange(queue, 0, -1))


def start_web(env: dict[str, str], port: int | None = None, workers: int = 1) -> tuple[Process, str]:
    """uvicorn serving web.main:app; returns (process, base_url) once /healthz answers."""
    port = port or free_port()
    proc = Process("web", [str(BIN / "uvicorn"), "web.main:app", "--host", "127.0.0.1", "--port", str(port),
                           "--workers", str(workers), "--no-access-log",
                           "--http", "web.http_protocol:HttpToolsProtocol"], env).start()  # as the Procfile
    base_url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if not proc.alive():
            raise AssertionError(f"web exited:\n{proc.log()[-3000:]}")
        return httpx.get(f"{base_url}/healthz", timeout=2).status_code in (200, 503)

    wait_until(answers, timeout=30, message="web /healthz")
    return proc, base_url


def start_worker(env: dict[str, str], queue: str, concurrency: int = 1, pool: str = "solo") -> Process:
    """A Celery worker consuming `queue` (by default as the Procfile runs it); returns once it reports ready."""
    return wait_worker_ready(launch_worker(env, queue, concurrency, pool))


def launch_worker(env: dict[str, str], queue: str, concurrency: int = 1, pool: str = "solo") -> Process:
    """start_worker without the wait: the caller starts other processes meanwhile, then wait_worker_ready()."""
    return Process("worker", [str(BIN / "celery"), "-A", "worker.celery_app", "worker", "--queues", queue,
                              "--pool", pool, "--concurrency", str(concurrency), "--loglevel", "INFO",
                              "--without-gossip", "--without-mingle", "--without-heartbeat"], env).start()


def wait_worker_ready(proc: Process) -> Process:
    def ready() -> bool:
        if not proc.alive():
            raise AssertionError(f"worker exited:\n{proc.log()[-3000:]}")
        return " ready." in proc.log()

    wait_until(ready, timeout=60, message="celery worker ready")
    return proc


def stop_all(procs: Iterable[Process | None], timeout: float = 10.0) -> None:
    """Stop processes together: each is asked to stop first, so their shutdowns overlap."""
    running = [proc for proc in procs if proc is not None]
    for proc in running:
        proc.kill(signal.SIGTERM)
    for proc in running:
        proc.stop(timeout)
