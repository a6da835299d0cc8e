"""Roles and what they allow: the one table the dashboard's and the API's permission checks read.

admin: everything, including users and everyone's tokens; editor: campaigns (create, edit, archive, delete)
but no users; viewer: read only, and read-scoped tokens only. A token's scope narrows its user's role, never
widens it: a write token of a user later made a viewer can only read.
"""
from enum import StrEnum


class Permission(StrEnum):
    READ = "read"  # see campaigns, stats, journeys, events; own tokens and password
    WRITE = "write"  # create, edit, archive and delete campaigns
    ADMIN = "admin"  # users, and every user's tokens


ROLES: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "editor": frozenset({Permission.READ, Permission.WRITE}),
    "viewer": frozenset({Permission.READ}),
}
DEFAULT_ROLE = "admin"  # what `tracker user` gives a new user: the operator at the console

# What a token of each scope may do, at most (its user's role may allow less).
SCOPES: dict[str, frozenset[Permission]] = {
    "read": frozenset({Permission.READ}),
    "write": frozenset({Permission.READ, Permission.WRITE}),
}


def permissions(role: str, scope: str | None = None) -> frozenset[Permission]:
    """What a user of `role` may do; through a token of `scope`, what both allow. Unknown names allow nothing."""
    allowed = ROLES.get(role, frozenset())
    return allowed if scope is None else allowed & SCOPES.get(scope, frozenset())


def scopes_for(role: str) -> list[str]:
    """The token scopes a user of `role` may create: those that allow nothing the role does not."""
    return [scope for scope, allowed in SCOPES.items() if allowed <= ROLES.get(role, frozenset())]
