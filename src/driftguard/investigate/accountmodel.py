"""The admin account investigation as a typed value (``Investigation.accounts``).

For each user the audit trail names (an actor of a connector operation in the window): the
sign-ins around its changes, its risk state, its directory roles, the security info registered
for it, and the flags a responder looks for, each named and explained (``FlagKind``). App-only
actors are listed in ``skipped`` with the reason.

The JSON shape (report schema ``account_section``)::

    {"rule": {"before_change_days", "history_days", "method_hours"},
     "accounts": [{"actor", "user_id", "display_name", "enabled", "first_change", "last_change",
                   "change_ips", "sign_ins": [...], "sign_ins_in_window", "history_sign_ins",
                   "history_countries", "risk", "roles", "methods", "flags", "notes"}],
     "skipped": [{"actor", "reason"}], "not_investigated": N}

Reading back is as strict as the rest of the evidence (``investigation._Obj``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, assert_never

from driftguard.investigation import EvidenceError, _Obj, moment


class FlagKind(StrEnum):
    CHANGE_IP = "change-ip"
    NEW_COUNTRY = "new-country"
    LEGACY_AUTH = "legacy-auth"
    NO_MFA = "no-mfa"
    NEW_METHOD = "new-method"
    RISKY_USER = "risky-user"
    PRIVILEGED_ROLE = "privileged-role"


def flag_title(kind: FlagKind) -> str:
    """What the flag means, in one phrase (the detail says what was seen)."""
    match kind:
        case FlagKind.CHANGE_IP:
            return "signed in from the untrusted IP address that made the change"
        case FlagKind.NEW_COUNTRY:
            return "signed in from a country not seen before the window"
        case FlagKind.LEGACY_AUTH:
            return "signed in with legacy authentication"
        case FlagKind.NO_MFA:
            return "signed in with a single factor (no MFA)"
        case FlagKind.NEW_METHOD:
            return "security info registered within a day before the change"
        case FlagKind.RISKY_USER:
            return "Identity Protection rates the user as risky"
        case FlagKind.PRIVILEGED_ROLE:
            return "holds a privileged directory role but is not a listed admin"
        case _:
            assert_never(kind)


@dataclass(frozen=True)
class AccountRule:
    """The windows the flags are judged over."""

    before_change_days: int  # sign-ins shown and judged: from this long before the first change
    history_days: int  # countries seen in this many days before that are not "new"
    method_hours: int  # a registration this long before a change (or between changes) is flagged


@dataclass(frozen=True)
class SignInEntry:
    time: datetime
    ip: str | None
    country: str
    city: str
    app: str
    client: str  # clientAppUsed
    authentication: str  # authenticationRequirement: singleFactorAuthentication / multiFactor...
    conditional_access: str  # conditionalAccessStatus
    error_code: int  # status.errorCode; 0 = success
    interactive: bool
    flags: tuple[FlagKind, ...] = ()


@dataclass(frozen=True)
class RiskEntry:
    level: str
    state: str
    detail: str
    updated: datetime | None


@dataclass(frozen=True)
class RoleEntry:
    name: str
    template_id: str
    scope: str
    privileged: bool


@dataclass(frozen=True)
class MethodEntry:
    time: datetime
    activity: str
    detail: str
    ip: str | None


@dataclass(frozen=True)
class AccountFlag:
    kind: FlagKind
    detail: str


@dataclass(frozen=True)
class AccountEntry:
    actor: str
    user_id: str | None  # None: not found in the directory
    display_name: str | None
    enabled: bool | None
    first_change: datetime
    last_change: datetime
    change_ips: tuple[str, ...]
    sign_ins: tuple[SignInEntry, ...]  # around the change, flagged ones first kept when bounded
    sign_ins_in_window: int
    history_sign_ins: int
    history_countries: tuple[str, ...]
    risk: RiskEntry | None  # None: not listed by Identity Protection (or not in the directory)
    roles: tuple[RoleEntry, ...]
    methods: tuple[MethodEntry, ...]
    flags: tuple[AccountFlag, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class SkippedActor:
    actor: str
    reason: str


@dataclass(frozen=True)
class AccountsSection:
    rule: AccountRule
    accounts: tuple[AccountEntry, ...]
    skipped: tuple[SkippedActor, ...]
    not_investigated: int  # user actors beyond the bound, named in no entry

    @property
    def flagged(self) -> tuple[AccountEntry, ...]:
        return tuple(a for a in self.accounts if a.flags)


# --------------------------------------------------------------------------- to JSON


def _opt(value: datetime | None) -> str | None:
    return None if value is None else moment(value)


def to_json(section: AccountsSection) -> dict[str, Any]:
    return {
        "rule": {
            "before_change_days": section.rule.before_change_days,
            "history_days": section.rule.history_days,
            "method_hours": section.rule.method_hours,
        },
        "accounts": [_account_json(a) for a in section.accounts],
        "skipped": [{"actor": s.actor, "reason": s.reason} for s in section.skipped],
        "not_investigated": section.not_investigated,
    }


def _account_json(a: AccountEntry) -> dict[str, Any]:
    return {
        "actor": a.actor,
        "user_id": a.user_id,
        "display_name": a.display_name,
        "enabled": a.enabled,
        "first_change": moment(a.first_change),
        "last_change": moment(a.last_change),
        "change_ips": list(a.change_ips),
        "sign_ins": [_sign_in_json(s) for s in a.sign_ins],
        "sign_ins_in_window": a.sign_ins_in_window,
        "history_sign_ins": a.history_sign_ins,
        "history_countries": list(a.history_countries),
        "risk": None
        if a.risk is None
        else {
            "level": a.risk.level,
            "state": a.risk.state,
            "detail": a.risk.detail,
            "updated": _opt(a.risk.updated),
        },
        "roles": [
            {
                "name": r.name,
                "template_id": r.template_id,
                "scope": r.scope,
                "privileged": r.privileged,
            }
            for r in a.roles
        ],
        "methods": [
            {"time": moment(m.time), "activity": m.activity, "detail": m.detail, "ip": m.ip}
            for m in a.methods
        ],
        "flags": [{"kind": f.kind.value, "detail": f.detail} for f in a.flags],
        "notes": list(a.notes),
    }


def _sign_in_json(s: SignInEntry) -> dict[str, Any]:
    return {
        "time": moment(s.time),
        "ip": s.ip,
        "country": s.country,
        "city": s.city,
        "app": s.app,
        "client": s.client,
        "authentication": s.authentication,
        "conditional_access": s.conditional_access,
        "error_code": s.error_code,
        "interactive": s.interactive,
        "flags": [k.value for k in s.flags],
    }


# --------------------------------------------------------------------------- from JSON


def _kind(o: _Obj, key: str) -> FlagKind:
    raw = o.text(key)
    try:
        return FlagKind(raw)
    except ValueError:
        raise EvidenceError(o.at(key), f"unknown account flag {raw!r}") from None


def _opt_flag(o: _Obj, key: str) -> bool | None:
    return None if o.raw(key) is None else o.flag(key)


def from_json(o: _Obj) -> AccountsSection:
    rule = o.obj("rule")
    parsed_rule = AccountRule(
        before_change_days=rule.whole("before_change_days"),
        history_days=rule.whole("history_days"),
        method_hours=rule.whole("method_hours"),
    )
    rule.done()
    section = AccountsSection(
        rule=parsed_rule,
        accounts=o.items("accounts", _account_from),
        skipped=o.items("skipped", _skipped_from),
        not_investigated=o.whole("not_investigated"),
    )
    o.done()
    return section


def _skipped_from(o: _Obj) -> SkippedActor:
    entry = SkippedActor(actor=o.text("actor"), reason=o.text("reason"))
    o.done()
    return entry


def _account_from(o: _Obj) -> AccountEntry:
    risk = None if o.raw("risk") is None else _risk_from(o.obj("risk"))
    entry = AccountEntry(
        actor=o.text("actor"),
        user_id=o.opt_text("user_id"),
        display_name=o.opt_text("display_name"),
        enabled=_opt_flag(o, "enabled"),
        first_change=o.time("first_change"),
        last_change=o.time("last_change"),
        change_ips=o.texts("change_ips"),
        sign_ins=o.items("sign_ins", _sign_in_from),
        sign_ins_in_window=o.whole("sign_ins_in_window"),
        history_sign_ins=o.whole("history_sign_ins"),
        history_countries=o.texts("history_countries"),
        risk=risk,
        roles=o.items("roles", _role_from),
        methods=o.items("methods", _method_from),
        flags=o.items("flags", _flag_from),
        notes=o.texts("notes"),
    )
    o.done()
    return entry


def _risk_from(o: _Obj) -> RiskEntry:
    entry = RiskEntry(
        level=o.text("level"),
        state=o.text("state"),
        detail=o.text("detail"),
        updated=o.opt_time("updated"),
    )
    o.done()
    return entry


def _role_from(o: _Obj) -> RoleEntry:
    entry = RoleEntry(
        name=o.text("name"),
        template_id=o.text("template_id"),
        scope=o.text("scope"),
        privileged=o.flag("privileged"),
    )
    o.done()
    return entry


def _method_from(o: _Obj) -> MethodEntry:
    entry = MethodEntry(
        time=o.time("time"),
        activity=o.text("activity"),
        detail=o.text("detail"),
        ip=o.opt_text("ip"),
    )
    o.done()
    return entry


def _flag_from(o: _Obj) -> AccountFlag:
    entry = AccountFlag(kind=_kind(o, "kind"), detail=o.text("detail"))
    o.done()
    return entry


def _sign_in_from(o: _Obj) -> SignInEntry:
    raw_flags = o.texts("flags")
    flags = []
    for i, raw in enumerate(raw_flags):
        try:
            flags.append(FlagKind(raw))
        except ValueError:
            raise EvidenceError(f"{o.at('flags')}[{i}]", f"unknown account flag {raw!r}") from None
    code = o.raw("error_code")
    if isinstance(code, bool) or not isinstance(code, int):
        raise EvidenceError(o.at("error_code"), "expected a whole number")
    entry = SignInEntry(
        time=o.time("time"),
        ip=o.opt_text("ip"),
        country=o.text("country"),
        city=o.text("city"),
        app=o.text("app"),
        client=o.text("client"),
        authentication=o.text("authentication"),
        conditional_access=o.text("conditional_access"),
        error_code=code,
        interactive=o.flag("interactive"),
        flags=tuple(flags),
    )
    o.done()
    return entry
