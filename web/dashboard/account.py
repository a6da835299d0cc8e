"""The signed-in user's own settings: API tokens (created and shown once, listed, revoked) and password; and,
for admins, the users page (create, change role, disable, reset a password). Forms post back and are
redirected (303) with a short notice, so a reload never posts twice; an error re-renders the form (422)."""
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from common.models import User
from common.roles import ROLES, Permission, scopes_for
from common.tokens import TokenError, create_token, list_tokens, revoke_token
from common.users import (
    UserError,
    check_password,
    get_by_username,
    get_user,
    list_users,
    set_active,
    set_password,
    set_role,
    upsert_user,
)
from web.dashboard.auth import ADMIN, ADMIN_PAGE, OWN, CurrentUser, current_user
from web.dashboard.deps import DbSession
from web.dashboard.render import render, secured
from web.dashboard.timing import TimedRoute

router = APIRouter(dependencies=[Depends(current_user)], include_in_schema=False, route_class=TimedRoute)

FormText = Annotated[str, Form(max_length=4096)]
# What a redirect after a successful POST says (?done=<key>): fixed texts, nothing from the URL is shown.
NOTICES = {
    "password": "Your password was changed. Your other sessions were signed out.",
    "revoked": "The token was revoked.",
    "created": "The user was created.",
    "role": "The role was changed.",
    "disabled": "The user was disabled and signed out everywhere; their tokens no longer work.",
    "enabled": "The user was enabled.",
    "reset": "The password was reset; the user was signed out everywhere.",
}
Done = Annotated[str | None, Query(max_length=20)]


def _done(url: str, key: str) -> Response:
    return secured(RedirectResponse(f"{url}?done={key}", status_code=303))


def _settings_page(request: Request, session: DbSession, user: CurrentUser, *, status_code: int = 200,
                   **extra: Any) -> Response:
    admin = user.can(Permission.ADMIN)
    return render(request, "settings.html", {
        "tokens": list_tokens(session=session, user_id=None if admin else user.user_id),
        "all_tokens": admin,
        "scopes": scopes_for(user.role),
        "notice": NOTICES.get(extra.pop("done", None) or ""),
        "new_token": None, "token_error": None, "password_error": None, **extra,
    }, status_code=status_code)


@router.get("/settings")
def settings_page(request: Request, session: DbSession, user: CurrentUser, done: Done = None) -> Response:
    return _settings_page(request, session, user, done=done)


def _expiry(day: str) -> datetime | None:
    """The last day a token works (a date field), as the moment it stops: the next midnight, UTC."""
    if not day.strip():
        return None
    return datetime.combine(date.fromisoformat(day.strip()), time()) + timedelta(days=1)


@router.post("/settings/tokens", dependencies=OWN)
def create_own_token(request: Request, session: DbSession, user: CurrentUser, name: FormText = "",
                     scope: FormText = "read", expires: FormText = "") -> Response:
    """Create a token for the signed-in user; the page shows it once."""
    owner = get_user(session=session, user_id=user.user_id)
    assert owner is not None  # signed in: the user exists
    try:
        _, token = create_token(session=session, user=owner, scope=scope, name=name, expires_at=_expiry(expires))
    except (TokenError, ValueError) as exc:
        session.rollback()
        message = str(exc) if isinstance(exc, TokenError) else "The expiry must be a date (YYYY-MM-DD)."
        return _settings_page(request, session, user, status_code=422, token_error=message)
    session.commit()
    return _settings_page(request, session, user, status_code=201, new_token=token)


@router.post("/settings/tokens/{token_id:int}/revoke", dependencies=OWN)
def revoke(session: DbSession, user: CurrentUser, token_id: int) -> Response:
    """Revoke one of the user's tokens (an admin: anyone's)."""
    revoke_token(session=session, token_id=token_id,
                 user_id=None if user.can(Permission.ADMIN) else user.user_id)
    session.commit()
    return _done("/settings", "revoked")


@router.post("/settings/password", dependencies=OWN)
def change_password(request: Request, session: DbSession, user: CurrentUser, current: FormText = "",
                    new: FormText = "", confirm: FormText = "") -> Response:
    me = get_user(session=session, user_id=user.user_id)
    assert me is not None
    error = None
    if not check_password(user=me, password=current):
        error = "Your current password is not right."
    elif new != confirm:
        error = "The new password and its confirmation differ."
    else:
        try:
            set_password(session=session, user=me, password=new, keep_session=user.token_hash)
        except UserError as exc:
            error = f"The new {exc}."
    if error:
        session.rollback()
        return _settings_page(request, session, user, status_code=422, password_error=error)
    session.commit()
    return _done("/settings", "password")


# --- users (admins) -------------------------------------------------------------------------------------

def _users_page(request: Request, session: DbSession, *, status_code: int = 200, done: str | None = None,
                error: str | None = None, form: dict[str, str] | None = None) -> Response:
    return render(request, "users.html", {"users": [user for user, _ in list_users(session=session)], "roles": list(ROLES),
                                          "notice": NOTICES.get(done or ""), "error": error, "form": form or {}},
                  status_code=status_code)


@router.get("/users", dependencies=ADMIN_PAGE)
def users_page(request: Request, session: DbSession, done: Done = None) -> Response:
    return _users_page(request, session, done=done)


@router.post("/users", dependencies=ADMIN)
def create_user(request: Request, session: DbSession, username: FormText = "", password: FormText = "",
                role: FormText = "viewer") -> Response:
    error = None
    if get_by_username(session=session, username=username) is not None:
        error = "A user with this name exists."
    else:
        try:
            upsert_user(session=session, username=username, password=password, role=role)
        except UserError as exc:
            error = f"The {exc}."
    if error:
        session.rollback()
        return _users_page(request, session, status_code=422, error=error, form={"username": username, "role": role})
    session.commit()
    return _done("/users", "created")


def _other_user(request: Request, session: DbSession, me: CurrentUser, user_id: int) -> User | Response:
    """The user to change, or an error page: unknown (404), or oneself (an admin cannot lock themselves out)."""
    target = get_user(session=session, user_id=user_id) if user_id <= 2**31 - 1 else None
    if target is None:
        return _users_page(request, session, status_code=404, error="There is no such user.")
    if target.id == me.user_id:
        return _users_page(request, session, status_code=422,
                           error="You cannot change your own role or disable yourself; another admin can.")
    return target


@router.post("/users/{user_id:int}/role", dependencies=ADMIN)
def change_role(request: Request, session: DbSession, user: CurrentUser, user_id: int,
                role: FormText = "") -> Response:
    target = _other_user(request, session, user, user_id)
    if isinstance(target, Response):
        return target
    try:
        set_role(session=session, user=target, role=role)
    except UserError as exc:
        session.rollback()
        return _users_page(request, session, status_code=422, error=f"The {exc}.")
    session.commit()
    return _done("/users", "role")


@router.post("/users/{user_id:int}/active", dependencies=ADMIN)
def change_active(request: Request, session: DbSession, user: CurrentUser, user_id: int,
                  active: Annotated[bool, Form()] = False) -> Response:
    target = _other_user(request, session, user, user_id)
    if isinstance(target, Response):
        return target
    set_active(session=session, user=target, active=active)
    session.commit()
    return _done("/users", "enabled" if active else "disabled")


@router.post("/users/{user_id:int}/password", dependencies=ADMIN)
def reset_password(request: Request, session: DbSession, user: CurrentUser, user_id: int,
                   password: FormText = "") -> Response:
    target = get_user(session=session, user_id=user_id) if user_id <= 2**31 - 1 else None
    if target is None:
        return _users_page(request, session, status_code=404, error="There is no such user.")
    try:
        set_password(session=session, user=target, password=password,
                     keep_session=user.token_hash if target.id == user.user_id else None)
    except UserError as exc:
        session.rollback()
        return _users_page(request, session, status_code=422, error=f"The {exc}.")
    session.commit()
    return _done("/users", "reset")
