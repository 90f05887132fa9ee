"""The identity evidence a tenant keeps about its accounts, in the shapes Graph answers with.

Sign-ins (the beta ``signIn``), Identity Protection's ``riskyUser``, directory role assignments
(``unifiedRoleAssignment``) and the directory audit record of a user registering security info
(``directoryAudit``), each as the Graph reference pages show them, with invented values. The
routes that serve them are in graph_identity.py.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from driftguard.sim.graph_users import find_user, graph_time, user_id
from driftguard.sim.state import TenantState


def add_sign_in(
    tenant: TenantState,
    upn: str,
    when: datetime,
    *,
    ip: str,
    country: str,
    city: str,
    app: str = "Microsoft 365 admin center",
    client: str = "Browser",
    mfa: bool = True,
    error_code: int = 0,
    conditional_access: str = "success",
) -> dict[str, Any]:
    """One interactive sign-in as the beta API writes it."""
    found = find_user(tenant, upn)
    record = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant.tenant_id}/{upn}/{when.isoformat()}")),
        "createdDateTime": graph_time(when),
        "userDisplayName": found["displayName"] if found else upn.split("@")[0],
        "userPrincipalName": upn,
        "userId": user_id(upn),
        "appId": str(uuid.uuid5(uuid.NAMESPACE_URL, "app/" + app)),
        "appDisplayName": app,
        "ipAddress": ip,
        "clientAppUsed": client,
        "correlationId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"corr/{upn}/{when.isoformat()}")),
        "conditionalAccessStatus": conditional_access,
        "isInteractive": True,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes_v2": [],
        "resourceDisplayName": "Office 365 Exchange Online",
        "resourceId": "00000002-0000-0ff1-ce00-000000000000",
        "authenticationRequirement": (
            "multiFactorAuthentication" if mfa else "singleFactorAuthentication"
        ),
        "signInEventTypes": ["interactiveUser"],
        "status": {
            "errorCode": error_code,
            "failureReason": "Other." if error_code == 0 else "Invalid username or password.",
            "additionalDetails": None,
        },
        "deviceDetail": {"deviceId": "", "operatingSystem": "Windows 10", "browser": "Edge 130"},
        "location": {
            "city": city,
            "state": "",
            "countryOrRegion": country,
            "geoCoordinates": {},
        },
        "appliedConditionalAccessPolicies": [],
        "authenticationDetails": [
            {
                "authenticationStepDateTime": graph_time(when),
                "authenticationMethod": "Password",
                "succeeded": error_code == 0,
                "authenticationStepRequirement": "Primary authentication",
            }
        ],
    }
    with tenant.lock:
        tenant.sign_ins.append(record)
    return record


def set_risk(tenant: TenantState, upn: str, level: str, state: str, when: datetime) -> None:
    found = find_user(tenant, upn)
    record = {
        "id": user_id(upn),
        "isDeleted": False,
        "isProcessing": False,
        "riskLastUpdatedDateTime": graph_time(when),
        "riskLevel": level,
        "riskState": state,
        "riskDetail": "none",
        "userDisplayName": found["displayName"] if found else upn,
        "userPrincipalName": upn,
    }
    with tenant.lock:
        tenant.risky_users[:] = [r for r in tenant.risky_users if r["id"] != record["id"]]
        tenant.risky_users.append(record)


def assign_role(tenant: TenantState, upn: str, template_id: str) -> None:
    principal = user_id(upn)
    with tenant.lock:
        tenant.role_assignments.append(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{principal}/{template_id}")),
                "principalId": principal,
                "roleDefinitionId": template_id,
                "directoryScopeId": "/",
            }
        )


def register_method(tenant: TenantState, upn: str, when: datetime, *, ip: str, detail: str) -> None:
    """The directory audit record of a user registering security info (a method)."""
    principal = user_id(upn)
    record = {
        "id": "Directory_" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{principal}/{when}")),
        "category": "UserManagement",
        "correlationId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"reg/{principal}/{when}")),
        "result": "success",
        "resultReason": detail,
        "activityDisplayName": "User registered security info",
        "activityDateTime": graph_time(when),
        "loggedByService": "Authentication Methods",
        "operationType": "Add",
        "initiatedBy": {
            "app": None,
            "user": {
                "id": principal,
                "displayName": None,
                "userPrincipalName": upn,
                "ipAddress": ip,
                "userType": "Member",
            },
        },
        "targetResources": [
            {
                "id": principal,
                "displayName": None,
                "type": "User",
                "userPrincipalName": upn,
                "groupType": None,
                "modifiedProperties": [],
            }
        ],
        "additionalDetails": [],
    }
    with tenant.lock:
        tenant.directory_audits.append(record)
