"""When a plan needs --force: mass disabling or removal, or touching a connector carrying mail.

Pure. Counts connectors a plan disables or removes (unknown connectors disabled or removed, and
reverts that set ``Enabled: false``) against an absolute and a relative limit, and, when
message-trace evidence is given, any action on a connector that carried mail recently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import assert_never

from driftguard.model import Connector
from driftguard.planmodel import Action, ActionKind


@dataclass(frozen=True)
class SafetyLimits:
    """When a plan needs --force. Counts connectors disabled or removed by the plan."""

    max_disabled: int = 3  # more than this many connectors disabled or removed
    max_fraction: float = 0.5  # or more than this share of the tenant's connectors (when > 1)
    mail_threshold: int = 0  # a connector with more recent messages than this carries mail


def unsafe_reasons(
    actions: Sequence[Action],
    live: Sequence[Connector],
    limits: SafetyLimits,
    mail_counts: Mapping[str, int] | None = None,
) -> list[str]:
    """Why a plan needs --force (empty when it does not)."""
    reasons: list[str] = []
    stopped = sorted({a.guid or a.connector.casefold() for a in actions if _stops_mail(a)})
    total = len(live)
    if len(stopped) > limits.max_disabled:
        reasons.append(
            f"it disables or removes {len(stopped)} connectors (limit {limits.max_disabled})"
        )
    elif len(stopped) > 1 and total and len(stopped) / total > limits.max_fraction:
        reasons.append(
            f"it disables or removes {len(stopped)} of the tenant's {total} connectors "
            f"(limit {limits.max_fraction:.0%})"
        )
    if mail_counts:
        counts = {k.casefold(): v for k, v in mail_counts.items()}
        named: set[str] = set()
        for a in actions:
            if not _touches_live_settings(a):  # a New or an unblock cuts off no mail that flows
                continue
            keys = [a.connector.casefold()] + ([a.guid.casefold()] if a.guid else [])
            recent = max((counts.get(k, 0) for k in keys), default=0)
            if recent > limits.mail_threshold and keys[0] not in named:
                named.add(keys[0])
                reasons.append(
                    f"connector {a.connector!r} carried {recent} messages recently "
                    f"(action {a.id}: {a.cmdlet})"
                )
    return reasons


def _touches_live_settings(a: Action) -> bool:
    match a.kind:
        case ActionKind.DISABLE | ActionKind.REVERT | ActionKind.RESTORE | ActionKind.REMOVE:
            return True
        case (
            ActionKind.CREATE
            | ActionKind.UNBLOCK
            | ActionKind.REVOKE
            | ActionKind.BLOCK
            | ActionKind.ENABLE
        ):
            return False
        case _ as unreachable:
            assert_never(unreachable)


def _stops_mail(a: Action) -> bool:
    match a.kind:
        case ActionKind.REMOVE:
            return True
        case ActionKind.DISABLE | ActionKind.REVERT | ActionKind.RESTORE:
            return a.parameters.get("Enabled") is False
        case (
            ActionKind.CREATE
            | ActionKind.UNBLOCK
            | ActionKind.REVOKE
            | ActionKind.BLOCK
            | ActionKind.ENABLE
        ):
            return False
        case _ as unreachable:
            assert_never(unreachable)
