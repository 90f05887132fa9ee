"""``respond`` as a value: Microsoft's playbook for a compromised connector, in its order (pure).

1. evidence: the investigation (timeline, attribution, actors, mail flow, alerts);
2. the revert plan: the connector actions;
3. the unblock: the connectors the service restricted, and their unblock actions;
4. the accounts that made the changes: findings and containment.

Each step has a status: done, needs approval (its actions are in the plan), or not possible (and
why). Steps 1 and 4 are lists of sections, each built by a small function from the
Investigation (``EVIDENCE_SECTIONS``, ``ACCOUNT_SECTIONS``): a new kind of evidence is one more
function in a tuple. Values in sections are untrusted text: renderers escape them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from driftguard.apply import Live, target_gaps
from driftguard.containment import AccountFinding, Standing
from driftguard.investigation import Investigation, moment
from driftguard.planmodel import Action, ActionKind, Plan
from driftguard.textsafe import bounded

MAX_ROWS: Final = 50
"""Rows a section shows; the rest are counted in its summary."""
VALUE_CHARS: Final = 300


class StepStatus(StrEnum):
    DONE = "done"
    NEEDS_APPROVAL = "needs approval"
    NOT_POSSIBLE = "not possible"


@dataclass(frozen=True)
class Section:
    """One piece of evidence: a title, a one-line summary, rows of named values."""

    title: str
    summary: str
    rows: tuple[Mapping[str, str], ...] = ()
    more: int = 0  # rows not shown (past MAX_ROWS)
    read: bool = True  # False: the source was not read (the summary says why)


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    status: StepStatus
    why: str
    sections: tuple[Section, ...] = ()
    actions: tuple[Action, ...] = ()  # the plan's actions this step still needs


@dataclass(frozen=True)
class Response:
    tenant: str
    tenant_id: str
    generated_at: datetime
    since: datetime
    until: datetime
    steps: tuple[Step, ...]
    plan_digest: str
    plan_path: str | None

    @property
    def exit_code(self) -> int:
        """0: every step done; 2: something awaits approval or cannot be done by driftguard."""
        return 0 if all(s.status is StepStatus.DONE for s in self.steps) else 2


# --------------------------------------------------------------------------- sections


def _v(value: object) -> str:
    return bounded("" if value is None else str(value), VALUE_CHARS)


def section(title: str, summary: str, rows: Sequence[Mapping[str, object]]) -> Section:
    """A section with at most MAX_ROWS rows, every value as bounded text."""
    shown = tuple({k: _v(v) for k, v in r.items()} for r in rows[:MAX_ROWS])
    return Section(title, summary, shown, max(0, len(rows) - MAX_ROWS))


def _not_read(title: str, inv: Investigation, source: str) -> Section:
    return Section(title, f"not read: {inv.sources.get(source, 'not requested')}", read=False)


def timeline_section(inv: Investigation) -> Section:
    latest = list(reversed(inv.timeline))
    rows = [
        {
            "time": moment(e.time),
            "kind": e.kind.value,
            "connector": e.connector,
            "actor": e.actor,
            "client_ip": e.client_ip or "",
            "operation": e.operation,
            "flags": ", ".join(e.flags),
        }
        for e in latest
    ]
    return section("timeline", f"{len(rows)} entries, latest first", rows)


def attribution_section(inv: Investigation) -> Section:
    if inv.attribution is None:
        return _not_read("attribution", inv, "audit")
    rows = [
        {
            "finding": a.kind.value,
            "connector": a.connector,
            "field": a.field or "",
            "actors": ", ".join(a.actors),
            "events": a.events,
            "note": a.note or "",
        }
        for a in inv.attribution
    ]
    unexplained = sum(1 for a in inv.attribution if not a.attributed)
    return section("attribution", f"{len(rows)} findings, {unexplained} unexplained", rows)


def actors_section(inv: Investigation) -> Section:
    if inv.actors is None:
        return _not_read("actors", inv, "audit")
    rows = [
        {
            "actor": a.actor,
            "verdict": a.verdict,
            "reasons": "; ".join(a.reasons),
            "client_ips": ", ".join(a.client_ips),
            "last_change": moment(a.last),
        }
        for a in inv.actors
    ]
    return section("actors", f"{len(rows)} possibly compromised admin accounts", rows)


def mail_flow_section(inv: Investigation) -> Section:
    flow = inv.mail_flow
    if flow is None:
        return _not_read("mail flow", inv, "message_trace")
    rows: list[Mapping[str, object]] = [
        {
            "connector": s.connector,
            "day": s.day.isoformat(),
            "volume": s.volume,
            "median": f"{s.median:g}",
            "robust_z": f"{s.robust_z:g}",
        }
        for s in flow.spikes
    ]
    volumes = ", ".join(f"{name}: {n}" for name, n in sorted(flow.recent_messages.items()))
    summary = f"{flow.rows} messages traced ({volumes or 'none through a connector'}); "
    return section("mail flow", summary + f"{len(rows)} volume spikes", rows)


def alerts_section(inv: Investigation) -> Section:
    if inv.alerts is None:
        return _not_read("alerts", inv, "alerts")
    rows = [
        {
            "title": a.title,
            "severity": a.severity,
            "status": a.status,
            "created": moment(a.created) if a.created else "",
            "connectors": ", ".join(a.connectors),
        }
        for a in inv.alerts
    ]
    return section("alerts", f"{len(rows)} alerts", rows)


def blocked_section(inv: Investigation) -> Section:
    if inv.blocked is None:
        return _not_read("blocked connectors", inv, "blocked")
    rows = [
        {
            "connector": b.connector,
            "since": moment(b.created) if b.created else "",
            "reason": b.reason or "",
            "ndr": b.ndr,
        }
        for b in inv.blocked
    ]
    return section("blocked connectors", f"{len(rows)} blocked by the service", rows)


def hunting_section(inv: Investigation) -> Section:
    """Explorer's evidence per connector (advanced hunting or its export): totals over the
    window, the busiest foreign P1/P2 domain pairs, and why a connector looks suspicious."""
    hunting = inv.hunting
    if hunting is None:
        return _not_read("Explorer evidence (advanced hunting)", inv, "hunting")
    rows = [
        {
            "connector": c.connector,
            "messages": sum(d.messages for d in c.days),
            "junked": sum(d.junked for d in c.days),
            "p1_p2_mismatched": sum(d.mismatched for d in c.days),
            "foreign_domains": sum(d.foreign for d in c.days),
            "outside_ranges": sum(d.outside_ranges for d in c.days),
            "top_foreign": ", ".join(
                f"{f.mail_from_domain} / {f.from_domain}: {f.messages}" for f in c.top_foreign
            ),
            "why": "; ".join(c.reasons),
        }
        for c in hunting.connectors
    ]
    suspicious = sum(1 for c in hunting.connectors if c.reasons)
    summary = f"{len(rows)} connectors from {hunting.source}, {suspicious} suspicious"
    return section("Explorer evidence (advanced hunting)", summary, rows)


EVIDENCE_SECTIONS: tuple[Callable[[Investigation], Section], ...] = (
    timeline_section,
    attribution_section,
    actors_section,
    hunting_section,
    mail_flow_section,
    alerts_section,
)
"""Step 1, in order."""


def account_flags_section(inv: Investigation) -> Section:
    """What a responder looks for in each actor's account: one row per flag, then one row per
    account with nothing flagged (so a clean account is visibly clean, not missing)."""
    if inv.accounts is None:
        return _not_read("admin accounts", inv, "accounts")
    rows: list[Mapping[str, object]] = []
    for entry in inv.accounts.accounts:
        status = "enabled" if entry.enabled else "disabled" if entry.enabled is False else "unknown"
        rows.extend(
            {"actor": entry.actor, "account": status, "flag": f.kind.value, "detail": f.detail}
            for f in entry.flags
        )
        if not entry.flags:
            rows.append({"actor": entry.actor, "account": status, "flag": "", "detail": "none"})
    flagged = sum(1 for e in inv.accounts.accounts if e.flags)
    summary = f"{len(inv.accounts.accounts)} accounts read, {flagged} flagged"
    if inv.accounts.skipped:
        summary += f", {len(inv.accounts.skipped)} not users (skipped)"
    return section("admin accounts", summary, rows)


def sign_ins_section(inv: Investigation) -> Section:
    """The sign-ins around the changes, flagged ones first (as the account reader keeps them)."""
    if inv.accounts is None:
        return _not_read("sign-ins", inv, "accounts")
    rows = [
        {
            "actor": entry.actor,
            "time": moment(s.time),
            "ip": s.ip or "",
            "country": s.country,
            "app": s.app,
            "client": s.client,
            "authentication": s.authentication,
            "result": "success" if s.error_code == 0 else f"error {s.error_code}",
            "flags": ", ".join(f.value for f in s.flags),
        }
        for entry in inv.accounts.accounts
        for s in entry.sign_ins
    ]
    return section("sign-ins", f"{len(rows)} sign-ins around the changes", rows)


ACCOUNT_SECTIONS: tuple[Callable[[Investigation], Section], ...] = (
    account_flags_section,
    sign_ins_section,
)
"""Step 4's evidence about each actor, before the containment."""


def containment_section(findings: Sequence[AccountFinding]) -> Section:
    rows = [
        {
            "actor": f.actor,
            "user_id": f.user.id if f.user else "",
            "listed_admin": "yes" if f.listed_admin else "no",
            "reasons": "; ".join(f.reasons),
            "last_change": moment(f.last_change),
            "account_enabled": "" if f.user is None else str(f.user.enabled).lower(),
            "sessions_valid_from": (f.user.sessions_from or "") if f.user else "",
            "containment": f"{f.standing.value}: {f.why}",
        }
        for f in findings
    ]
    return section("containment", f"{len(rows)} flagged accounts", rows)


# --------------------------------------------------------------------------- steps

_REVERT_KINDS = frozenset(
    {ActionKind.DISABLE, ActionKind.REMOVE, ActionKind.REVERT, ActionKind.CREATE}
)


def pending(plan: Plan, kinds: frozenset[ActionKind]) -> tuple[Action, ...]:
    """The plan's connector actions of ``kinds`` not already in place in the live state it
    recorded (e.g. an unknown connector disabled by an earlier apply)."""
    chosen = [a for a in plan.actions if a.kind in kinds]
    if plan.live is None:
        return tuple(chosen)
    live = Live(
        records=(),
        connectors=tuple(c.connector() for c in plan.live.connectors),
        blocked=plan.live.blocked,
    )
    return tuple(a for a in chosen if target_gaps(a, live))


def evidence_step(inv: Investigation) -> Step:
    sections = tuple(build(inv) for build in EVIDENCE_SECTIONS)
    unread = [s.title for s in sections if not s.read]
    if unread:
        return Step(
            1, "evidence", StepStatus.NOT_POSSIBLE, "not read: " + ", ".join(unread), sections
        )
    return Step(1, "evidence", StepStatus.DONE, "the evidence was read", sections)


def revert_step(plan: Plan) -> Step:
    actions = pending(plan, _REVERT_KINDS)
    title = "revert the connectors"
    if actions:
        return Step(2, title, StepStatus.NEEDS_APPROVAL, f"{len(actions)} actions", (), actions)
    if plan.notes:
        return Step(2, title, StepStatus.NOT_POSSIBLE, "; ".join(plan.notes))
    kept = [a.connector for a in plan.actions if a.kind is ActionKind.DISABLE]
    why = "the connectors are as approved"
    if kept:
        why += f"; {len(kept)} unknown connectors are disabled and kept as evidence"
    return Step(2, title, StepStatus.DONE, why)


def unblock_step(plan: Plan, inv: Investigation) -> Step:
    title = "unblock the connectors"
    sections = (blocked_section(inv),)
    if plan.live is None or plan.live.blocked is None:
        why = "the blocked connectors could not be read"
        return Step(3, title, StepStatus.NOT_POSSIBLE, why, sections)
    actions = pending(plan, frozenset({ActionKind.UNBLOCK}))
    if actions:
        why = f"{len(actions)} actions (each once its connector is exactly its baseline)"
        return Step(3, title, StepStatus.NEEDS_APPROVAL, why, sections, actions)
    return Step(3, title, StepStatus.DONE, "no connector is blocked", sections)


def account_step(plan: Plan, inv: Investigation, findings: Sequence[AccountFinding]) -> Step:
    title = "contain the accounts"
    sections = (*(build(inv) for build in ACCOUNT_SECTIONS), containment_section(findings))
    actions = tuple(a for a in plan.actions if a.kind.on_account)
    if actions:
        why = f"{len(actions)} actions (Microsoft Graph, credential auth.graph_write)"
        return Step(4, title, StepStatus.NEEDS_APPROVAL, why, sections, actions)
    if inv.actors is None:
        return Step(4, title, StepStatus.NOT_POSSIBLE, "the audit trail was not read", sections)
    impossible = [f for f in findings if f.standing is Standing.NOT_POSSIBLE]
    if impossible:
        why = "; ".join(f"{f.actor}: {f.why}" for f in impossible)
        return Step(4, title, StepStatus.NOT_POSSIBLE, why, sections)
    if not findings:
        return Step(4, title, StepStatus.DONE, "no account is flagged", sections)
    return Step(4, title, StepStatus.DONE, "every flagged account is contained", sections)


def steps(plan: Plan, inv: Investigation, findings: Sequence[AccountFinding]) -> tuple[Step, ...]:
    return (
        evidence_step(inv),
        revert_step(plan),
        unblock_step(plan, inv),
        account_step(plan, inv, findings),
    )
