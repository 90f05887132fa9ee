"""User accounts in Microsoft Graph: read one's sign-in state, revoke its sessions, block or allow
its sign-in (Graph v1.0 "Get user", "user: revokeSignInSessions", "Update user").

Reads use the tenant's read credential (``User.Read.All``); writes the separate, optional Graph
write credential (``auth.graph_write``). A refusal names the permission the operation needs. A
read answer not in the documented shape is an error, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import quote

from driftguard.errors import AuthError, ServiceError
from driftguard.jsontype import Json
from driftguard.planmodel import ENABLED, SESSIONS_FROM

if TYPE_CHECKING:
    from driftguard.investigate.graph import GraphClient

READ_PERMISSION: Final = "User.Read.All"
REVOKE_PERMISSION: Final = "User.RevokeSessions.All"
ENABLE_PERMISSION: Final = "User.EnableDisableAccount.All"
SELECT: Final = f"id,userPrincipalName,{ENABLED},{SESSIONS_FROM}"
MAX_UPN: Final = 256  # Graph's limit is 113 characters before the @, 256 in all
_OBJECT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,7})?Z$")


@dataclass(frozen=True)
class UserState:
    """What containment needs of a user: who (object id, UPN) and its sign-in state."""

    id: str
    upn: str
    enabled: bool
    sessions_from: str | None  # signInSessionsValidFromDateTime as Graph writes it (UTC, Z)

    def precondition(self) -> dict[str, Json]:
        return {ENABLED: self.enabled, SESSIONS_FROM: self.sessions_from}

    def document(self) -> dict[str, Json]:
        """The state as journalled (before and after each containment write)."""
        return {"id": self.id, "userPrincipalName": self.upn, **self.precondition()}


class UserReader(Protocol):
    def user(self, key: str) -> UserState | None: ...  # by object id or UPN; None: no such user


class UserWriter(Protocol):
    def revoke_sessions(self, user_id: str) -> None: ...

    def set_enabled(self, user_id: str, enabled: bool) -> None: ...


def user_from(payload: Mapping[str, Any], source: str) -> UserState:
    """A user from a Graph answer; anything not in the documented shape is a ServiceError."""
    uid, upn = payload.get("id"), payload.get("userPrincipalName")
    enabled, since = payload.get(ENABLED), payload.get(SESSIONS_FROM)
    if not isinstance(uid, str) or not _OBJECT_ID.match(uid.lower()):
        raise ServiceError(f"{source}: the answer has no user object id")
    if not isinstance(upn, str) or not 0 < len(upn) <= MAX_UPN:
        raise ServiceError(f"{source}: the answer has no userPrincipalName")
    if not isinstance(enabled, bool):
        raise ServiceError(f"{source}: the answer has no {ENABLED} (true or false)")
    if since is not None and not (isinstance(since, str) and _TIME.match(since)):
        raise ServiceError(f"{source}: {SESSIONS_FROM} is not a UTC time")
    return UserState(uid.lower(), upn, enabled, since)


@dataclass(frozen=True)
class GraphUsers:
    """UserReader and UserWriter over a GraphClient (read or Graph write credential)."""

    graph: GraphClient

    def user(self, key: str) -> UserState | None:
        from driftguard.investigate.graph import NotFoundError

        path = "/v1.0/users/" + quote(key, safe="@")
        try:
            payload = self.graph.get(path, {"$select": SELECT})
        except NotFoundError:
            return None
        except AuthError as exc:
            raise _refused(exc, f"reading user {key!r}", READ_PERMISSION) from None
        return user_from(payload, f"Graph: GET {path}")

    def revoke_sessions(self, user_id: str) -> None:
        path = f"/v1.0/users/{quote(user_id, safe='')}/revokeSignInSessions"
        try:
            answer = self.graph.post(path, {})
        except AuthError as exc:
            raise _refused(exc, "revoking sign-in sessions", REVOKE_PERMISSION) from None
        if answer.get("value") is not True:
            raise ServiceError(f"Graph: POST {path} did not answer true")

    def set_enabled(self, user_id: str, enabled: bool) -> None:
        path = f"/v1.0/users/{quote(user_id, safe='')}"
        try:
            self.graph.patch(path, {ENABLED: enabled})
        except AuthError as exc:
            what = "blocking sign-in" if not enabled else "allowing sign-in"
            raise _refused(exc, what, ENABLE_PERMISSION) from None


def _refused(exc: AuthError, what: str, permission: str) -> AuthError:
    return AuthError(
        f"{what} needs the Microsoft Graph application permission {permission}: {exc.message}",
        hint=f"grant {permission} (admin consent) to the app of "
        + ("auth (the read credential)" if permission == READ_PERMISSION else "auth.graph_write"),
    )
