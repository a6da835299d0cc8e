"""The whole tracker on throwaway services, as the Procfile runs it: Postgres, a broker, web (2 uvicorn
workers), a Celery worker on the ingest and maintenance queues, and beat."""

import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Literal

import psycopg
from kombu import Connection

from common.db import ensure_database
from tests.chaos.services import Postgres, Proxy, Redis, child_pids
from tests.conftest import migrate, service_env
from tests.services import (
    BIN,
    Process,
    launch_worker,
    start_web,
    start_worker,
    stop_all,
    wait_until,
    wait_worker_ready,
)

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
# Short, so the batches a killed worker held come back within the test (production default: 60 s).
VISIBILITY_TIMEOUT = 5

Broker = Literal["redis", "rabbitmq"]


class Stack:
    """Started by start(); destroy() stops whatever was started, in any state."""

    def __init__(self, broker: Broker = "redis", *, web_through_proxy: bool = False) -> None:
        self.broker = broker
        self.web_through_proxy = web_through_proxy
        self.queue = f"chaos_{uuid.uuid4().hex[:8]}"
        self.maintenance_queue = f"{self.queue}_maintenance"
        self.tmp = Path(tempfile.mkdtemp(prefix="chaos-stack-"))
        self.pg: Postgres | None = None
        self.redis: Redis | None = None
        self.proxy: Proxy | None = None
        self.worker: Process | None = None
        self.beat: Process | None = None
        self.logs_to_remove: list[Path] = []  # of every process started, killed ones included
        self.web: Process | None = None
        self.base_url = ""
        self.env: dict[str, str] = {}
        self.campaign_id = 0

    def start(self) -> "Stack":
        self.pg = Postgres()
        self.pg.start()
        overrides = {
            "DATABASE_URL": self.pg.url,
            "INGEST_QUEUE": self.queue,
            "MAINTENANCE_QUEUE": self.maintenance_queue,
            "BROKER_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT),
        }
        if self.broker == "redis":
            self.redis = Redis()
            self.redis.start()
            overrides |= {"REDIS_URL": self.redis.url(), "BROKER_URL": ""}
        else:
            overrides |= {"BROKER_URL": RABBITMQ_URL}
        self.env = service_env(**overrides)
        ensure_database(self.pg.url)  # as `tracker migrate` does, here in this process
        migrate(self.pg.url)
        with self.pg.connect() as conn:
            row = conn.execute(
                "INSERT INTO campaigns (name, offer_url) "
                "VALUES ('Chaos', 'https://offer.example/') RETURNING id"
            ).fetchone()
            assert row is not None
            self.campaign_id = int(row[0])
        # The worker, beat and web start together; the worker's readiness is awaited once web answers.
        self.worker = launch_worker(self.env, self.queues)
        self.logs_to_remove.append(self.worker.log_path)
        self.beat = Process(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "worker.celery_app",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.tmp / "celerybeat-schedule"),
            ],
            self.env,
        ).start()
        self.logs_to_remove.append(self.beat.log_path)
        web_env = self.env
        if self.web_through_proxy:
            assert self.redis is not None
            self.proxy = Proxy(self.redis.port)
            web_env = {**self.env, "REDIS_URL": f"redis://127.0.0.1:{self.proxy.port}/0"}
        self.web, self.base_url = start_web(web_env, workers=2)
        self.logs_to_remove.append(self.web.log_path)
        wait_until(lambda: len(self.web_worker_pids()) == 2, timeout=30, message="2 web workers")
        wait_worker_ready(self.worker)
        return self

    # --- faults ---

    def kill_worker(self) -> float:
        """kill -9 the Celery worker (its whole process group); returns when it died."""
        assert self.worker is not None and self.worker.popen is not None
        self.worker.kill(signal.SIGKILL)
        self.worker.popen.wait(10)
        return time.monotonic()

    @property
    def queues(self) -> str:
        return f"{self.queue},{self.maintenance_queue}"

    def start_worker(self) -> None:
        self.worker = start_worker(self.env, self.queues)
        self.logs_to_remove.append(self.worker.log_path)

    def web_worker_pids(self) -> list[int]:
        """uvicorn's worker processes (children of the supervisor started with multiprocessing spawn)."""
        assert self.web is not None
        return [pid for pid in child_pids(self.web.pid) if b"spawn_main" in _cmdline(pid)]

    def busiest_web_worker(self) -> int:
        """The web worker that used the most CPU: the kernel may hand all keep-alive connections to one."""
        return max(self.web_worker_pids(), key=_cpu_ticks)

    # --- state ---

    def queue_drained(self) -> bool:
        """No batch waits in the queue, none is held unacknowledged, none is recorded as in flight."""
        if self.broker == "redis":
            assert self.redis is not None
            with self.redis.client() as client:
                return (
                    client.llen(self.queue) == 0
                    and client.hlen("unacked") == 0
                    and client.zcard(f"{self.queue}.inflight") == 0
                )
        # `messages` counts the ready and the unacknowledged ones.
        return self._rabbitmq_queue_info("messages") == "0"

    def rabbitmq_queue_durable(self) -> bool:
        return self._rabbitmq_queue_info("durable") == "true"

    def _rabbitmq_queue_info(self, column: str) -> str | None:
        rows = (line.split() for line in _list_rabbitmq_queues("name", column).splitlines())
        return next((row[1] for row in rows if len(row) == 2 and row[0] == self.queue), None)

    def logs(self) -> str:
        procs = (self.web, self.worker, self.beat)
        parts = [f"--- {p.name} ---\n{p.log()[-4000:]}" for p in procs if p is not None]
        if self.pg is not None:
            parts.append(f"--- postgres ---\n{self.pg.log()[-2000:]}")
        if self.broker == "rabbitmq":
            # Ready, unacknowledged and consumers: tells a stuck consumer from a lost message.
            columns = ("name", "messages_ready", "messages_unacknowledged", "consumers")
            parts.append(f"--- rabbitmq queues ---\n{_list_rabbitmq_queues(*columns)}")
        parts.append(f"--- database sessions ---\n{self._pg_activity()}")
        if self.worker is not None and self.worker.alive() and shutil.which("py-spy"):
            dump = subprocess.run(["py-spy", "dump", "--pid", str(self.worker.pid)],
                                  capture_output=True, text=True, timeout=30)
            parts.append(f"--- worker stack (py-spy) ---\n{dump.stdout}{dump.stderr}")
        return "\n".join(parts)

    def _pg_activity(self) -> str:
        """What each database session is doing: a worker stuck on a lock shows here."""
        if self.pg is None:
            return ""
        try:
            with self.pg.connect() as conn:
                rows = conn.execute(
                    "SELECT pid, application_name, state, wait_event_type, wait_event, "
                    "now() - state_change, left(query, 120) FROM pg_stat_activity "
                    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                ).fetchall()
        except psycopg.Error as exc:
            return f"(not available: {exc})"
        return "\n".join(" | ".join(str(v) for v in row) for row in rows)

    def destroy(self) -> None:
        stop_all((self.web, self.beat, self.worker))
        if self.proxy is not None:
            self.proxy.destroy()
        if self.redis is not None:
            self.redis.destroy()
        if self.broker == "rabbitmq":
            with Connection(RABBITMQ_URL, connect_timeout=5) as conn:
                for queue in (self.queue, self.maintenance_queue):
                    conn.default_channel.queue_delete(queue)
        if self.pg is not None:
            self.pg.destroy()
        shutil.rmtree(self.tmp, ignore_errors=True)
        for path in self.logs_to_remove:  # a failed test printed them already
            path.unlink(missing_ok=True)


def _list_rabbitmq_queues(*columns: str) -> str:
    return subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", *columns], capture_output=True, text=True, check=True, timeout=30
    ).stdout


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
