"""Who calls the API, and what they may do: a Bearer token (common/tokens.py), its per-token rate limit, and
one permission dependency per class of route (`READ` and `WRITE` below, set on each router)."""
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from common.roles import Permission
from common.tokens import TokenUser, authenticate_token, token_hash
from web.api.ratelimit import TokenRateLimit
from web.dashboard.deps import DbSession

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="An API token, from `tracker token create` or the dashboard's Settings page.")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def api_user(request: Request, session: DbSession,
             credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> TokenUser:
    """The token's user, or 401; 429 with Retry-After when the token is past its rate limit."""
    if credentials is None:
        raise _unauthorized("An API token is required: Authorization: Bearer <token>")
    user = authenticate_token(session=session, token=credentials.credentials)
    if user is None:
        raise _unauthorized("The API token is unknown, revoked or expired")
    limit: TokenRateLimit = request.app.state.api_rate_limit
    # Keyed by the token's hash, not its id: ids repeat across databases that share one Redis.
    wait = limit.retry_after(token_hash(credentials.credentials)[:32])
    if wait is not None:
        raise HTTPException(status_code=429, detail="Too many requests for this token",
                            headers={"Retry-After": str(wait)})
    return user


ApiUser = Annotated[TokenUser, Depends(api_user)]


def allow(permission: Permission) -> Any:
    """A router dependency: 403 unless the token (and its user's role) allows `permission`."""
    def check(user: ApiUser) -> None:
        if permission not in user.permissions:
            raise HTTPException(status_code=403, detail=f"This token cannot {permission.value} (token scope "
                                                        f"{user.scope}, user role {user.role})")
    return Depends(check)


READ = [allow(Permission.READ)]
WRITE = [allow(Permission.WRITE)]
