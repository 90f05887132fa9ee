"""Graph's identity evidence about an admin account, from each tenant's own records.

- ``GET /users`` with ``$filter=userPrincipalName eq '...'`` (User.Read.All);
- ``GET /auditLogs/signIns`` (AuditLog.Read.All; Entra ID P1 or P2): ``$filter`` on
  ``userPrincipalName``/``userId`` (eq) and ``createdDateTime`` (ge, gt, le, lt) joined by
  ``and``, newest first, pages of ``$top`` (at most 1,000). Only ``beta`` carries
  ``authenticationRequirement`` and ``authenticationDetails``;
- ``GET /identityProtection/riskyUsers`` (``$filter`` on ``id``, ``userPrincipalName``,
  ``riskLevel``, ``riskState``) and ``/riskyUsers/{id}`` (IdentityRiskyUser.Read.All; P2);
- ``GET /roleManagement/directory/roleAssignments`` (``$filter=principalId eq '...'``,
  ``$expand=roleDefinition``; RoleManagement.Read.Directory);
- ``GET /auditLogs/directoryAudits`` (``activityDateTime`` ge/le and
  ``targetResources/any(t:t/id eq '...')``; AuditLog.Read.All).

Any other ``$filter`` is refused with 400, as Graph refuses what it does not support. A missing
permission is Graph's 403 ``Authorization_RequestDenied``; a tenant without the licence
(``NO_PREMIUM``: no P1 or P2; ``NO_P2``) gets the service's own no-licence answers.
Shapes: the Graph reference pages "List signIns" (beta), "riskyUser resource type", "List
unifiedRoleAssignments", "directoryAudit resource type", with invented values.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from driftguard.sim.graph_auth import authorised
from driftguard.sim.graph_evidence import _page as page
from driftguard.sim.http import HttpError, Request, Response, route
from driftguard.sim.state import SimState, TenantState

# Tenants (by id) without Microsoft Entra ID P1 or P2: sign-in logs and Identity Protection
# refuse. Tenants (by id) with P1 only: Identity Protection refuses.
NO_PREMIUM: set[str] = set()
NO_P2: set[str] = set()

AUDIT_ROLES = ("AuditLog.Read.All",)
RISK_ROLES = ("IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All")
ROLE_ROLES = ("RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All")
USER_ROLES = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All")

# Built-in directory roles the simulator knows (template id -> display name).
BUILT_IN_ROLES = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
    "5d6b6bb7-de71-4623-b4af-96380a352509": "Security Reader",
}
_BETA_ONLY = ("authenticationRequirement", "authenticationDetails", "signInEventTypes")
_V = r"/(?P<version>v1\.0|beta)"
_CLAUSE = re.compile(r"(\w+)\s+(eq|ge|gt|le|lt)\s+('(?:[^']|'')*'|\S+)", re.IGNORECASE)
_ANY_ID = re.compile(r"targetResources/any\((\w+):\s*\1/id\s+eq\s+'((?:[^']|'')*)'\)", re.I)


def _bad(message: str) -> HttpError:
    return HttpError(
        Response.json(400, {"error": {"code": "Request_UnsupportedQuery", "message": message}})
    )


def _refused(code: str, message: str) -> HttpError:
    return HttpError(Response.json(403, {"error": {"code": code, "message": message}}))


def _no_premium() -> HttpError:
    return _refused(
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        "Neither tenant is B2C or tenant doesn't have premium license",
    )


def _when(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.strip("'").replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"Invalid date: {text[:40]}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _clauses(request: Request, allowed: dict[str, tuple[str, ...]]) -> list[tuple[str, str, str]]:
    """``$filter`` as (field, operator, value) clauses; 400 for any other form. ``allowed`` maps a
    field (lower case) to its operators; ``targetresources`` stands for the lambda form."""
    text = request.query_params().get("$filter", "").strip()
    out: list[tuple[str, str, str]] = []
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE) if text else ():
        lam = _ANY_ID.fullmatch(part.strip())
        if lam is not None and "targetresources" in allowed:
            out.append(("targetresources", "eq", lam.group(2).replace("''", "'")))
            continue
        match = _CLAUSE.fullmatch(part.strip())
        if match is None:
            raise _bad(f"Invalid filter clause: {part[:80]}")
        field, op, value = match.group(1).lower(), match.group(2).lower(), match.group(3)
        if op not in allowed.get(field, ()):
            raise _bad(f"Unsupported filter: {part[:80]}")
        if value.startswith("'"):
            value = value[1:-1].replace("''", "'")
        out.append((field, op, value))
    return out


def _compare(when: datetime, op: str, bound: datetime) -> bool:
    return {
        "eq": when == bound,
        "ge": when >= bound,
        "gt": when > bound,
        "le": when <= bound,
        "lt": when < bound,
    }[op]


def _context(request: Request, what: str) -> str:
    return f"https://{request.host}/{request.params['version']}/$metadata#{what}"


# --------------------------------------------------------------------------- routes


@route("GET", _V + r"/users", name="graph-users-list", faults=False)
def list_users(request: Request, sim: SimState) -> Response:
    tenant = authorised(request, sim, USER_ROLES)
    clauses = _clauses(request, {"userprincipalname": ("eq",), "id": ("eq",)})
    selected = request.query_params().get("$select")
    names = [n.strip() for n in selected.split(",")] if selected else None
    with tenant.lock:
        users = [
            dict(u)
            for u in tenant.users
            if all(
                str(u["userPrincipalName" if f == "userprincipalname" else "id"]).lower()
                == v.lower()
                for f, _op, v in clauses
            )
        ]
    if names:
        users = [{n: u.get(n) for n in ("id", *names)} for u in users]
    body = page(request, users, 100)
    return Response.json(200, {"@odata.context": _context(request, "users"), **body})


@route("GET", _V + r"/auditLogs/signIns", name="graph-signins", faults=False)
def sign_ins(request: Request, sim: SimState) -> Response:
    tenant = authorised(request, sim, AUDIT_ROLES)
    if tenant.tenant_id in NO_PREMIUM:
        raise _no_premium()
    clauses = _clauses(
        request,
        {
            "userprincipalname": ("eq",),
            "userid": ("eq",),
            "createddatetime": ("ge", "gt", "le", "lt"),
        },
    )
    top = request.query_params().get("$top", "1000")
    if not top.isdigit() or not 0 < int(top) <= 1000:
        raise _bad("The $top value must be between 1 and 1000.")

    def keep(record: dict[str, Any]) -> bool:
        for field, op, value in clauses:
            if field == "createddatetime":
                if not _compare(_when(record["createdDateTime"]), op, _when(value)):
                    return False
            elif (
                str(
                    record["userPrincipalName" if field == "userprincipalname" else "userId"]
                ).lower()
                != value.lower()
            ):
                return False
        return True

    beta = request.params["version"] == "beta"
    with tenant.lock:
        rows = [dict(r) for r in tenant.sign_ins if keep(r)]
    rows.sort(key=lambda r: (r["createdDateTime"], r["id"]), reverse=True)
    if not beta:
        rows = [{k: v for k, v in r.items() if k not in _BETA_ONLY} for r in rows]
    body = page(request, rows, 1000)
    return Response.json(200, {"@odata.context": _context(request, "auditLogs/signIns"), **body})


def _risk_tenant(request: Request, sim: SimState) -> TenantState:
    tenant = authorised(request, sim, RISK_ROLES)
    if tenant.tenant_id in NO_PREMIUM or tenant.tenant_id in NO_P2:
        raise _refused("Forbidden", "Your tenant is not licensed for this feature.")
    return tenant


@route("GET", _V + r"/identityProtection/riskyUsers", name="graph-risky-users", faults=False)
def risky_users(request: Request, sim: SimState) -> Response:
    tenant = _risk_tenant(request, sim)
    allowed = ("eq",)
    clauses = _clauses(
        request,
        {"id": allowed, "userprincipalname": allowed, "risklevel": allowed, "riskstate": allowed},
    )
    names = {"id": "id", "userprincipalname": "userPrincipalName", "risklevel": "riskLevel"}
    with tenant.lock:
        rows = [
            dict(r)
            for r in tenant.risky_users
            if all(str(r[names.get(f, "riskState")]).lower() == v.lower() for f, _op, v in clauses)
        ]
    body = page(request, rows, 100)
    context = _context(request, "identityProtection/riskyUsers")
    return Response.json(200, {"@odata.context": context, **body})


@route(
    "GET",
    _V + r"/identityProtection/riskyUsers/(?P<risky>[^/]+)",
    name="graph-risky-user",
    faults=False,
)
def risky_user(request: Request, sim: SimState) -> Response:
    tenant = _risk_tenant(request, sim)
    wanted = request.params["risky"].lower()
    with tenant.lock:
        found = next((dict(r) for r in tenant.risky_users if r["id"].lower() == wanted), None)
    if found is None:
        raise HttpError(
            Response.json(
                404,
                {"error": {"code": "ResourceNotFound", "message": "The user was not found."}},
            )
        )
    context = _context(request, "identityProtection/riskyUsers/$entity")
    return Response.json(200, {"@odata.context": context, **found})


@route(
    "GET",
    _V + r"/roleManagement/directory/roleAssignments",
    name="graph-role-assignments",
    faults=False,
)
def role_assignments(request: Request, sim: SimState) -> Response:
    tenant = authorised(request, sim, ROLE_ROLES)
    clauses = _clauses(request, {"principalid": ("eq",), "roledefinitionid": ("eq",)})
    expand = request.query_params().get("$expand", "")
    if expand not in ("", "roleDefinition", "principal"):
        raise _bad(f"Could not find a property named '{expand[:40]}'.")
    with tenant.lock:
        rows = [
            dict(r)
            for r in tenant.role_assignments
            if all(
                str(r["principalId" if f == "principalid" else "roleDefinitionId"]).lower()
                == v.lower()
                for f, _op, v in clauses
            )
        ]
    if expand == "roleDefinition":
        for row in rows:
            template = row["roleDefinitionId"]
            row["roleDefinition"] = {
                "id": template,
                "displayName": BUILT_IN_ROLES.get(template, "Custom role"),
                "isBuiltIn": template in BUILT_IN_ROLES,
                "isEnabled": True,
                "templateId": template,
            }
    body = page(request, rows, 100)
    context = _context(request, "roleManagement/directory/roleAssignments")
    return Response.json(200, {"@odata.context": context, **body})


@route("GET", _V + r"/auditLogs/directoryAudits", name="graph-directory-audits", faults=False)
def directory_audits(request: Request, sim: SimState) -> Response:
    tenant = authorised(request, sim, AUDIT_ROLES)
    clauses = _clauses(
        request,
        {
            "activitydatetime": ("ge", "gt", "le", "lt"),
            "targetresources": ("eq",),
            "category": ("eq",),
            "activitydisplayname": ("eq",),
        },
    )

    def keep(record: dict[str, Any]) -> bool:
        for field, op, value in clauses:
            if field == "activitydatetime":
                ok = _compare(_when(record["activityDateTime"]), op, _when(value))
            elif field == "targetresources":
                ok = any(t["id"].lower() == value.lower() for t in record["targetResources"])
            else:
                key = "category" if field == "category" else "activityDisplayName"
                ok = str(record[key]).lower() == value.lower()
            if not ok:
                return False
        return True

    with tenant.lock:
        rows = [dict(r) for r in tenant.directory_audits if keep(r)]
    rows.sort(key=lambda r: (r["activityDateTime"], r["id"]), reverse=True)
    body = page(request, rows, 1000)
    context = _context(request, "auditLogs/directoryAudits")
    return Response.json(200, {"@odata.context": context, **body})
