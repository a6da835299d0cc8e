"""The README's `make run`, as a new user runs it: in a fresh clone, with no PORT set, at the documented addresses.

Each test clones the committed HEAD of this checkout (uncommitted changes are not in it) and runs `make run`
there as a subprocess, install included (a new virtualenv from requirements/embedded.txt: about 20 s, the
packages coming from pip's cache). Both need 127.0.0.1:8000 and :5555, the README's addresses, and fail
rather than move elsewhere when another process holds them; nothing else in the suite listens there.
"""

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
import redis

from common.config import Settings
from tests.conftest import TEST_ENV, sign_in
from tests.services import ROOT, free_port, wait_until

# Under pytest-xdist (make test) both tests run in one process, one after the other: both need these addresses.
pytestmark = pytest.mark.xdist_group("readme_addresses")
WEB_URL = "http://127.0.0.1:8000"
FLOWER_URL = "http://127.0.0.1:5555"
# Install, migrations and the four processes' start, on 2 shared cores.
START_TIMEOUT = 240.0


def _new_user_env(**settings: str) -> dict[str, str]:
    """This shell's environment as a new user's: none of the app's settings (PORT above all), no parent make."""
    names = {name.upper() for name in Settings.model_fields} | {"WEB_PORT", "MAKEFLAGS", "MFLAGS", "MAKELEVEL",
                                                                "VIRTUAL_ENV"}
    env = {key: value for key, value in os.environ.items() if key not in names}
    return {**env, **settings}


def _listening(port: int) -> bool:
    try:
        with httpx.Client() as client:
            client.get(f"http://127.0.0.1:{port}/", timeout=1)
        return True
    except httpx.ConnectError:
        return False
    except httpx.HTTPError:
        return True


@dataclass
class MakeRun:
    """`make run` in a clone of its own, in a session of its own (so a Ctrl-C can be sent to its group)."""

    clone: Path
    env: dict[str, str]
    log_path: Path = field(init=False)
    popen: subprocess.Popen[bytes] | None = None
    tree: list[psutil.Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.log_path = self.clone.parent / "make-run.log"

    def start(self) -> "MakeRun":
        for port in (8000, 5555):
            assert not _listening(port), (f"127.0.0.1:{port} is already in use (another `make run`?): this test "
                                          "needs the README's addresses")
        log = self.log_path.open("wb")
        self.popen = subprocess.Popen(["make", "run"], cwd=self.clone, env=self.env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> str:
        """Waits for /healthz at the documented address, then for the addresses printed; returns the log."""
        assert self.popen is not None
        deadline = time.monotonic() + START_TIMEOUT
        status: object = None
        while "Ctrl-C stops everything" not in self.log():
            assert self.popen.poll() is None, f"make run exited ({self.popen.returncode}):\n{self.log()[-4000:]}"
            serving = re.search(r"Uvicorn running on (http://\S+)", self.log())
            assert not serving or serving[1] == WEB_URL, f"the web tier serves at {serving[1]}, not at {WEB_URL}"
            assert time.monotonic() < deadline, (f"no answer from {WEB_URL}/healthz and no addresses printed after "
                                                 f"{START_TIMEOUT:.0f} s (last: {status!r}); log: {self.log_path}")
            try:
                status = httpx.get(f"{WEB_URL}/healthz", timeout=2).status_code
            except httpx.HTTPError as exc:
                status = exc
            time.sleep(0.5)
        assert status == 200 or httpx.get(f"{WEB_URL}/healthz", timeout=2).status_code == 200
        # Every process `make run` started, honcho's children included (they run in sessions of their own).
        self.tree = self._processes()
        return self.log()

    def _processes(self) -> list[psutil.Process]:
        assert self.popen is not None
        try:
            make = psutil.Process(self.popen.pid)
            return [make, *make.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the foreground process group, as a terminal sends it."""
        assert self.popen is not None
        os.killpg(self.popen.pid, signal.SIGINT)
        self.popen.wait(timeout=60)

    def still_running(self) -> list[str]:
        alive = [p for p in self.tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        return [f"{p.pid} {' '.join(p.cmdline())[:120]}" for p in alive]

    def kill(self) -> None:
        """Clean-up after a failure: nothing of this run may outlive the test."""
        for process in [*self.tree, *(self._processes() if self.popen else [])]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


def _clone(tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    return clone


def _read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and line[0] != "#")


@pytest.fixture
def run_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def fresh_clone_run(tmp_path: Path, run_id: str) -> Iterator[MakeRun]:
    """`make run` in a fresh clone against the machine's PostgreSQL and Redis, with a database and queues of its
    own (given as environment variables, as a user may: not PORT)."""
    database = f"tracker_make_run_{run_id}"
    queues = (f"ingest_make_run_{run_id}", f"maintenance_make_run_{run_id}")
    env = _new_user_env(DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}",
                        REDIS_URL=TEST_ENV["REDIS_URL"], INGEST_QUEUE=queues[0], MAINTENANCE_QUEUE=queues[1])
    run = MakeRun(_clone(tmp_path), env)
    yield run
    run.kill()
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    client = redis.Redis.from_url(TEST_ENV["REDIS_URL"])
    client.delete(*queues, *(f"{q}{suffix}" for q in queues for suffix in (".inflight", ".inflight.batches")))


def test_make_run__serves_at_the_readme_addresses_and_stops_on_ctrl_c(fresh_clone_run: MakeRun) -> None:
    run = fresh_clone_run
    assert "PORT" not in run.env
    started = time.monotonic()
    log = run.start().wait_ready()
    ready_seconds = time.monotonic() - started

    # The addresses and the new admin password, printed after the processes' start-up logs.
    banner = log[log.index("dashboard and API"):]
    assert f"dashboard and API  {WEB_URL}" in banner and f"Flower             {FLOWER_URL}" in banner
    # honcho pads its "system" column to the longest process name.
    started_flower = [m.start() for m in re.finditer(r"system +\| flower\.1 started", log)]
    assert started_flower and started_flower[-1] < log.index("dashboard and API")
    assert re.search(r"system +\| webhooks\.1 started", log), "the webhook worker is one of make run's processes"
    password = re.search(r"sign in as admin, password (\S+)", banner)
    assert password, banner
    with httpx.Client(base_url=WEB_URL, timeout=10) as client:
        assert sign_in(client, "admin", password[1]).status_code == 303
    flower_password = _read_env(run.clone / ".env")["FLOWER_PASSWORD"]
    assert httpx.get(FLOWER_URL, timeout=5).status_code == 401
    assert httpx.get(FLOWER_URL, auth=("admin", flower_password), timeout=5).status_code == 200

    run.interrupt()
    assert not run.still_running(), run.still_running()
    for port in (8000, 5555):
        assert not _listening(port), port
    print(f"make run in a fresh clone answered after {ready_seconds:.1f} s")


# --- no PostgreSQL or Redis answering: the embedded servers ------------------------------------------------

def _closed_port() -> int:
    """A port nothing listens on, and neither on the one the embedded Redis takes (10 above it)."""
    while True:
        port = free_port()
        if port + 10 < 65536 and not _listening(port + 10):
            return port


def _embedded_servers(data_dir: Path) -> list[psutil.Process]:
    """The embedded PostgreSQL (with its children) and Redis running from `data_dir`, found by their pid files."""
    servers: list[psutil.Process] = []
    for pidfile in (data_dir / "postgres" / "postmaster.pid", data_dir / "redis" / "redis.pid"):
        try:
            server = psutil.Process(int(pidfile.read_text().split()[0]))
            servers += [server, *server.children(recursive=True)]
        except (FileNotFoundError, psutil.NoSuchProcess):
            pass
    return servers


@pytest.fixture
def embedded_run(tmp_path: Path) -> Iterator[MakeRun]:
    """`make run` in a fresh clone whose .env points at ports where nothing answers. Afterwards the embedded
    servers are stopped (`python -m common.embedded down`) and their data removed; none may be left running."""
    clone = _clone(tmp_path)
    admin_password = secrets.token_urlsafe(12)
    (clone / ".env").write_text(
        f"DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/tracker\n"
        f"REDIS_URL=redis://127.0.0.1:{_closed_port()}/0\n"
        f"FLOWER_PASSWORD={secrets.token_urlsafe(18)}\n"
        "TRACKER_ADMIN_USER=admin\n"
        f"TRACKER_ADMIN_PASSWORD={admin_password}\n"
    )
    run = MakeRun(clone, _new_user_env())
    yield run
    run.kill()
    data_dir = clone / ".data"
    servers = _embedded_servers(data_dir)
    if (clone / ".venv" / "bin" / "python").exists():
        subprocess.run([str(clone / ".venv" / "bin" / "python"), "-m", "common.embedded", "down"], cwd=clone,
                       env=run.env, check=False, timeout=60)
    leftovers = [p for p in servers if p.is_running()]
    for process in leftovers:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    shutil.rmtree(data_dir, ignore_errors=True)
    assert not leftovers, leftovers


def test_make_run__no_servers_answering__embedded_postgres_and_redis(embedded_run: MakeRun) -> None:
    run = embedded_run
    log = run.start().wait_ready()
    assert "starting an embedded one" in log
    embedded = _read_env(run.clone / ".data" / "embedded.env")
    assert str(run.clone / ".data" / "postgres") in embedded["DATABASE_URL"], embedded

    python = str(run.clone / ".venv" / "bin" / "python")
    created = subprocess.run([python, "-m", "common.cli", "create-campaign", "Embedded", "https://offer.example.com/"],
                             cwd=run.clone, env=run.env, capture_output=True, text=True, check=True)
    cid = int(created.stdout.strip().splitlines()[-1])
    with httpx.Client(base_url=WEB_URL, timeout=10) as client:
        stored = client.get("/api/event", params={"cid": cid, "event": "email_click", "email": "jo@gmail.com",
                                                  "domain": "example1.com"},
                            headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
                                                   "Firefox/128.0"})
        assert stored.status_code == 200 and stored.json()["status"] == "ok", stored.text

        admin_password = _read_env(run.clone / ".env")["TRACKER_ADMIN_PASSWORD"]
        assert sign_in(client, "admin", admin_password).status_code == 303

        def counted() -> bool:
            page = client.get(f"/campaign/{cid}")
            assert page.status_code == 200, page.text
            found = re.search(r'id="stat-email-clicks"[^>]*>([^<]*)<', page.text)
            return bool(found) and found[1] == "1"

        wait_until(counted, timeout=30, interval=0.5, message="the event counted on the campaign page")

    servers = _embedded_servers(run.clone / ".data")
    assert len(servers) > 2, servers  # the postmaster, its children, and Redis
    run.interrupt()
    assert not run.still_running(), run.still_running()
    down = subprocess.run([python, "-m", "common.embedded", "down"], cwd=run.clone, env=run.env,
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert not [p for p in servers if p.is_running()], servers
