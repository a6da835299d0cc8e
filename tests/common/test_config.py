"""Settings: no secret has a usable default in production; broker options follow the settings."""

import subprocess

import pytest
from pydantic import ValidationError

from common.config import Settings
from common.queue import make_celery
from tests.conftest import service_env
from tests.services import BIN, ROOT


def test_development__empty_flower_password_allowed() -> None:
    assert Settings(environment="development", flower_password="").flower_password == ""


def test_production__empty_flower_password_refused() -> None:
    with pytest.raises(ValidationError, match="FLOWER_PASSWORD"):
        Settings(environment="production", flower_password="")


def test_production__real_secrets_accepted() -> None:
    s = Settings(environment="production", flower_password="flower-pw")
    assert s.environment == "production"


@pytest.mark.parametrize(
    "argv",
    [
        [str(BIN / "uvicorn"), "web.main:app", "--host", "127.0.0.1", "--port", "0"],
        [str(BIN / "celery"), "-A", "worker.celery_app", "worker", "--queues", "never-consumed"],
    ],
    ids=["web", "worker"],
)
def test_production__web_and_worker_refuse_to_start_without_a_flower_password(argv: list[str]) -> None:
    env = service_env(ENVIRONMENT="production", FLOWER_PASSWORD="")
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "FLOWER_PASSWORD" in done.stdout + done.stderr


def test_redis_broker__unacked_batches_looked_for_within_the_visibility_timeout() -> None:
    """Kombu's own sweep period (10 s x every 10th call) would leave a killed worker's batch for ~100 s."""
    app = make_celery(Settings(broker_url="", broker_visibility_timeout_seconds=60))
    options = app.conf.broker_transport_options
    assert options["visibility_timeout"] == 60
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 60
    assert options["unacked_mutex_expire"] <= 60


def test_rabbitmq_broker__publisher_confirms() -> None:
    app = make_celery(Settings(broker_url="amqp://guest:guest@127.0.0.1:5672//"))
    assert app.conf.broker_transport_options == {"confirm_publish": True}
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost


def test_dashboard_timezone__an_iana_name_or_a_clear_error() -> None:
    assert Settings(dashboard_timezone="Europe/Berlin").timezone.key == "Europe/Berlin"
    for wrong in ("Mars/Olympus", "EST+5", "../etc/passwd"):
        with pytest.raises(ValidationError, match="DASHBOARD_TIMEZONE: unknown time zone"):
            Settings(dashboard_timezone=wrong)
