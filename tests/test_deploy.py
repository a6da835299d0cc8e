"""The deployment descriptions: docker-compose.yml, Procfile and .env.example agree with the app."""

import fnmatch
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import yaml

from common.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _procfile() -> dict[str, str]:
    return dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())


def test_compose__services_with_healthchecks() -> None:
    services = _compose()["services"]
    assert set(services) >= {"postgres", "redis", "init", "migrate", "web", "worker", "webhooks", "beat", "flower"}
    for name in ("postgres", "redis", "web", "worker", "webhooks", "beat", "flower"):
        assert "healthcheck" in services[name], name
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "appendfsync" in " ".join(services["redis"]["command"])


def test_compose__secrets_generated_once_before_any_service_needs_them() -> None:
    """Flower refuses an empty password (exit 2, restarted forever): `init` generates what .env leaves empty."""
    services = _compose()["services"]
    assert services["init"]["command"][-3:] == ["init-env", "--path", "/run/tracker/secrets.env"]
    assert services["init"]["restart"] == "no" and services["init"]["volumes"] == ["secrets:/run/tracker"]
    for name in ("migrate", "beat", "flower"):
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully", name
    for name in ("migrate", "web", "worker", "webhooks", "beat", "flower"):
        assert services[name]["volumes"] == ["secrets:/run/tracker:ro"], name  # read by the entry point


def test_compose__private_by_default() -> None:
    compose = _compose()
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)
    web = compose["services"]["web"]
    assert '--forwarded-allow-ips "$${FORWARDED_ALLOW_IPS}"' in web["command"][-1], web["command"]
    assert "'*'" not in web["command"][-1]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert web["environment"]["FORWARDED_ALLOW_IPS"] == subnet == "${TRACKER_SUBNET:-172.30.53.0/24}"


def test_dockerfile__locked_runtime_set_and_the_source_tree() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir --require-hashes -r /tmp/runtime.txt" in dockerfile
    assert "COPY requirements/runtime.txt" in dockerfile
    assert "pip install ." not in dockerfile and "pip install -e" not in dockerfile  # runs from /app as it is
    assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in dockerfile and "USER tracker" in dockerfile
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".data", ".venv", "**/__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"} <= ignored


def test_procfile__release_web_worker_webhooks_beat_flower_metrics() -> None:
    entries = _procfile()
    assert set(entries) == {"release", "web", "worker", "webhooks", "beat", "flower", "metrics"}
    # The webhook sender consumes its own queue only: a slow receiver never holds up an ingest batch.
    assert "--queues ${WEBHOOK_QUEUE:-webhooks} " in entries["webhooks"] and "webhooks" not in entries["worker"]
    assert "maintenance" in entries["worker"] and "beat" in entries["beat"]
    assert "bootstrap" in entries["release"]
    # honcho sets PORT=5000 for the first process: `make run` passes the configured port as WEB_PORT, and a
    # platform that sets only PORT still gets its own.
    assert "--port ${WEB_PORT:-${PORT:-8000}}" in entries["web"]
    assert "celery" in entries["worker"] and "flower" in entries["flower"]
    assert "common.cli metrics" in entries["metrics"]


def test_env_example__documents_every_setting() -> None:
    documented = {
        line.split("=", 1)[0].lower()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert set(Settings.model_fields) <= documented, set(Settings.model_fields) - documented


def test_beat_schedule__retention_routed_to_maintenance_queue() -> None:
    from common.config import settings
    from common.queue import RETENTION_TASK
    from worker.celery_app import app

    assert any(entry["task"] == RETENTION_TASK for entry in app.conf.beat_schedule.values())
    assert app.amqp.router.route({}, RETENTION_TASK)["queue"].name == settings.maintenance_queue


def test_beat_schedule__webhooks_polled_on_their_own_queue() -> None:
    from common.config import settings
    from common.queue import WEBHOOK_TASK
    from worker.celery_app import app

    entry = next(e for e in app.conf.beat_schedule.values() if e["task"] == WEBHOOK_TASK)
    assert entry["schedule"] == settings.webhook_poll_seconds
    assert app.amqp.router.route({}, WEBHOOK_TASK)["queue"].name == settings.webhook_queue


def test_procfile_beat__starts_in_a_fresh_checkout(tmp_path: Path) -> None:
    """`make run` on a new machine: the data folder does not exist yet, and beat must not die over its schedule
    file (honcho would stop the whole stack with it)."""
    import os
    import signal
    import subprocess
    import time

    from tests.conftest import service_env
    from tests.services import BIN

    entries = _procfile()
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


# --- the image's command lines, run from the source tree as the Dockerfile lays it out -------------------------

def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's interpolation: ${NAME:-default} from the variables (compose reads them from .env), $$ for $."""
    value = value.replace("$$", "\0")
    value = re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: variables.get(m[1]) or m[2] or "", value)
    return value.replace("\0", "$")


def _image_tree(target: Path) -> Path:
    """The files `COPY . .` puts in /app: the checkout's, less what .dockerignore keeps out."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in patterns:  # the last matching line decides; `!` lets a file back in
            negated, pattern = pattern.startswith("!"), pattern.lstrip("!")
            parts = Path(path).parts
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
            if any(fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
                   or fnmatch.fnmatch(Path(prefix).name, pattern.removeprefix("**/")) for prefix in prefixes):
                verdict = not negated
        return verdict

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if not ignored(name) and (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def test_dockerignore__keeps_secrets_and_local_state_out(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    _image_tree(app)
    assert (app / ".env.example").exists() and (app / "templates" / "base.html").exists()
    assert (app / "alembic.ini").exists() and list((app / "migrations" / "versions").glob("0001_*.py"))
    assert list((app / "common" / "data").glob("*.json")) and (app / "web" / "static" / "app.css").exists()


def test_image__first_start_from_the_source_tree(tmp_path: Path) -> None:
    """`cp .env.example .env && docker compose up`, without Docker: the compose services' command lines, through
    the image's entry point, in a copy of what the image holds, against a database of the test's own."""
    import httpx
    import psycopg

    from tests.conftest import TEST_ENV, sign_in
    from tests.services import BIN, free_port, wait_until

    compose = _compose()
    app = _image_tree(tmp_path / "app")
    secrets_file = tmp_path / "run" / "secrets.env"
    secrets_file.parent.mkdir()
    database = f"tracker_image_{uuid.uuid4().hex[:8]}"
    dotenv = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                  if "=" in line and not line.startswith("#"))
    environment = {name: _interpolate(str(value), dotenv) for name, value in compose["x-app"]["environment"].items()}
    settings = {name.upper() for name in Settings.model_fields}
    env = {
        **{key: value for key, value in os.environ.items() if key not in settings},
        **dotenv,  # env_file: .env
        **environment,
        # The hosts `postgres` and `redis` are the test's services here.
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": TEST_ENV["REDIS_URL"],
        "INGEST_QUEUE": TEST_ENV["INGEST_QUEUE"],
        "MAINTENANCE_QUEUE": TEST_ENV["MAINTENANCE_QUEUE"],
        "PATH": f"{BIN}:{os.environ['PATH']}",  # the image's python, uvicorn and celery
        "PYTHONPATH": str(app),  # the Dockerfile's ENV
        "TRACKER_SECRETS_FILE": str(secrets_file),
    }
    assert env["FLOWER_PASSWORD"] == ""  # .env.example leaves it to `init`
    entrypoint = [str(app / "docker" / "entrypoint.sh")]

    def command(service: str, port: int | None = None) -> list[str]:
        argv = [_interpolate(part, dotenv) for part in compose["services"][service]["command"]]
        if port is not None:  # the published port is the suite's to keep free; the command line is the same
            argv = [str(port) if previous == "--port" else re.sub(r"--port (8000|5555)\b", f"--port {port}", part)
                    for previous, part in zip(["", *argv], argv, strict=False)]
            assert str(port) in " ".join(argv), argv
        return entrypoint + argv

    processes: list[subprocess.Popen[bytes]] = []
    try:
        init = command("init")
        init[-1] = str(secrets_file)
        subprocess.run(init, cwd=app, env=env, check=True, capture_output=True)
        generated = dict(line.split("=", 1) for line in secrets_file.read_text().splitlines() if "=" in line)
        assert len(generated["FLOWER_PASSWORD"]) >= 16

        migrate = subprocess.run(command("migrate"), cwd=app, env=env, capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        password = re.search(r"tracker:     (\S+)", migrate.stdout)  # `docker compose logs migrate` shows it
        assert "created dashboard user 'admin'" in migrate.stdout and password, migrate.stdout

        web_port, flower_port = free_port(), free_port()
        for service, port in (("web", web_port), ("flower", flower_port)):
            processes.append(subprocess.Popen(command(service, port), cwd=app, env=env, start_new_session=True,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        web_url, flower_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{flower_port}"

        def up(url: str) -> bool:
            assert all(p.poll() is None for p in processes), [p.returncode for p in processes]
            return httpx.get(url, timeout=2).status_code in (200, 401)

        wait_until(lambda: up(f"{web_url}/healthz"), timeout=60, message="the image's web command")
        wait_until(lambda: up(flower_url), timeout=60, message="the image's flower command")
        with httpx.Client(base_url=web_url, timeout=10) as client:
            wait_until(lambda: client.get("/healthz").status_code == 200, timeout=30, message="healthz 200")
            assert sign_in(client, "admin", password[1]).status_code == 303  # templates, session, secret key
            assert client.get("/").status_code == 200
            assert client.get("/static/app.css").status_code == 200
        # The generated password is Flower's: no exit 2, no restart loop.
        assert httpx.get(flower_url, timeout=5).status_code == 401
        assert httpx.get(flower_url, auth=("admin", generated["FLOWER_PASSWORD"]), timeout=5).status_code == 200
        for service, url in (("web", web_url), ("flower", flower_url)):
            check = [*compose["services"][service]["healthcheck"]["test"][1:], "--url", url]
            assert subprocess.run(check, cwd=app, env=env, timeout=30).returncode == 0, service
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_entrypoint__a_value_in_env_wins_over_the_generated_one(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("# generated\nFLOWER_PASSWORD=generated-password\nFLOWER_USER=generated-user\n")
    env = {"PATH": os.environ["PATH"], "TRACKER_SECRETS_FILE": str(secrets_file), "FLOWER_PASSWORD": "",
           "FLOWER_USER": "set-in-dotenv"}
    shown = subprocess.run([str(ROOT / "docker" / "entrypoint.sh"), "sh", "-c", 'echo "$FLOWER_PASSWORD $FLOWER_USER"'],
                           env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.split() == ["generated-password", "set-in-dotenv"]


def test_healthcheck_beat__schedule_written_and_broker_answers(tmp_path: Path) -> None:
    from tests.conftest import service_env

    def check(schedule: Path, **env: str) -> int:
        argv = [sys.executable, "-m", "common.healthcheck", "beat", "--schedule", str(schedule)]
        return subprocess.run(argv, cwd=ROOT, env=service_env(**env), capture_output=True, timeout=60).returncode

    schedule = tmp_path / "celerybeat-schedule"
    assert check(schedule) == 1  # beat has not started
    schedule.with_suffix(".db").write_bytes(b"")
    assert check(schedule) == 0
    assert check(schedule, REDIS_URL="redis://127.0.0.1:1/0") == 1  # the broker does not answer
