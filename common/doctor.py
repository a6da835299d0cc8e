"""`tracker doctor`: one line per check of what the tracker needs, each ok or what is wrong and how to fix it.

Checks read only: no table, queue or setting is changed. A check that cannot run because a service it needs
is down says so ("skip"): that service's own check has failed already.
"""
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Literal

import redis

from common.config import Settings
from common.db import Conn, connect

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
TESTED_POSTGRES = 15  # docker-compose.yml's image, and the version the tests run on
TESTED_REDIS = 7
MAX_CLOCK_SKEW_SECONDS = 2.0

Status = Literal["ok", "warn", "skip", "FAIL"]


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    status: Status
    message: str

    def __str__(self) -> str:
        return f"{self.status:<4}  {self.check}: {self.message}"


class Unreachable(Exception):
    """A service a check needs cannot be reached (its own check has said why)."""


@dataclass
class Doctor:
    """Runs the checks in order; later checks reuse the connections the earlier ones opened."""

    settings: Settings
    lock: Path = RUNTIME_LOCK
    _db: Conn | None = field(default=None, init=False)

    def findings(self) -> Iterator[Finding]:
        checks: list[tuple[str, Callable[[], Finding]]] = [
            ("settings", self.check_settings), ("packages", self.check_packages),
            ("postgresql", self.check_postgres), ("migrations", self.check_migrations),
            ("autovacuum", self.check_autovacuum), ("beat", self.check_beat), ("statistics", self.check_statistics),
            ("clock", self.check_clock), ("dead letters", self.check_dead_letters),
            ("redis", self.check_redis), ("queue", self.check_queue),
        ]
        for name, check in checks:
            try:
                yield check()
            except Unreachable as exc:
                yield Finding(name, "skip", f"not checked: {exc}")
            except Exception as exc:  # a check must never stop the others
                yield Finding(name, "FAIL", f"{type(exc).__name__}: {exc}")

    # --- the process itself -------------------------------------------------------------------------------

    def check_settings(self) -> Finding:
        s = self.settings
        if s.environment == "production" and s.host not in ("127.0.0.1", "localhost", "::1"):
            return Finding("settings", "warn", f"HOST={s.host}: the web tier listens beyond this host; keep it "
                           "behind your reverse proxy (docs/deployment.md)")
        return Finding("settings", "ok", f"ENVIRONMENT={s.environment}, database {_where(s.database_url)}, "
                       f"broker {_where(s.celery_broker_url)}")

    def check_packages(self) -> Finding:
        wrong = []
        locked = locked_versions(self.lock)
        for name, version in locked.items():
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                wrong.append(f"{name} missing ({version} locked)")
                continue
            if installed != version:
                wrong.append(f"{name} {installed} installed, {version} locked")
        if wrong:
            return Finding("packages", "FAIL", f"{'; '.join(wrong)} ({self.lock.name}): run `make install`, "
                           f"or pip install -r {self.lock}")
        return Finding("packages", "ok", f"{len(locked)} packages as locked in {self.lock.name}")

    # --- PostgreSQL ----------------------------------------------------------------------------------------

    def _conn(self) -> Conn:
        """The connection check_postgres opened."""
        if self._db is None:
            raise Unreachable(f"PostgreSQL at {_where(self.settings.database_url)} unreachable")
        return self._db

    def check_postgres(self) -> Finding:
        try:
            conn = connect(self.settings.database_url)
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return Finding("postgresql", "FAIL", f"cannot connect to {_where(self.settings.database_url)} "
                           f"({reason}): check DATABASE_URL and that PostgreSQL runs (`tracker migrate` creates "
                           "a missing database)")
        self._db = conn
        major = conn.info.server_version // 10000
        version = f"PostgreSQL {major}.{conn.info.server_version % 10000}"
        if major < TESTED_POSTGRES:
            return Finding("postgresql", "warn", f"{version}: the tracker is tested on {TESTED_POSTGRES}; upgrade")
        return Finding("postgresql", "ok", f"{version} at {_where(self.settings.database_url)}")

    def check_migrations(self) -> Finding:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        heads = set(ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_heads())
        conn = self._conn()
        if conn.execute("SELECT to_regclass('alembic_version')").fetchone() == (None,):
            return Finding("migrations", "FAIL", "the database has no schema: run `tracker migrate`")
        current = {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
        if current == heads:
            return Finding("migrations", "ok", f"at head ({', '.join(sorted(heads))})")
        return Finding("migrations", "FAIL", f"at {', '.join(sorted(current)) or 'nothing'}, the code's head is "
                       f"{', '.join(sorted(heads))}: stop worker and beat, run `tracker migrate`, start them "
                       "(docs/operations.md, Upgrades)")

    def check_autovacuum(self) -> Finding:
        from common.maintenance import autovacuum_on

        if autovacuum_on(self._conn()):
            return Finding("autovacuum", "ok", "on (the tracker's maintain_tables job runs as well)")
        return Finding("autovacuum", "ok", "off on this server: the tracker's maintain_tables job (beat) analyses "
                       "and vacuums its own tables; keep beat running")

    def check_beat(self) -> Finding:
        """Beat claims each run of a job in PostgreSQL before sending it (worker/beat.py): the last claim of
        maintain_tables, which runs every MAINTENANCE_INTERVAL_SECONDS, says whether beat runs."""
        from common.maintenance import BEAT_ENTRY

        conn = self._conn()
        if conn.execute("SELECT to_regclass('beat_claims')").fetchone() == (None,):
            raise Unreachable("no beat_claims table (see migrations)")
        row = conn.execute("SELECT extract(epoch FROM now() - max(claimed_at))::float8 FROM beat_claims "
                           "WHERE job = %s", (BEAT_ENTRY,)).fetchone()
        start = "start one (the Procfile's beat line, `make run`, compose's beat service)"
        if row is None or row[0] is None:
            return Finding("beat", "warn", f"no beat has sent a job against this database yet: {start}")
        ago, most = float(row[0]), 3 * self.settings.maintenance_interval_seconds + 10
        if ago > most:
            return Finding("beat", "FAIL", f"beat last sent maintain_tables {ago:.0f} s ago (every "
                           f"{self.settings.maintenance_interval_seconds:g} s when it runs): no beat is running; "
                           f"{start}. Without it nothing analyses the tables or recovers dropped batches")
        return Finding("beat", "ok", f"beat sent maintain_tables {ago:.0f} s ago")

    def check_statistics(self) -> Finding:
        from common.maintenance import INGEST_TABLES, Policy, read_stats

        policy = Policy.of(self.settings)
        stale = [t.name for t in read_stats(self._conn(), INGEST_TABLES)
                 if policy.needs_analyze(t) and policy.plans_are_stale([t])]
        if stale:
            return Finding("statistics", "warn", f"{', '.join(stale)}: never analysed, or grown to twice "
                           "their analysed size: ingest plans afresh until the maintain_tables job analyses them; "
                           "if this stays, beat is not running (start it, or run ANALYZE)")
        return Finding("statistics", "ok", "the ingest tables' statistics are fresh")

    def check_clock(self) -> Finding:
        conn = self._conn()
        before = time.time()
        row = conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
        after = time.time()
        skew = float(row[0]) - (before + after) / 2 if row else 0.0
        if abs(skew) > MAX_CLOCK_SKEW_SECONDS:
            return Finding("clock", "FAIL", f"PostgreSQL's clock is {skew:+.1f} s from this host's: events are "
                           "stamped here and ranges are read there; synchronise both with NTP (chrony, "
                           "systemd-timesyncd)")
        return Finding("clock", "ok", f"PostgreSQL and this host agree within {abs(skew) * 1000:.0f} ms")

    def check_dead_letters(self) -> Finding:
        row = self._conn().execute("SELECT count(*), max(created_at) FROM dead_events").fetchone()
        count = int(row[0]) if row else 0
        if count:
            latest = f"{row[1]:%Y-%m-%d %H:%M}" if row else "?"
            return Finding("dead letters", "FAIL", f"{count} events could not be stored (the latest at {latest} "
                           "UTC): `tracker dead list` shows why; fix the cause, then `tracker dead requeue` "
                           "(docs/operations.md, Dead events)")
        return Finding("dead letters", "ok", "none")

    # --- Redis and the broker ------------------------------------------------------------------------------

    def check_redis(self) -> Finding:
        client = redis.Redis.from_url(self.settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
        try:
            info = client.info("server")
        except redis.RedisError as exc:
            return Finding("redis", "FAIL", f"cannot reach {_where(self.settings.redis_url)} ({exc}): check "
                           "REDIS_URL and that Redis runs")
        version = str(info["redis_version"])
        if int(version.split(".")[0]) < TESTED_REDIS:
            return Finding("redis", "warn", f"Redis {version}: the tracker is tested on {TESTED_REDIS}; upgrade")
        if not self.settings.uses_redis_broker:
            return Finding("redis", "ok", f"Redis {version} (not the broker)")
        return self._redis_durability(client, version)

    def _redis_durability(self, client: redis.Redis, version: str) -> Finding:
        want = {"appendonly": "yes", "appendfsync": "always", "maxmemory-policy": "noeviction"}
        try:
            have = {key: str(next(iter(client.config_get(key).values()), "")) for key in want}
        except redis.RedisError:  # managed Redis often refuses CONFIG
            return Finding("redis", "warn", f"Redis {version}; CONFIG GET refused, so its durability is unknown: "
                           "make sure of " + ", ".join(f"{k} {v}" for k, v in want.items()))
        wrong = [f"{key} is {have[key]}, needs {value}" for key, value in want.items() if have[key] != value]
        if wrong:
            status: Status = "FAIL" if self.settings.environment == "production" else "warn"
            return Finding("redis", status, f"Redis {version} as the broker: {'; '.join(wrong)}; without them a "
                           "Redis restart can lose batches answered ok (docs/operations.md, Broker settings)")
        return Finding("redis", "ok", f"Redis {version}, configured for durability")

    def check_queue(self) -> Finding:
        from common.queue import make_celery, queue_depth

        s = self.settings
        try:
            depth = queue_depth(make_celery(s), s)
        except Exception as exc:
            return Finding("queue", "FAIL", f"cannot read the depth of {s.ingest_queue!r} on "
                           f"{_where(s.celery_broker_url)} ({type(exc).__name__}): check BROKER_URL/REDIS_URL")
        if depth >= s.max_queue_depth:
            return Finding("queue", "FAIL", f"{depth} batches wait in {s.ingest_queue!r}, at MAX_QUEUE_DEPTH: the "
                           "API answers 503; start workers, or more of them (docs/scaling.md)")
        if depth >= s.max_queue_depth // 2:
            return Finding("queue", "warn", f"{depth} batches wait in {s.ingest_queue!r}, over half of "
                           "MAX_QUEUE_DEPTH: are the workers running and keeping up?")
        return Finding("queue", "ok", f"{depth} batches waiting in {s.ingest_queue!r}")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def locked_versions(lock: Path) -> dict[str, str]:
    """name -> version of every package pinned in a pip-compile/uv lock file."""
    pins = (re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", line) for line in lock.read_text().splitlines())
    return {m[1]: m[2] for m in pins if m}


def _where(url: str) -> str:
    """A service URL without its credentials, to print."""
    return re.sub(r"//[^@/]*@", "//", url).split("://", 1)[-1]
