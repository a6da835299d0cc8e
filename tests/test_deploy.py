"""The deployment descriptions: docker-compose.yml, Procfile and .env.example agree with the app."""

from pathlib import Path

import yaml

from common.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_compose__services_with_healthchecks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"postgres", "redis", "migrate", "web", "worker", "beat", "flower"}
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "appendfsync" in " ".join(services["redis"]["command"])


def test_procfile__release_web_worker_beat_flower() -> None:
    entries = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert set(entries) == {"release", "web", "worker", "beat", "flower"}
    assert "maintenance" in entries["worker"] and "beat" in entries["beat"]
    assert "bootstrap" in entries["release"]
    assert "$PORT" in entries["web"] or "${PORT" in entries["web"]
    assert "celery" in entries["worker"] and "flower" in entries["flower"]


def test_env_example__documents_every_setting() -> None:
    documented = {
        line.split("=", 1)[0].lower()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert set(Settings.model_fields) <= documented, set(Settings.model_fields) - documented


def test_beat_schedule__retention_routed_to_maintenance_queue() -> None:
    from common.config import settings
    from common.queue import RETENTION_TASK, celery_app
    from worker.celery_app import app

    assert any(entry["task"] == RETENTION_TASK for entry in app.conf.beat_schedule.values())
    assert celery_app.amqp.router.route({}, RETENTION_TASK)["queue"].name == settings.maintenance_queue


def test_procfile_beat__starts_in_a_fresh_checkout(tmp_path: Path) -> None:
    """`make run` on a new machine: the data folder does not exist yet, and beat must not die over its schedule
    file (honcho would stop the whole stack with it)."""
    import os
    import signal
    import subprocess
    import time

    from tests.conftest import service_env
    from tests.services import BIN

    entries = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    data_dir = tmp_path / "not-there-yet"
    env = service_env(DATA_DIR=str(data_dir), PATH=f"{BIN}:{os.environ['PATH']}")
    beat = subprocess.Popen(["bash", "-c", entries["beat"].strip()], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not list(data_dir.glob("celerybeat-schedule*")) and beat.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert beat.poll() is None, beat.stderr.read().decode()[-2000:] if beat.stderr else ""
        assert list(data_dir.glob("celerybeat-schedule*")), "beat wrote no schedule file"
    finally:
        os.killpg(beat.pid, signal.SIGTERM)
        beat.wait(timeout=30)
