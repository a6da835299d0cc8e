"""The tracker spread over simulated hosts, as docs/scaling.md deploys it beyond one machine.

    client  10.77.0.100  the test's load and checks
    db      10.77.0.2    a throwaway PostgreSQL (initdb); with `slow_db_link`, behind tests/chaos/proxy.py
    broker  10.77.0.3    Redis with AOF, or a throwaway RabbitMQ node
    web-a   10.77.0.11   the Procfile's web line (uvicorn, 2 workers)
    web-b   10.77.0.12   the same
    worker-a 10.77.0.21  the Procfile's worker line, and its beat line
    worker-b 10.77.0.22  the Procfile's worker line

Every process runs the Procfile's own command in its host's namespace and binds that host's address; the
settings name the other hosts by address. Nothing is reached through 127.0.0.1.
"""

import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Literal

import httpx

from tests.chaos.services import Postgres, Proxy, Redis
from tests.conftest import service_env
from tests.hosts.network import SUBNET, Host, Network
from tests.hosts.rabbitmq import RabbitMQ
from tests.services import BIN, ROOT, Process, wait_until

WEB_PORT = 8000
# Short, so batches held by a worker cut off come back within the test (production default: 60 s).
VISIBILITY_TIMEOUT = 5
CAMPAIGN_CHECK_SECONDS = 1.0
_ADDRESSES = {"client": 100, "db": 2, "broker": 3, "web-a": 11, "web-b": 12, "worker-a": 21, "worker-b": 22}


def procfile_command(name: str) -> str:
    """The command of one Procfile line, as a shell runs it (honcho and foreman run each line with sh -c)."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        key, _, command = line.partition(":")
        if key.strip() == name:
            return command.strip()
    raise KeyError(f"no {name!r} line in the Procfile")


class Cluster:
    """Started by start(); destroy() stops every process and removes every namespace, in any state."""

    def __init__(self, *, broker: Literal["redis", "rabbitmq"] = "redis", slow_db_link: bool = False) -> None:
        self.broker = broker
        self.slow_db_link = slow_db_link
        self.queue = f"hosts_{uuid.uuid4().hex[:8]}"
        self.tmp = Path(tempfile.mkdtemp(prefix="hosts-"))
        self.net = Network()
        self.hosts: dict[str, Host] = {}
        self.pg: Postgres | None = None
        self.db_link: Proxy | None = None
        self.redis: Redis | None = None
        self.rabbitmq: RabbitMQ | None = None
        self.procs: dict[str, Process] = {}
        self.logs_to_remove: list[Path] = []
        self.env: dict[str, str] = {}

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def url(self, web: str) -> str:
        return f"http://{self[web].address}:{WEB_PORT}"

    @property
    def web_urls(self) -> list[str]:
        return [self.url("web-a"), self.url("web-b")]

    def start(self) -> "Cluster":
        for name, octet in _ADDRESSES.items():
            self.hosts[name] = self.net.add_host(name, octet)
        db = self["db"]
        # With a slow link the proxy takes the database's port on the db host, PostgreSQL the next one.
        self.pg = Postgres(db, port=5433 if self.slow_db_link else 5432)
        self.pg.start()
        if self.slow_db_link:
            self.db_link = Proxy(5433, host=db, port=5432)
            self.logs_to_remove.append(self.db_link.proc.log_path)
        if self.broker == "redis":
            self.redis = Redis(self["broker"])
            self.redis.start()
            brokers = {"REDIS_URL": self.redis.url(), "BROKER_URL": ""}
        else:
            self.rabbitmq = RabbitMQ(self["broker"])
            self.rabbitmq.start()
            # No Redis anywhere: REDIS_URL names a host that does not exist, so any use of it would show.
            brokers = {"REDIS_URL": f"redis://{SUBNET}.254:6379/0", "BROKER_URL": self.rabbitmq.url}
        self.env = service_env(
            DATABASE_URL=f"postgresql+psycopg://postgres@{db.address}:5432/tracker",
            **brokers,
            INGEST_QUEUE=self.queue,
            MAINTENANCE_QUEUE=f"{self.queue}_maintenance",
            BROKER_VISIBILITY_TIMEOUT_SECONDS=str(VISIBILITY_TIMEOUT),
            CAMPAIGN_CHECK_SECONDS=str(CAMPAIGN_CHECK_SECONDS),
            WEB_PORT=str(WEB_PORT),
            WEB_WORKERS="2",
            FORWARDED_ALLOW_IPS=self["client"].address,
            PATH=f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        self.cli("migrate")
        for web in ("web-a", "web-b"):
            self.start_web(web)
        for worker in ("worker-a", "worker-b"):
            self.start_process("worker", worker)
        self.start_process("beat", "worker-a", DATA_DIR=str(self.tmp / "worker-a"))
        for worker in ("worker-a", "worker-b"):
            wait_until(lambda w=worker: self._ready(w), timeout=90, message=f"{worker} ready")
        for web in ("web-a", "web-b"):
            self.wait_for_web(web)
        return self

    def cli(self, *args: str) -> None:
        """`python -m common.cli ...` as an operator runs it on worker-a."""
        subprocess.run(self["worker-a"].wrap([sys.executable, "-m", "common.cli", *args]), env=self.env,
                       cwd=ROOT, check=True, capture_output=True, timeout=120)

    def start_process(self, line: str, host: str, **env: str) -> Process:
        """Run the Procfile's `line` on `host`, bound to the host's address (HOST)."""
        name = host if line != "beat" else f"beat@{host}"
        argv = self[host].wrap(["sh", "-c", procfile_command(line)])
        proc = Process(name, argv, {**self.env, "HOST": self[host].address, **env}).start()
        self.procs[name] = proc
        self.logs_to_remove.append(proc.log_path)
        return proc

    def _ready(self, worker: str) -> bool:
        proc = self.procs[worker]
        if not proc.alive():
            raise AssertionError(f"{worker} exited:\n{proc.log()[-3000:]}")
        return " ready." in proc.log()

    def start_web(self, web: str) -> None:
        self.start_process("web", web)

    def wait_for_web(self, web: str, timeout: float = 60) -> float:
        """Wait until the host's web answers /healthz from the client; returns when it did."""
        url = f"{self.url(web)}/healthz"

        def answers() -> bool:
            return self["client"].call(lambda: httpx.get(url, timeout=2).status_code == 200)

        wait_until(answers, timeout=timeout, interval=0.05, message=f"{web} /healthz")
        return time.monotonic()

    def new_campaign(self, name: str = "Hosts") -> int:
        assert self.pg is not None
        with self.pg.connect() as conn:
            row = conn.execute("INSERT INTO campaigns (name, offer_url) VALUES (%s, 'https://offer.example/') "
                               "RETURNING id", (name,)).fetchone()
        assert row is not None
        return int(row[0])

    def queue_drained(self) -> bool:
        """No batch waits in the queue, none is held unacknowledged, none is recorded as in flight.

        RabbitMQ: none waits (what a worker holds unacknowledged needs rabbitmqctl, seconds a call here).
        """
        if self.rabbitmq is not None:
            return self.rabbitmq.ready_messages(self.queue, self["client"]) == 0
        assert self.redis is not None
        return self.redis.call(lambda client: client.llen(self.queue) == 0 and client.hlen("unacked") == 0
                               and client.zcard(f"{self.queue}.inflight") == 0)

    def logs(self) -> str:
        parts = [f"--- {name} ---\n{proc.log()[-3000:]}" for name, proc in self.procs.items()]
        if self.pg is not None:
            parts.append(f"--- postgres ---\n{self.pg.log()[-2000:]}")
        return "\n".join(parts)

    def destroy(self) -> None:
        for proc in self.procs.values():
            proc.stop()
        if self.db_link is not None:
            self.db_link.destroy()
        if self.redis is not None:
            self.redis.destroy()
        if self.rabbitmq is not None:
            self.rabbitmq.destroy()
        if self.pg is not None:
            self.pg.destroy()
        self.net.destroy()  # whatever is left on a host is killed with it
        shutil.rmtree(self.tmp, ignore_errors=True)
        for path in self.logs_to_remove:
            path.unlink(missing_ok=True)
