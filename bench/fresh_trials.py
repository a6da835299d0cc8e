"""Queue drains on brand-new databases, as `make run` creates them: no statistics, no manual ANALYZE.

    .venv/bin/python bench/fresh_trials.py [--trials 10] [--loads 3] [--seconds 10] [--connections 64]

Each trial creates a never-analysed database, starts a fresh stack on it as the Procfile runs it (web with
2 uvicorn workers, the worker, beat: its maintain_tables job is part of what is measured), then runs
`--loads` wrk loads of `--seconds` each against /api/event and times each drain (bench/stack.py drain:
from the end of the load until the queue is empty and the events count stops growing). It prints each drain
and, at the end, their distribution. The databases, queues and logs are its own and removed afterwards
(logs are kept, in a temporary directory, for a trial whose drain exceeded 5 s); nothing is written into the
repository. Needs wrk (apt-get install wrk) and the yardstick's wrk script (../shared/bench/event.lua, or
EVENT_LUA=).
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.config import get_settings  # noqa: E402
from common.db import libpq_dsn  # noqa: E402
from tests.services import free_port, wait_until  # noqa: E402

BIN = Path(sys.executable).parent
EVENT_LUA = Path(os.environ.get("EVENT_LUA", ROOT.parent / "shared" / "bench" / "event.lua"))
GOAL_SECONDS = 5.0


def _run(argv: list[str], env: dict[str, str]) -> str:
    return subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def _admin_dsn() -> str:
    return libpq_dsn().rsplit("/", 1)[0] + "/postgres"


class Trial:
    """One brand-new database and a stack started on it."""

    def __init__(self, number: int, logs: Path) -> None:
        tag = f"{os.getpid()}_{number}"
        self.database = f"tracker_fresh_trial_{tag}"
        self.port = free_port()
        self.log = logs / f"trial-{number}.log"
        base = get_settings().database_url.rsplit("/", 1)[0]
        self.env = {**os.environ, "DATABASE_URL": f"{base}/{self.database}", "INGEST_QUEUE": f"fresh_{tag}",
                    "MAINTENANCE_QUEUE": f"fresh_{tag}_maintenance", "WEB_PORT": str(self.port),
                    "WEB_WORKERS": "2", "ENVIRONMENT": "development", "DATA_DIR": str(logs / f"data-{number}"),
                    "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
        self.stack: subprocess.Popen[bytes] | None = None

    def start(self) -> int:
        """Create and migrate the database, make a campaign, start web, worker and beat; returns the campaign."""
        _run([sys.executable, "-m", "common.cli", "migrate"], self.env)
        cid = int(_run([sys.executable, "bench/stack.py", "campaign"], self.env).split()[-1])
        with self.log.open("wb") as out:
            self.stack = subprocess.Popen([str(BIN / "honcho"), "start", "web", "worker", "beat"], env=self.env,
                                          cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{self.port}/healthz"
        wait_until(lambda: httpx.get(url, timeout=2).status_code == 200, timeout=60, message="web /healthz")
        wait_until(lambda: " ready." in self.log.read_text(errors="replace"), timeout=60, message="worker ready")
        return cid

    def load(self, cid: int, seconds: int, connections: int) -> str:
        out = _run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(EVENT_LUA),
                    f"http://127.0.0.1:{self.port}/api/event"], {**self.env, "CID": str(cid)})
        return next((line.split()[1] for line in out.splitlines() if line.startswith("rps")), "?")

    def drain(self, cid: int) -> tuple[float, int]:
        """Seconds until the queue is empty and the count stops growing, and the events stored so far."""
        out = _run([sys.executable, "bench/stack.py", "drain", str(cid), "--timeout", "180"], self.env)
        fields = dict(line.split(maxsplit=1) for line in out.splitlines())
        drained = fields["drain_s"]
        return (float("inf") if drained.startswith(">") else float(drained)), int(fields["stored"])

    def maintenance(self) -> str:
        """What the worker's log says the maintain_tables job and the plan guard did during the trial."""
        log = self.log.read_text(errors="replace")
        return (f"{log.count('maintenance: ANALYZE')} ANALYZE, {log.count('maintenance: VACUUM')} VACUUM; "
                f"planned every run {log.count('planned at every run until')}x, "
                f"plan kept again {log.count('its plan may be kept again')}x")

    def stop(self) -> None:
        if self.stack is not None and self.stack.poll() is None:
            os.killpg(self.stack.pid, signal.SIGTERM)
            try:
                self.stack.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.stack.pid, signal.SIGKILL)
                self.stack.wait(5)
        queue = self.env["INGEST_QUEUE"]
        redis.Redis.from_url(get_settings().redis_url).delete(
            queue, f"{queue}.inflight", f"{queue}.inflight.batches", self.env["MAINTENANCE_QUEUE"])
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def _distribution(drains: list[float]) -> str:
    ordered = sorted(drains)
    over = sum(d > GOAL_SECONDS for d in ordered)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return (f"drains {len(ordered)}: min {ordered[0]:.2f} s, median {statistics.median(ordered):.2f} s, "
            f"p90 {p90:.2f} s, max {ordered[-1]:.2f} s; over {GOAL_SECONDS:g} s: {over}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None or not EVENT_LUA.exists():
        print(f"needs wrk (apt-get install wrk) and {EVENT_LUA} (set EVENT_LUA=)", file=sys.stderr)
        return 2
    logs = Path(tempfile.mkdtemp(prefix="fresh-trials-"))
    print(f"machine  {os.cpu_count()} cores; load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}; "
          f"{args.trials} trials x {args.loads} loads of {args.seconds} s; logs {logs}", flush=True)
    drains: list[float] = []
    for number in range(1, args.trials + 1):
        trial = Trial(number, logs)
        slow = False
        try:
            cid = trial.start()
            for load in range(1, args.loads + 1):
                rps = trial.load(cid, args.seconds, args.connections)
                drained, stored = trial.drain(cid)
                drains.append(drained)
                slow |= drained > GOAL_SECONDS
                print(f"trial {number} load {load}: {rps} req/s, drained in {drained:.2f} s "
                      f"({stored} events stored)", flush=True)
            print(f"trial {number} maintenance: {trial.maintenance()}", flush=True)
        finally:
            trial.stop()
            if not slow:
                trial.log.unlink(missing_ok=True)
        time.sleep(1)
    print(_distribution(drains))
    if not any(logs.glob("*.log")):
        shutil.rmtree(logs, ignore_errors=True)
    return 0 if all(d <= GOAL_SECONDS for d in drains) else 1


if __name__ == "__main__":
    sys.exit(main())
