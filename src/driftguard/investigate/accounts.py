"""Reads of the admin account investigation through Microsoft Graph, one actor at a time.

Per user actor (investigate/accountflags.py chooses them from the audit trail):

- the directory user (``GET /v1.0/users?$filter=userPrincipalName eq ...``; User.Read.All);
- its sign-ins (``GET /beta/auditLogs/signIns``, filtered by userPrincipalName and
  createdDateTime; AuditLog.Read.All and a Microsoft Entra ID P1 or P2 licence). The beta
  version because only it carries ``authenticationRequirement`` (single or multifactor);
- its Identity Protection risk (``GET /v1.0/identityProtection/riskyUsers?$filter=id eq ...``;
  IdentityRiskyUser.Read.All and Entra ID P2). Not listed = never rated risky;
- its directory role assignments (``GET /v1.0/roleManagement/directory/roleAssignments``,
  ``principalId eq`` with ``$expand=roleDefinition``; RoleManagement.Read.Directory);
- the security info registered for it (``GET /v1.0/auditLogs/directoryAudits``, by target id and
  activityDateTime; AuditLog.Read.All).

Every answer goes through ``GraphClient.pages`` (envelope checks, same-host nextLink only,
throttling). A refusal is an ``AuthError`` naming the source and the permission or licence it
needs; a record not in the documented shape is a ``ServiceError``; more records than the bound is
a ``TruncatedReadError``. Never a shorter list read as "nothing suspicious".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from driftguard.errors import AuthError, ServiceError, TruncatedReadError
from driftguard.investigate.accountflags import PRIVILEGED_ROLES, RULE, Target, assess, targets
from driftguard.investigate.accountmodel import (
    AccountRule,
    AccountsSection,
    MethodEntry,
    RiskEntry,
    RoleEntry,
    SignInEntry,
)
from driftguard.investigate.auditrecords import AuditRecordError, client_ip, parse_time, wire_time
from driftguard.model import AuditEvent, TenantConfig

MAX_SIGN_INS = 5000  # per actor over the history and the window
MAX_RECORDS = 500  # role assignments, directory audit records, risky-user records per actor
SIGN_IN_PAGE = 1000  # the service's largest page

# The directory audit activities that register authentication methods ("security info").
REGISTRATION_ACTIVITIES = frozenset(
    {
        "user registered security info",
        "user registered all required security info",
        "admin registered security info",
        "user changed default security info",
    }
)


class PageReader(Protocol):
    def pages(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> Iterator[list[dict[str, Any]]]: ...


@dataclass(frozen=True)
class IdentitySource:
    """One Graph source of the account investigation and what the app needs to read it."""

    name: str
    path: str
    permission: str
    licence: str | None = None


USERS = IdentitySource("directory users", "/v1.0/users", "User.Read.All")
SIGN_INS = IdentitySource(
    "sign-ins", "/beta/auditLogs/signIns", "AuditLog.Read.All", "Microsoft Entra ID P1 or P2"
)
RISK = IdentitySource(
    "risky users",
    "/v1.0/identityProtection/riskyUsers",
    "IdentityRiskyUser.Read.All",
    "Microsoft Entra ID P2",
)
ROLES = IdentitySource(
    "role assignments",
    "/v1.0/roleManagement/directory/roleAssignments",
    "RoleManagement.Read.Directory",
)
METHODS = IdentitySource(
    "security info registrations", "/v1.0/auditLogs/directoryAudits", "AuditLog.Read.All"
)
SOURCES = (USERS, SIGN_INS, RISK, ROLES, METHODS)
SOURCE_NOTE = "graph:" + ", ".join(s.path.split("/", 2)[2] for s in SOURCES)

# What the service says when the tenant lacks the licence (not the permission): the sign-in logs'
# ``Authentication_RequestFromNonPremiumTenantOrB2CTenant`` ("... doesn't have premium license")
# and Identity Protection's "Your tenant is not licensed for this feature."
_NO_LICENCE = ("premium license", "not licensed", "nonpremiumtenant")


@dataclass(frozen=True)
class UserRecord:
    id: str
    display_name: str | None
    enabled: bool | None


@dataclass(frozen=True)
class AccountRead:
    """What Graph holds about one actor (``user`` None: not in the directory)."""

    target: Target
    user: UserRecord | None
    sign_ins: tuple[SignInEntry, ...]  # history and window, oldest first
    risk: RiskEntry | None
    roles: tuple[RoleEntry, ...]
    methods: tuple[MethodEntry, ...]


def refusal(source: IdentitySource, exc: AuthError) -> AuthError:
    """The service's refusal said as what to do: the licence or the permission the source needs."""
    lowered = exc.message.lower()
    if source.licence and any(mark in lowered for mark in _NO_LICENCE):
        return AuthError(
            f"accounts: {source.name}: the tenant has no {source.licence} licence, which "
            f"{source.path} needs ({exc.message})",
            hint=f"license the tenant for {source.licence}, or leave the account investigation "
            "out with --skip accounts",
        )
    if "(403)" in exc.message:
        return AuthError(
            f"accounts: {source.name}: the app lacks the Graph application permission "
            f"{source.permission} for {source.path} ({exc.message})",
            hint=f"grant {source.permission} with admin consent, or leave the account "
            "investigation out with --skip accounts",
        )
    return AuthError(f"accounts: {source.name}: {exc.message}", hint=exc.hint)


def _records(
    graph: PageReader, source: IdentitySource, params: Mapping[str, str], limit: int
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    try:
        for page in graph.pages(source.path, params):
            out.extend(page)
            if len(out) > limit:
                raise TruncatedReadError(
                    f"accounts: {source.name}: more than {limit} records for one actor; the "
                    "account investigation would be incomplete",
                    hint="leave the account investigation out with --skip accounts and read "
                    "the sign-in logs in the Entra admin center",
                )
    except AuthError as exc:
        raise refusal(source, exc) from None
    return out


def quoted(value: str) -> str:
    """An OData string literal."""
    return "'" + value.replace("'", "''") + "'"


def read_account(
    graph: PageReader, target: Target, rule: AccountRule, end: datetime
) -> AccountRead:
    """Everything the sources hold about ``target`` between the history start and ``end``."""
    user = _user(graph, target.actor)
    history_start = target.first_change - timedelta(
        days=rule.before_change_days + rule.history_days
    )
    sign_ins = _sign_ins(graph, target.actor, history_start, end)
    if user is None:
        return AccountRead(target, None, sign_ins, None, (), ())
    window_start = target.first_change - timedelta(days=rule.before_change_days)
    return AccountRead(
        target=target,
        user=user,
        sign_ins=sign_ins,
        risk=_risk(graph, user.id),
        roles=_roles(graph, user.id),
        methods=_methods(graph, user.id, window_start, end),
    )


# --------------------------------------------------------------------------- one source each


def _user(graph: PageReader, upn: str) -> UserRecord | None:
    params = {
        "$filter": f"userPrincipalName eq {quoted(upn)}",
        "$select": "id,displayName,userPrincipalName,accountEnabled",
    }
    found = _records(graph, USERS, params, MAX_RECORDS)
    if not found:
        return None
    item = _Item(found[0], USERS, 0)
    return UserRecord(
        id=item.text("id"),
        display_name=item.opt_text("displayName"),
        enabled=item.opt_flag("accountEnabled"),
    )


def _sign_ins(
    graph: PageReader, upn: str, start: datetime, end: datetime
) -> tuple[SignInEntry, ...]:
    params = {
        "$filter": f"userPrincipalName eq {quoted(upn)} and createdDateTime ge "
        f"{wire_time(start)} and createdDateTime le {wire_time(end)}",
        "$top": str(SIGN_IN_PAGE),
    }
    rows = _records(graph, SIGN_INS, params, MAX_SIGN_INS)
    out = [_sign_in(_Item(row, SIGN_INS, n)) for n, row in enumerate(rows)]
    return tuple(sorted(out, key=lambda s: s.time))


def _sign_in(item: _Item) -> SignInEntry:
    location = item.opt_obj("location")
    status = item.obj("status")
    return SignInEntry(
        time=item.time("createdDateTime"),
        ip=client_ip(item.opt_text("ipAddress")),
        country=(location.opt_text("countryOrRegion") if location else None) or "",
        city=(location.opt_text("city") if location else None) or "",
        app=item.opt_text("appDisplayName") or "",
        client=item.opt_text("clientAppUsed") or "",
        authentication=item.text("authenticationRequirement"),
        conditional_access=item.opt_text("conditionalAccessStatus") or "",
        error_code=status.whole("errorCode"),
        interactive=bool(item.opt_flag("isInteractive")),
    )


def _risk(graph: PageReader, user_id: str) -> RiskEntry | None:
    rows = _records(graph, RISK, {"$filter": f"id eq {quoted(user_id)}"}, MAX_RECORDS)
    if not rows:
        return None
    item = _Item(rows[0], RISK, 0)
    updated = item.opt_text("riskLastUpdatedDateTime")
    return RiskEntry(
        level=item.text("riskLevel"),
        state=item.text("riskState"),
        detail=item.opt_text("riskDetail") or "",
        updated=item.time("riskLastUpdatedDateTime") if updated else None,
    )


def _roles(graph: PageReader, user_id: str) -> tuple[RoleEntry, ...]:
    params = {"$filter": f"principalId eq {quoted(user_id)}", "$expand": "roleDefinition"}
    out = []
    for n, row in enumerate(_records(graph, ROLES, params, MAX_RECORDS)):
        item = _Item(row, ROLES, n)
        definition = item.obj("roleDefinition")
        template = (
            definition.opt_text("templateId") or item.opt_text("roleDefinitionId") or ""
        ).lower()
        out.append(
            RoleEntry(
                name=definition.text("displayName"),
                template_id=template,
                scope=item.opt_text("directoryScopeId") or "/",
                privileged=template in PRIVILEGED_ROLES,
            )
        )
    return tuple(sorted(out, key=lambda r: (not r.privileged, r.name.lower())))


def _methods(
    graph: PageReader, user_id: str, start: datetime, end: datetime
) -> tuple[MethodEntry, ...]:
    params = {
        "$filter": f"activityDateTime ge {wire_time(start)} and activityDateTime le "
        f"{wire_time(end)} and targetResources/any(t:t/id eq {quoted(user_id)})"
    }
    out = []
    for n, row in enumerate(_records(graph, METHODS, params, MAX_RECORDS)):
        item = _Item(row, METHODS, n)
        activity = item.text("activityDisplayName")
        if activity.lower() not in REGISTRATION_ACTIVITIES or item.opt_text("result") not in (
            None,
            "success",
        ):
            continue
        initiated = item.opt_obj("initiatedBy")
        by_user = initiated.opt_obj("user") if initiated else None
        out.append(
            MethodEntry(
                time=item.time("activityDateTime"),
                activity=activity,
                detail=item.opt_text("resultReason") or "",
                ip=client_ip(by_user.opt_text("ipAddress")) if by_user else None,
            )
        )
    return tuple(sorted(out, key=lambda m: m.time))


class _Item:
    """One record of a source, read strictly: a field of the wrong type is a ServiceError naming
    the source, the record and the field."""

    def __init__(self, value: Any, source: IdentitySource, index: int, path: str = "") -> None:
        self.source = source
        self.index = index
        self.path = path
        if not isinstance(value, Mapping):
            raise self._error("", "expected an object")
        self.data = value

    def _error(self, key: str, message: str) -> ServiceError:
        where = f"{self.path}{key}" or "record"
        return ServiceError(
            f"accounts: {self.source.name}: record {self.index + 1}: {where}: {message} "
            "(not the documented shape)"
        )

    def opt_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._error(key, "expected a string")
        return value

    def text(self, key: str) -> str:
        value = self.opt_text(key)
        if value is None:
            raise self._error(key, "missing")
        return value

    def opt_flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, bool):
            raise self._error(key, "expected true or false")
        return value

    def whole(self, key: str) -> int:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._error(key, "expected a whole number")
        return value

    def time(self, key: str) -> datetime:
        try:
            return parse_time(self.data.get(key))
        except AuditRecordError:
            raise self._error(key, "expected a time") from None

    def opt_obj(self, key: str) -> _Item | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self._error(key, "expected an object")
        return _Item(value, self.source, self.index, f"{self.path}{key}.")

    def obj(self, key: str) -> _Item:
        found = self.opt_obj(key)
        if found is None:
            raise self._error(key, "missing")
        return found


def account_section(
    graph: PageReader,
    events: Sequence[AuditEvent],
    tenant: TenantConfig,
    start: datetime,
    end: datetime,
) -> AccountsSection:
    """The account investigation of one tenant: its actors chosen, read and assessed."""
    chosen, skipped, beyond = targets(events, start, end)
    entries = tuple(assess(read_account(graph, t, RULE, end), tenant) for t in chosen)
    return AccountsSection(rule=RULE, accounts=entries, skipped=skipped, not_investigated=beyond)
