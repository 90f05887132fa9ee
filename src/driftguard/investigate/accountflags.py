"""Which accounts to investigate, and the flags a responder looks for on each. Pure.

Actors: every user the audit trail names as the actor of a connector operation inside the window
(succeeded or not: a failed attempt is still somebody trying). An actor that is not a user
principal (an app-only actor such as ``app:<id>``, a SID, a system account) has no sign-ins,
risk or roles to read: it is listed as skipped with that reason. At most ``MAX_ACCOUNTS`` users,
the latest to act first; the rest are counted in ``not_investigated``.

The flags (``FlagKind``), judged on the sign-ins from ``before_change_days`` before the actor's
first change to the end of the window ("around the change"), and only successful sign-ins
(``status.errorCode`` 0) raise one:

- change-ip: a sign-in from an IP address the actor's connector operations came from, when that
  address is outside tenant.yaml's ``trusted_ip_ranges`` (with no ranges configured: when no
  successful sign-in before the window came from it). An admin signing in from the office that
  made a change is the normal case, not a flag.
- new-country: a sign-in from a country (``location.countryOrRegion``) that none of the actor's
  successful sign-ins in the ``history_days`` before the window came from. Without any such
  sign-in there is nothing to compare with: a note says so and no flag is raised.
- legacy-auth: ``clientAppUsed`` is a legacy authentication client (``LEGACY_CLIENTS``).
- no-mfa: ``authenticationRequirement`` is ``singleFactorAuthentication``.
- new-method: security info registered from ``method_hours`` before the first change to the last
  change (a common persistence step).
- risky-user: Identity Protection lists the user with ``riskState`` atRisk or
  confirmedCompromised, or ``riskLevel`` low, medium or high while not remediated or dismissed.
- privileged-role: the user holds a privileged directory role (``PRIVILEGED_ROLES``) and
  tenant.yaml lists ``admins`` without it. With no ``admins`` listed: a note, no flag.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, assert_never

from driftguard.investigate.accountmodel import (
    AccountEntry,
    AccountFlag,
    AccountRule,
    FlagKind,
    SignInEntry,
    SkippedActor,
    flag_title,
)
from driftguard.investigation import moment
from driftguard.model import AuditEvent, TenantConfig

if TYPE_CHECKING:
    from driftguard.investigate.accounts import AccountRead

RULE = AccountRule(before_change_days=7, history_days=30, method_hours=24)
MAX_ACCOUNTS = 25
MAX_SIGN_INS_SHOWN = 50

# Built-in directory roles that can change mail flow, identities or other admins (template ids,
# as Microsoft's "Microsoft Entra built-in roles" reference lists them).
PRIVILEGED_ROLES: dict[str, str] = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
}

# ``clientAppUsed`` values of legacy (basic) authentication, as the sign-in logs spell them
# (Microsoft Entra "Identify and block legacy authentication"); compared case-insensitively.
LEGACY_CLIENTS = frozenset(
    {
        "authenticated smtp",
        "autodiscover",
        "exchange activesync",
        "exchange online powershell",
        "exchange web services",
        "imap4",
        "imap",
        "mapi over http",
        "offline address book",
        "other clients",
        "outlook anywhere (rpc over http)",
        "pop3",
        "pop",
        "reporting web services",
        "universal outlook",
    }
)
_RISKY_STATES = frozenset({"atrisk", "confirmedcompromised"})
_RISKY_LEVELS = frozenset({"low", "medium", "high"})
_CLEARED_STATES = frozenset({"remediated", "dismissed", "confirmedsafe"})


@dataclass(frozen=True)
class Target:
    """One user to investigate: the UPN the audit trail gives, when and from where it acted."""

    actor: str
    first_change: datetime
    last_change: datetime
    change_ips: tuple[str, ...]


def is_user_principal(actor: str) -> bool:
    """A user principal name (``name@domain``), not an app (``app:<id>``), SID or system name."""
    name, at, domain = actor.partition("@")
    return bool(at and name and "." in domain and not actor.lower().startswith("app:"))


def targets(
    events: Iterable[AuditEvent], start: datetime, end: datetime
) -> tuple[tuple[Target, ...], tuple[SkippedActor, ...], int]:
    """(users to investigate, latest to act first; skipped actors; users beyond the bound)."""
    from driftguard.investigate.auditlog import is_connector_operation

    times: dict[str, list[datetime]] = {}
    ips: dict[str, dict[str, None]] = {}
    names: dict[str, str] = {}
    skipped: dict[str, SkippedActor] = {}
    for event in events:
        if not (start <= event.time <= end and is_connector_operation(event)):
            continue
        if not is_user_principal(event.actor):
            key = event.actor.lower()
            skipped.setdefault(
                key,
                SkippedActor(
                    event.actor,
                    "not a user principal (an app-only or system actor): it has no sign-ins, "
                    "risk or roles to read; see its app registration"
                    + (f" ({event.app_id})" if event.app_id else ""),
                ),
            )
            continue
        key = event.actor.lower()
        names.setdefault(key, event.actor)
        times.setdefault(key, []).append(event.time)
        if event.client_ip:
            ips.setdefault(key, {})[event.client_ip] = None
    found = [Target(names[k], min(ts), max(ts), tuple(ips.get(k, {}))) for k, ts in times.items()]
    found.sort(key=lambda t: (t.last_change, t.actor), reverse=True)
    kept = tuple(found[:MAX_ACCOUNTS])
    return kept, tuple(skipped[k] for k in sorted(skipped)), len(found) - len(kept)


# --------------------------------------------------------------------------- flags


def assess(read: AccountRead, tenant: TenantConfig, rule: AccountRule = RULE) -> AccountEntry:
    """The account entry of one read: its sign-ins around the change flagged, its flags."""
    target = read.target
    window_start = target.first_change - timedelta(days=rule.before_change_days)
    history = [s for s in read.sign_ins if s.time < window_start]
    window = [s for s in read.sign_ins if s.time >= window_start]
    known = sorted({s.country for s in history if s.error_code == 0 and s.country})
    flagged = [_with_flags(s, _odd_ips(target, history, tenant), set(known)) for s in window]
    flags: list[AccountFlag] = []
    notes: list[str] = []
    for kind in (FlagKind.CHANGE_IP, FlagKind.NEW_COUNTRY, FlagKind.LEGACY_AUTH, FlagKind.NO_MFA):
        hits = [s for s in flagged if kind in s.flags]
        if hits:
            flags.append(AccountFlag(kind, _sign_in_detail(kind, hits)))
    if window and not known:
        notes.append(
            f"no successful sign-in in the {rule.history_days} days before the window: "
            "no country can be judged new"
        )
    if read.user is None:
        notes.append(
            "not found in the directory (deleted, renamed, or from another tenant): its risk, "
            "roles and security info could not be read"
        )
    flags.extend(_method_flags(read, target, rule))
    flags.extend(_risk_flags(read))
    flags.extend(_role_flags(read, tenant, notes))
    return AccountEntry(
        actor=target.actor,
        user_id=read.user.id if read.user else None,
        display_name=read.user.display_name if read.user else None,
        enabled=read.user.enabled if read.user else None,
        first_change=target.first_change,
        last_change=target.last_change,
        change_ips=target.change_ips,
        sign_ins=_shown(flagged),
        sign_ins_in_window=len(window),
        history_sign_ins=len(history),
        history_countries=tuple(known),
        risk=read.risk,
        roles=read.roles,
        methods=read.methods,
        flags=tuple(flags),
        notes=tuple(notes),
    )


def _odd_ips(
    target: Target, history: Sequence[SignInEntry], tenant: TenantConfig
) -> frozenset[str]:
    """The addresses the changes came from that are not the organisation's (module doc)."""
    from driftguard.investigate.attribution import is_trusted

    ranges = tenant.trusted_ip_ranges
    if ranges:
        return frozenset(ip for ip in target.change_ips if not is_trusted(ip, ranges))
    seen = {s.ip for s in history if s.error_code == 0 and s.ip}
    return frozenset(ip for ip in target.change_ips if ip not in seen)


def _with_flags(sign_in: SignInEntry, odd_ips: frozenset[str], known: set[str]) -> SignInEntry:
    if sign_in.error_code != 0:
        return sign_in
    kinds: list[FlagKind] = []
    if sign_in.ip and sign_in.ip in odd_ips:
        kinds.append(FlagKind.CHANGE_IP)
    if known and sign_in.country and sign_in.country not in known:
        kinds.append(FlagKind.NEW_COUNTRY)
    if sign_in.client.lower() in LEGACY_CLIENTS:
        kinds.append(FlagKind.LEGACY_AUTH)
    if sign_in.authentication.lower() == "singlefactorauthentication":
        kinds.append(FlagKind.NO_MFA)
    return replace(sign_in, flags=tuple(kinds)) if kinds else sign_in


def _sign_in_detail(kind: FlagKind, hits: Sequence[SignInEntry]) -> str:
    first = hits[0]
    match kind:
        case FlagKind.CHANGE_IP:
            what = f"from {first.ip}"
        case FlagKind.NEW_COUNTRY:
            what = "from " + (", ".join(p for p in (first.city, first.country) if p) or "?")
        case FlagKind.LEGACY_AUTH:
            what = f"with {first.client}"
        case FlagKind.NO_MFA:
            what = f"to {first.app or 'an app'} from {first.ip or 'an unknown IP'}"
        case FlagKind.NEW_METHOD | FlagKind.RISKY_USER | FlagKind.PRIVILEGED_ROLE:
            what = ""  # not judged on sign-ins
        case _:
            assert_never(kind)
    more = f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""
    return f"{flag_title(kind)}: {moment(first.time)} {what}{more}"


def _method_flags(read: AccountRead, target: Target, rule: AccountRule) -> list[AccountFlag]:
    since = target.first_change - timedelta(hours=rule.method_hours)
    hits = [m for m in read.methods if since <= m.time <= target.last_change]
    if not hits:
        return []
    first = hits[0]
    before = target.first_change - first.time
    hours = max(0, int(before.total_seconds() // 3600))
    detail = first.detail or first.activity
    where = f" from {first.ip}" if first.ip else ""
    return [
        AccountFlag(
            FlagKind.NEW_METHOD,
            f"{flag_title(FlagKind.NEW_METHOD)}: {moment(first.time)}{where}, {hours} h before "
            f"the first change: {detail}",
        )
    ]


def _risk_flags(read: AccountRead) -> list[AccountFlag]:
    risk = read.risk
    if risk is None:
        return []
    state, level = risk.state.lower(), risk.level.lower()
    if state in _RISKY_STATES or (level in _RISKY_LEVELS and state not in _CLEARED_STATES):
        return [
            AccountFlag(
                FlagKind.RISKY_USER,
                f"{flag_title(FlagKind.RISKY_USER)}: risk level {risk.level}, state {risk.state}",
            )
        ]
    return []


def _role_flags(read: AccountRead, tenant: TenantConfig, notes: list[str]) -> list[AccountFlag]:
    privileged = [r.name for r in read.roles if r.privileged]
    if not privileged:
        return []
    if not tenant.admins:
        notes.append(f"holds {', '.join(privileged)}; tenant.yaml lists no admins to compare with")
        return []
    if read.target.actor.lower() in {a.lower() for a in tenant.admins}:
        return []
    return [
        AccountFlag(
            FlagKind.PRIVILEGED_ROLE,
            f"{flag_title(FlagKind.PRIVILEGED_ROLE)}: {', '.join(privileged)}",
        )
    ]


def _shown(sign_ins: Sequence[SignInEntry]) -> tuple[SignInEntry, ...]:
    """At most ``MAX_SIGN_INS_SHOWN``: every flagged one first, then the latest others; in time
    order."""
    if len(sign_ins) <= MAX_SIGN_INS_SHOWN:
        return tuple(sign_ins)
    flagged = [s for s in sign_ins if s.flags][:MAX_SIGN_INS_SHOWN]
    others = [s for s in sign_ins if not s.flags]
    room = MAX_SIGN_INS_SHOWN - len(flagged)
    kept = flagged + (others[-room:] if room > 0 else [])
    return tuple(sorted(kept, key=lambda s: s.time))
