"""Who calls the API, and what they may do: a Bearer token (common/tokens.py), its per-token rate limit, and
one permission dependency per class of route (`READ` and `WRITE` below, set on each router).

The token is checked by the routes' class (TokenRoute), before FastAPI reads the body or the parameters: a
caller without a valid token gets 401 whatever it sends, never a 422 that describes the route."""
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from common.db import Database
from common.roles import Permission
from common.tokens import TokenUser, authenticate_token, token_hash
from web.api.ratelimit import TokenRateLimit

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="An API token, from `tracker token create` or the dashboard's Settings page.")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def authenticate(request: Request) -> TokenUser:
    """The token's user, or 401; 429 with Retry-After when the token is past its rate limit."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("An API token is required: Authorization: Bearer <token>")
    db: Database = request.app.state.db
    with db.session() as session:
        user = authenticate_token(session=session, token=token)
    if user is None:
        raise _unauthorized("The API token is unknown, revoked or expired")
    limit: TokenRateLimit = request.app.state.api_rate_limit
    # Keyed by the token's hash, not its id: ids repeat across databases that share one Redis.
    wait = limit.retry_after(token_hash(token)[:32])
    if wait is not None:
        raise HTTPException(status_code=429, detail="Too many requests for this token",
                            headers={"Retry-After": str(wait)})
    return user


class TokenRoute(APIRoute):
    """An API route: the token is checked first (in the thread pool: it reads the database and Redis)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            request.state.api_user = await run_in_threadpool(authenticate, request)
            return await handler(request)

        return checked


def api_user(request: Request,
             _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> TokenUser:
    """The caller TokenRoute authenticated (the `bearer` parameter puts the scheme in the OpenAPI schema); on a
    route of another class, authenticated here."""
    user: TokenUser | None = getattr(request.state, "api_user", None)
    return user or authenticate(request)


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
