"""`tracker doctor` on real services: a healthy install passes, and each fault it looks for fails its line."""
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from common.config import Settings
from common.db import connect
from common.doctor import Doctor, Finding, locked_versions
from tests.conftest import TEST_ENV, new_database, service_env
from tests.services import ROOT


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """One fresh database for the module: each test undoes the fault it makes."""
    with new_database() as url:
        yield url


@pytest.fixture
def settings(database: str) -> Iterator[Settings]:
    """Settings of the module's database and an ingest queue of this test's own (deleted afterwards)."""
    queue = f"doctor_{uuid.uuid4().hex[:8]}"
    yield Settings(database_url=database, ingest_queue=queue, max_queue_depth=4)
    redis.Redis.from_url(TEST_ENV["REDIS_URL"]).delete(queue)


def findings(settings: Settings, **doctor: object) -> dict[str, Finding]:
    checkup = Doctor(settings, **doctor)  # type: ignore[arg-type]
    try:
        return {f.check: f for f in checkup.findings()}
    finally:
        checkup.close()


def test_doctor__fresh_install__nothing_fails(settings: Settings) -> None:
    found = findings(settings)
    assert set(found) == {"settings", "packages", "postgresql", "migrations", "autovacuum", "beat", "statistics",
                          "clock", "dead letters", "redis", "queue"}
    assert [str(f) for f in found.values() if f.status == "FAIL"] == []
    assert found["migrations"].message.startswith("at head")
    assert found["queue"].message.startswith("0 batches waiting")


def test_doctor__wrong_database_url__fails_and_exits_1() -> None:
    env = service_env(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/no_such_tracker_db")
    run = subprocess.run([sys.executable, "-m", "common.cli", "doctor"], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 1, run.stdout
    lines = run.stdout.splitlines()
    assert any(line.startswith("FAIL  postgresql: cannot connect to 127.0.0.1:5432/no_such_tracker_db") and
               "does not exist" in line for line in lines), run.stdout
    assert any(line.startswith("skip  migrations: not checked") for line in lines), run.stdout
    assert lines[-1].startswith("tracker: ") and "failed" in lines[-1]


def test_doctor__migration_behind__fails_with_the_fix(settings: Settings) -> None:
    with connect(settings.database_url) as conn:
        head = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        conn.execute("UPDATE alembic_version SET version_num = '0009'")
        try:
            migrations = findings(settings)["migrations"]
        finally:
            conn.execute("UPDATE alembic_version SET version_num = %s", (head,))
    assert migrations.status == "FAIL"
    assert f"at 0009, the code's head is {head}" in migrations.message and "tracker migrate" in migrations.message


def test_doctor__beat__never_warns_stopped_fails_running_ok(settings: Settings) -> None:
    assert findings(settings)["beat"].status == "warn"  # a fresh install: no beat has run yet
    claim = ("INSERT INTO beat_claims (job, holder, claimed_at, expires_at) VALUES ('maintain-tables', 'h:1', "
             "now() - make_interval(secs => %s), now()) ON CONFLICT (job) DO UPDATE SET claimed_at = excluded.claimed_at")
    with connect(settings.database_url) as conn:
        try:
            conn.execute(claim, (120,))
            claimed = time.monotonic()
            stopped = findings(settings)["beat"]
            late = time.monotonic() - claimed  # the doctor reads the age a moment later: 121 s on a busy box
            conn.execute(claim, (3,))
            running = findings(settings)["beat"]
        finally:
            conn.execute("DELETE FROM beat_claims")
    age = re.match(r"beat last sent maintain_tables (\d+) s ago", stopped.message)
    assert stopped.status == "FAIL" and age and 120 <= int(age[1]) <= 120 + late + 1, stopped.message
    assert running.status == "ok"


def test_doctor__dead_letter__fails(settings: Settings) -> None:
    with connect(settings.database_url) as conn:
        conn.execute("INSERT INTO dead_events (id, payload, error) VALUES (1, '{}', 'boom')")
        try:
            dead = findings(settings)["dead letters"]
        finally:
            conn.execute("DELETE FROM dead_events")
    assert dead.status == "FAIL" and dead.message.startswith("1 events could not be stored")


def test_doctor__queue_at_max_depth__fails(settings: Settings) -> None:
    redis.Redis.from_url(TEST_ENV["REDIS_URL"]).lpush(settings.ingest_queue, *["{}"] * 4)
    queue = findings(settings)["queue"]
    assert queue.status == "FAIL" and queue.message.startswith("4 batches wait")


def test_doctor__redis_down__fails_redis_and_queue(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    found = findings(down)
    assert found["redis"].status == "FAIL" and "cannot reach 127.0.0.1:1/0" in found["redis"].message
    assert found["queue"].status == "FAIL"
    assert found["postgresql"].status == "ok"


def test_doctor__package_not_as_locked__fails(settings: Settings, tmp_path: Path) -> None:
    lock = tmp_path / "runtime.txt"
    lock.write_text("kombu==0.0.1 \\\n    --hash=sha256:00\nno-such-package-xyz==1.0 \\\n    --hash=sha256:00\n")
    assert locked_versions(lock) == {"kombu": "0.0.1", "no-such-package-xyz": "1.0"}
    packages = findings(settings, lock=lock)["packages"]
    assert packages.status == "FAIL"
    assert "kombu 5." in packages.message and "installed, 0.0.1 locked" in packages.message
    assert "no-such-package-xyz missing (1.0 locked)" in packages.message


def test_doctor__clock_skew__fails(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # This host's clock made 10 s fast (PostgreSQL's clock cannot be moved from here).
    real = time.time
    monkeypatch.setattr("common.doctor.time.time", lambda: real() + 10)
    clock = findings(settings)["clock"]
    assert clock.status == "FAIL" and "PostgreSQL's clock is -10." in clock.message


def test_doctor__stale_statistics__warns(settings: Settings) -> None:
    with connect(settings.database_url) as conn:
        conn.execute("INSERT INTO campaigns (id, name, offer_url) VALUES (1, 'c', 'https://o.example/')")
        conn.execute("INSERT INTO events (id, campaign_id, event_type, email, domain, created_at) "
                     "SELECT g, 1, 'email_click', 'u' || g || '@x.com', 'x.com', now() FROM generate_series(1, 2000) g")
        conn.execute("SELECT pg_stat_force_next_flush()")
        try:
            statistics = findings(settings)["statistics"]
        finally:
            conn.execute("TRUNCATE events, campaigns CASCADE")
            conn.execute("ANALYZE events")
    assert statistics.status == "warn" and statistics.message.startswith("events: never analysed")

