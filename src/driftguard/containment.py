"""Containment of the accounts that changed the connectors (pure): who is proposed, which actions,
and whether an account is already contained.

The rule. Every actor the investigation's actor verdict calls a possibly compromised admin
account (its connector changes in the window came from outside the listed admins, from an unusual
IP, or through external access) is proposed, *including* an actor listed in tenant.yaml
``admins``: being a listed admin makes an account worth more to an attacker, not trustworthy,
and the verdict already weighs the listing. Actors the verdict does not flag are never proposed,
nor are driftguard's own apps (never flagged). Only user principals are contained: an actor that
is not a ``name@domain`` the directory knows (an application, a service, a deleted user) is
reported as not possible, with why.

An account is contained when its sign-in is blocked (``accountEnabled`` false) or its sessions
were revoked after its last flagged change (``signInSessionsValidFromDateTime`` later than that
change): a token stolen before the change no longer works. Otherwise the plan revokes its
sessions, and, with ``--block-sign-in``, blocks its sign-in too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, assert_never

from driftguard.investigate.auditrecords import parse_time
from driftguard.jsontype import Json
from driftguard.planmodel import (
    ENABLED,
    GRAPH_REVOKE,
    GRAPH_UPDATE,
    SESSIONS_FROM,
    Action,
    ActionKind,
    Plan,
)
from driftguard.textsafe import LINE_UNSAFE

if TYPE_CHECKING:
    from driftguard.investigation import ActorEntry
    from driftguard.live.graphusers import UserState
    from driftguard.model import TenantConfig


class Standing(StrEnum):
    CONTAINED = "contained"
    TO_CONTAIN = "to contain"
    NOT_POSSIBLE = "not possible"


@dataclass(frozen=True)
class AccountFinding:
    """One flagged actor, its user account (when it is one) and where containment stands."""

    actor: str  # as the audit trail names it
    reasons: tuple[str, ...]
    client_ips: tuple[str, ...]
    last_change: datetime
    listed_admin: bool
    user: UserState | None
    standing: Standing
    why: str  # contained: how; to contain: what is missing; not possible: why


@dataclass(frozen=True)
class Draft:
    """An account action before it is numbered into a plan."""

    kind: ActionKind
    upn: str
    user_id: str
    parameters: dict[str, Json]
    precondition: dict[str, Json]


def is_user_principal(actor: str) -> bool:
    """``name@domain``, no spaces or control characters: what Graph can look up as a user."""
    name, at, domain = actor.partition("@")
    return (
        bool(name and at and "." in domain)
        and "@" not in domain
        and not any(c.isspace() for c in actor)
        and not LINE_UNSAFE.search(actor)
        and len(actor) <= 256
    )


def parse_graph_time(text: str | None) -> datetime | None:
    """A Graph time (UTC, ``Z``), read as every service time is (auditrecords.parse_time)."""
    return None if text is None else parse_time(text)


def assess(
    actor: ActorEntry,
    user: UserState | None,
    tenant: TenantConfig,
    *,
    looked_up: bool,
    can_write: bool,
) -> AccountFinding:
    """Where containment of ``actor`` stands; ``looked_up``: the directory was asked (a user
    principal), ``user`` its answer (None: no such user)."""
    admins = {a.lower() for a in tenant.admins}

    def finding(standing: Standing, why: str) -> AccountFinding:
        return AccountFinding(
            actor=actor.actor,
            reasons=actor.reasons,
            client_ips=actor.client_ips,
            last_change=actor.last,
            listed_admin=actor.actor.lower() in admins,
            user=user,
            standing=standing,
            why=why,
        )

    if not looked_up:
        return finding(
            Standing.NOT_POSSIBLE,
            "not a user principal (an application or service): remove its credentials or "
            "consent by hand",
        )
    if user is None:
        return finding(Standing.NOT_POSSIBLE, "no such user in the directory (deleted or external)")
    how = contained_by(user, actor.last)
    if how is not None:
        return finding(Standing.CONTAINED, how)
    if not can_write:
        return finding(
            Standing.NOT_POSSIBLE, "no Graph write credential (auth.graph_write in tenant.yaml)"
        )
    return finding(
        Standing.TO_CONTAIN,
        f"sign-in sessions valid since {user.sessions_from or 'creation'}, before the last "
        "flagged change",
    )


def contained_by(user: UserState, last_change: datetime) -> str | None:
    """How the account is contained against a change at ``last_change``, or None."""
    if not user.enabled:
        return "sign-in is blocked (accountEnabled false)"
    since = parse_graph_time(user.sessions_from)
    if since is not None and since > last_change:
        return f"sessions revoked at {user.sessions_from}, after the last flagged change"
    return None


def drafts(
    findings: Sequence[AccountFinding], *, block_sign_in: bool, can_write: bool
) -> list[Draft]:
    """The containment actions, in the order of ``findings``: revoke the sessions of an account
    not contained, then (opt-in) block the sign-in of every flagged account still enabled."""
    out: list[Draft] = []
    for f in findings:
        user = f.user
        if user is None or not can_write or f.standing is Standing.NOT_POSSIBLE:
            continue
        kinds = [ActionKind.REVOKE] if f.standing is Standing.TO_CONTAIN else []
        if block_sign_in and user.enabled:
            kinds.append(ActionKind.BLOCK)
        for kind in kinds:
            out.append(
                Draft(kind, user.upn, user.id, parameters(kind, user.id), user.precondition())
            )
    return out


def parameters(kind: ActionKind, user_id: str) -> dict[str, Json]:
    """The Graph parameters of an account action: the only ones an account action may carry."""
    match kind:
        case ActionKind.REVOKE:
            return {"UserId": user_id}
        case ActionKind.BLOCK | ActionKind.ENABLE:
            return {"UserId": user_id, ENABLED: kind is ActionKind.ENABLE}
        case (
            ActionKind.DISABLE
            | ActionKind.REMOVE
            | ActionKind.REVERT
            | ActionKind.CREATE
            | ActionKind.UNBLOCK
            | ActionKind.RESTORE
        ):
            raise AssertionError(f"{kind} is not an account action")
        case _ as unreachable:
            assert_never(unreachable)


def operation(kind: ActionKind) -> str:
    return GRAPH_REVOKE if kind is ActionKind.REVOKE else GRAPH_UPDATE


def malformed(action: Action, *, block_sign_in: bool, rollback: bool) -> list[str]:
    """Why an account action in a plan file is not one driftguard makes (empty: it is)."""
    label = f"action {action.id}"
    if not action.guid:
        return [f"{label} names no user object id"]
    problems = []
    if action.cmdlet != operation(action.kind):
        problems.append(f"{label}: {action.kind.value} is not done by {action.cmdlet}")
    if dict(action.parameters) != parameters(action.kind, action.guid):
        problems.append(f"{label}: its parameters are not those of a {action.kind.value}")
    pre = action.precondition
    if not isinstance(pre, Mapping) or set(pre) != {ENABLED, SESSIONS_FROM}:
        problems.append(f"{label}: its precondition is not a recorded user state")
    allowed = {ActionKind.ENABLE} if rollback else {ActionKind.REVOKE, ActionKind.BLOCK}
    if action.kind not in allowed:
        problems.append(f"{label}: {action.kind.value} does not belong in this plan")
    if action.kind is ActionKind.BLOCK and not block_sign_in:
        problems.append(f"{label}: blocks sign-in, but the plan was made without --block-sign-in")
    return problems


def target_gaps(action: Action, user: UserState | None) -> list[str]:
    """What still differs from the account action's target (empty: in place)."""
    if user is None:
        return ["the user does not exist"]
    pre = action.precondition if isinstance(action.precondition, Mapping) else {}
    match action.kind:
        case ActionKind.REVOKE:
            recorded = pre.get(SESSIONS_FROM)
            if later(user.sessions_from, recorded if isinstance(recorded, str) else None):
                return []
            return [f"{SESSIONS_FROM} is still {user.sessions_from}, not later than recorded"]
        case ActionKind.BLOCK | ActionKind.ENABLE:
            want = action.kind is ActionKind.ENABLE
            return [] if user.enabled is want else [f"{ENABLED} is {str(user.enabled).lower()}"]
        case (
            ActionKind.DISABLE
            | ActionKind.REMOVE
            | ActionKind.REVERT
            | ActionKind.CREATE
            | ActionKind.UNBLOCK
            | ActionKind.RESTORE
        ):
            raise AssertionError(f"{action.id} is not an account action")
        case _ as unreachable:
            assert_never(unreachable)


def later(now: str | None, recorded: str | None) -> bool:
    """Whether the valid-from time ``now`` is after ``recorded`` (anything is after none)."""
    moved = parse_graph_time(now)
    before = parse_graph_time(recorded)
    return moved is not None and (before is None or moved > before)


def account_changes(
    actions: Sequence[Action],
    users: Mapping[str, UserState | None],
    done: set[str],
    started: set[str],
) -> list[str]:
    """How the users the plan acts on moved since it was made (empty: as recorded, or moved
    only by this plan's own actions the journal shows as started). ``users``: by object id."""
    problems: list[str] = []
    moved_by: dict[str, set[ActionKind]] = {}
    for a in actions:
        if a.id in done or a.id in started:
            moved_by.setdefault(a.guid or "", set()).add(a.kind)
    for a in actions:
        label = f"user {a.connector!r}"
        user = users.get(a.guid or "")
        if a.id in done:
            gaps = target_gaps(a, user)
            if gaps:
                problems.append(
                    f"{label}: {a.id} is journalled as done, but {'; '.join(gaps)} "
                    "(undone since, or the journal is not genuine)"
                )
            continue
        if user is None:
            problems.append(f"{label} ({a.guid}) no longer exists")
            continue
        problems += _moved(label, a, user, moved_by.get(a.guid or "", set()))
    return list(dict.fromkeys(problems))


def _moved(label: str, a: Action, user: UserState, by_plan: set[ActionKind]) -> list[str]:
    pre = a.precondition if isinstance(a.precondition, Mapping) else {}
    out = []
    recorded_enabled = pre.get(ENABLED)
    if user.enabled != recorded_enabled:
        ours = (ActionKind.BLOCK in by_plan and not user.enabled) or (
            ActionKind.ENABLE in by_plan and user.enabled
        )
        if not ours:
            out.append(
                f"{label}: {ENABLED} is now {str(user.enabled).lower()}, the plan expected "
                f"{str(recorded_enabled).lower()}"
            )
    recorded_from = pre.get(SESSIONS_FROM)
    recorded_text = recorded_from if isinstance(recorded_from, str) else None
    if user.sessions_from != recorded_text:
        ours = ActionKind.REVOKE in by_plan and later(user.sessions_from, recorded_text)
        if not ours:
            out.append(
                f"{label}: {SESSIONS_FROM} is now {user.sessions_from}, the plan expected "
                f"{recorded_text}"
            )
    return out


def with_containment(plan: Plan, actions: Sequence[Draft], *, block_sign_in: bool) -> Plan:
    """``plan`` with the account actions after its connector actions, numbered on from them."""
    from driftguard.plan import make_action

    first = len(plan.actions) + 1
    built = tuple(
        make_action(
            f"{n:03d}-{d.kind.value}",
            d.kind,
            plan.tenant,
            d.upn,
            d.user_id,
            operation(d.kind),
            d.parameters,
            d.precondition,
        )
        for n, d in enumerate(actions, start=first)
    )
    return replace(plan, actions=plan.actions + built, block_sign_in=block_sign_in)
