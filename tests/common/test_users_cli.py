"""`tracker user list|create|disable|enable|reset-password`, against the dashboard's own sign-in."""
import uuid
from typing import Any

import pytest

from common.cli import main as cli
from common.db import get_session
from common.users import authenticate
from tests.conftest import sign_in


def _can_sign_in(username: str, password: str) -> bool:
    with get_session() as session:
        return authenticate(session=session, username=username, password=password) is not None


@pytest.fixture
def name() -> str:
    return f"carol-{uuid.uuid4().hex[:6]}"


def test_user__create_list_reset_password(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["user", "create", name.upper(), "--password", "first-password"]) == 0
    assert _can_sign_in(name, "first-password")
    assert cli(["user", "list"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith(f"{name}\t")]
    assert len(listed) == 1 and "\tenabled\t0 session(s)" in listed[0]
    assert cli(["user", "reset-password", name, "--password", "second-password"]) == 0
    assert not _can_sign_in(name, "first-password") and _can_sign_in(name, "second-password")


@pytest.mark.parametrize("argv, message", [
    (["user", "create", "{name}", "--password", "short"], "at least 8 characters"),
    (["user", "create", "{taken}", "--password", "long-enough"], "exists"),
    (["user", "reset-password", "{name}", "--password", "long-enough"], "no user"),
    (["user", "disable", "{name}"], "no user"),
    (["user", "enable", "{name}"], "no user"),
])
def test_user__bad_input__exit_2(name: str, dashboard_user: tuple[str, str], argv: list[str], message: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert cli([a.format(name=name, taken=dashboard_user[0]) for a in argv]) == 2
    assert message in capsys.readouterr().out
    assert not _can_sign_in(name, "long-enough")
    assert _can_sign_in(*dashboard_user)  # the taken name's password is unchanged


def test_user__disabled_cannot_sign_in_and_its_sessions_end(name: str, anonymous_client: Any,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["user", "create", name, "--password", "a-password"]) == 0
    assert sign_in(anonymous_client, name, "a-password").status_code == 303
    assert anonymous_client.get("/").status_code == 200

    assert cli(["user", "disable", name]) == 0
    assert "1 session(s) ended" in capsys.readouterr().out
    assert anonymous_client.get("/").status_code == 303  # back to /login
    assert sign_in(anonymous_client, name, "a-password").status_code != 303
    assert cli(["user", "disable", name]) == 0  # idempotent
    assert "already disabled" in capsys.readouterr().out

    assert cli(["user", "enable", name]) == 0
    assert sign_in(anonymous_client, name, "a-password").status_code == 303
