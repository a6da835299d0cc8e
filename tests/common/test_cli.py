"""The `tracker` command line against the test database and broker."""
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from common.cli import main as cli
from common.db import get_session
from common.users import authenticate
from tests.conftest import service_env

ROOT = Path(__file__).resolve().parents[2]


def test_create_campaign__prints_id(db: psycopg.Connection, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["create-campaign", "Dog Food US, Wellgreen", "https://wellgreen.com/offer?aff=123"]) == 0
    campaign_id = int(capsys.readouterr().out.strip())
    row = db.execute("SELECT name, offer_url FROM campaigns WHERE id = %s", (campaign_id,)).fetchone()
    assert row == ("Dog Food US, Wellgreen", "https://wellgreen.com/offer?aff=123")


def test_create_campaign__bad_url_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["create-campaign", "X", "javascript:alert(1)"]) == 2
    assert "http" in capsys.readouterr().out




def test_queue__prints_depth(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["queue"]) == 0
    assert capsys.readouterr().out.strip().isdigit()


def test_bootstrap__admin_from_settings() -> None:
    env = service_env(TRACKER_ADMIN_USER="boss", TRACKER_ADMIN_PASSWORD="boss-password-1")
    out = subprocess.run([sys.executable, "-m", "common.cli", "bootstrap"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "'boss' created" in out.stdout or "'boss' updated" in out.stdout
    with get_session() as session:
        assert authenticate(session=session, username="boss", password="boss-password-1") is not None


def test_init_env__writes_secrets_once(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    os.chdir(ROOT)
    assert cli(["init-env", "--path", str(target)]) == 0
    first = target.read_text()
    assert "FLOWER_PASSWORD=" in first and "FLOWER_PASSWORD=\n" not in first
    assert cli(["init-env", "--path", str(target)]) == 0
    assert target.read_text() == first
    assert oct(target.stat().st_mode & 0o777) == "0o600"
