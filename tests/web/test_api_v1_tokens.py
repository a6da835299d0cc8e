"""API tokens: created by the CLI (printed once, stored hashed), used, listed, expired, revoked; a disabled
user's tokens stop; the per-token rate limit answers 429 with Retry-After, counted in Redis."""
import hashlib
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from common.cli import main as cli
from common.config import Settings
from common.db import get_session
from common.tokens import TokenError, create_token
from common.users import get_by_username, set_active
from tests.web.api_helpers import bearer, new_token, new_user
from web.main import create_app


def test_token_lifecycle__cli_create_use_list_revoke(capsys: pytest.CaptureFixture[str],
                                                     dashboard_app: object, db: psycopg.Connection) -> None:
    username, _ = new_user("editor")
    assert cli(["token", "create", "--user", username, "--scope", "write", "--name", "sheets"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("ctk_") and len(token) > 40
    stored = db.execute("SELECT id, token_hash, scope, name, last_used_at FROM api_tokens WHERE token_hash = %s",
                        (hashlib.sha256(token.encode()).hexdigest(),)).fetchone()
    assert stored is not None and stored[2:] == ("write", "sheets", None)
    assert db.execute("SELECT count(*) FROM api_tokens WHERE token_hash = %s", (token,)).fetchone() == (0,)

    api = TestClient(dashboard_app)  # type: ignore[arg-type]
    assert api.get("/api/v1/campaigns", headers=bearer(token)).status_code == 200
    first_use = db.execute("SELECT last_used_at FROM api_tokens WHERE id = %s", (stored[0],)).fetchone()[0]
    assert first_use is not None
    assert api.get("/api/v1/campaigns", headers=bearer(token)).status_code == 200
    # Recorded at most once a minute: the second request wrote nothing.
    assert db.execute("SELECT last_used_at FROM api_tokens WHERE id = %s", (stored[0],)).fetchone()[0] == first_use

    assert cli(["token", "list"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith(f"{stored[0]}\t")]
    assert listed and username in listed[0] and "sheets" in listed[0] and token not in listed[0]
    assert cli(["token", "list", "--user", username]) == 0
    assert [line.split("\t")[1] for line in capsys.readouterr().out.splitlines()] == [username]
    assert cli(["token", "list", "--user", "nobody-at-all"]) == 2

    assert cli(["token", "revoke", str(stored[0])]) == 0
    assert api.get("/api/v1/campaigns", headers=bearer(token)).status_code == 401
    assert cli(["token", "revoke", str(stored[0])]) == 2


def test_token_create__expiry_is_the_last_day(capsys: pytest.CaptureFixture[str], db: psycopg.Connection) -> None:
    username, _ = new_user("viewer")
    assert cli(["token", "create", "--user", username, "--scope", "read", "--expires", "2099-12-31"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert db.execute("SELECT expires_at FROM api_tokens WHERE token_hash = %s",
                      (hashlib.sha256(token.encode()).hexdigest(),)).fetchone() == (datetime(2100, 1, 1),)
    with pytest.raises(SystemExit) as exit_:
        cli(["token", "create", "--user", username, "--scope", "read", "--expires", "someday"])
    assert exit_.value.code == 2


def test_token_create__refused_cases(capsys: pytest.CaptureFixture[str]) -> None:
    viewer, _ = new_user("viewer")
    assert cli(["token", "create", "--user", viewer, "--scope", "write"]) == 2
    assert "read" in capsys.readouterr().out
    assert cli(["token", "create", "--user", "nobody-at-all", "--scope", "read"]) == 2
    with pytest.raises(SystemExit) as exit_:
        cli(["token", "create", "--user", viewer, "--scope", "admin"])
    assert exit_.value.code == 2
    with get_session() as session:
        user = get_by_username(session=session, username=viewer)
        assert user is not None
        with pytest.raises(TokenError):
            create_token(session=session, user=user, scope="read", expires_at=datetime(2000, 1, 1))
        with pytest.raises(TokenError):
            create_token(session=session, user=user, scope="read", name="x" * 101)


def test_expired_token_and_disabled_user__401(dashboard_app: object, db: psycopg.Connection) -> None:
    api = TestClient(dashboard_app)  # type: ignore[arg-type]
    username, _ = new_user("admin")
    soon = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=2)
    expiring, lasting = new_token(username, "read", expires_at=soon), new_token(username, "read")
    assert api.get("/api/v1/campaigns", headers=bearer(expiring)).status_code == 200
    db.execute("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE expires_at = %s", (soon,))
    assert api.get("/api/v1/campaigns", headers=bearer(expiring)).status_code == 401
    assert api.get("/api/v1/campaigns", headers=bearer(lasting)).status_code == 200
    with get_session() as session:
        user = get_by_username(session=session, username=username)
        assert user is not None
        set_active(session=session, user=user, active=False)
    assert api.get("/api/v1/campaigns", headers=bearer(lasting)).status_code == 401


def test_demoted_user__write_token_only_reads(dashboard_app: object) -> None:
    api = TestClient(dashboard_app)  # type: ignore[arg-type]
    username, _ = new_user("editor")
    token = new_token(username, "write")
    assert api.post("/api/v1/campaigns", json={"name": "ok", "offer_url": "https://o.example/"},
                    headers=bearer(token)).status_code == 201
    assert cli(["user", "set-role", username, "viewer"]) == 0
    assert api.post("/api/v1/campaigns", json={"name": "no", "offer_url": "https://o.example/"},
                    headers=bearer(token)).status_code == 403
    assert api.get("/api/v1/campaigns", headers=bearer(token)).status_code == 200


def test_rate_limit__429_with_retry_after_per_token() -> None:
    app = create_app(Settings(api_rate_limit="3/minute"))
    api = TestClient(app)
    username, _ = new_user("viewer")
    busy, quiet = new_token(username, "read"), new_token(username, "read")
    codes = [api.get("/api/v1/campaigns?page_size=1", headers=bearer(busy)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = api.get("/api/v1/campaigns?page_size=1", headers=bearer(busy))
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    assert r.json() == {"detail": "Too many requests for this token"}
    assert api.get("/api/v1/campaigns?page_size=1", headers=bearer(quiet)).status_code == 200  # per token
    assert api.get("/api/v1/campaigns?page_size=1").status_code == 401  # no token: not counted, refused


def test_rate_limit_setting__refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="API_RATE_LIMIT"):
        Settings(api_rate_limit="lots")


def test_rate_limit__redis_down_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    from tests.services import free_port

    app = create_app(Settings(api_rate_limit="1/minute", redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    api = TestClient(app)
    token = new_token(new_user("viewer")[0], "read")
    codes = [api.get("/api/v1/campaigns?page_size=1", headers=bearer(token)).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    assert "API rate limit not checked" in caplog.text
