"""The admin account investigation as plain text lines (``investigate`` text, and ``respond``).

Pure. UPNs, display names, app names, cities and reasons are attacker-influenced: every string
goes through ``one_line`` (no control characters, one line each).
"""

from __future__ import annotations

from driftguard.investigate.accountmodel import AccountEntry, AccountsSection, SignInEntry
from driftguard.investigation import moment
from driftguard.textsafe import one_line

MAX_SIGN_IN_LINES = 10


def _s(value: object) -> str:
    return one_line("" if value is None else str(value))


def render_accounts(section: AccountsSection, indent: str = "  ") -> list[str]:
    """One block per investigated account (flags first), then skipped actors."""
    lines: list[str] = []
    for account in section.accounts:
        lines.extend(_account(account, indent))
    for skipped in section.skipped:
        lines.append(f"{indent}SKIPPED ACTOR {_s(skipped.actor)}: {_s(skipped.reason)}")
    if section.not_investigated:
        lines.append(
            f"{indent}{section.not_investigated} more actors not investigated "
            f"(the latest {len(section.accounts)} were)"
        )
    if not lines:
        lines.append(f"{indent}accounts: no user acted on a connector in the window")
    return lines


def _account(a: AccountEntry, indent: str) -> list[str]:
    name = f" ({_s(a.display_name)})" if a.display_name else ""
    state = "" if a.enabled is None else ("" if a.enabled else ", sign-in blocked")
    verdict = f"{len(a.flags)} flag{'s' if len(a.flags) != 1 else ''}" if a.flags else "no flags"
    head = "FLAGGED ACCOUNT" if a.flags else "account"
    lines = [f"{indent}{head} {_s(a.actor)}{name}: {verdict}{state}"]
    inner = indent + "  "
    lines.extend(f"{inner}FLAG {f.kind.value}: {_s(f.detail)}" for f in a.flags)
    countries = ", ".join(_s(c) for c in a.history_countries) or "none"
    lines.append(
        f"{inner}changes {moment(a.first_change)} .. {moment(a.last_change)} from "
        f"{', '.join(_s(ip) for ip in a.change_ips) or 'unknown IPs'}; sign-ins around them: "
        f"{a.sign_ins_in_window}, before: {a.history_sign_ins} (countries: {countries})"
    )
    shown = a.sign_ins[-MAX_SIGN_IN_LINES:]
    if len(a.sign_ins) > len(shown):
        lines.append(f"{inner}  ... {len(a.sign_ins) - len(shown)} earlier in the JSON report")
    lines.extend(f"{inner}  {_sign_in(s)}" for s in shown)
    if a.risk is not None:
        when = f" (updated {moment(a.risk.updated)})" if a.risk.updated else ""
        lines.append(f"{inner}risk: {_s(a.risk.level)} / {_s(a.risk.state)}{when}")
    if a.roles:
        roles = ", ".join(_s(r.name) + (" (privileged)" if r.privileged else "") for r in a.roles)
        lines.append(f"{inner}roles: {roles}")
    for m in a.methods:
        where = f" from {_s(m.ip)}" if m.ip else ""
        lines.append(
            f"{inner}security info: {moment(m.time)} {_s(m.activity)}{where}: {_s(m.detail)}"
        )
    lines.extend(f"{inner}note: {_s(n)}" for n in a.notes)
    return lines


def _sign_in(s: SignInEntry) -> str:
    place = ", ".join(_s(p) for p in (s.city, s.country) if p) or "unknown location"
    result = "ok" if s.error_code == 0 else f"failed {s.error_code}"
    flags = f"  [{', '.join(k.value for k in s.flags)}]" if s.flags else ""
    return (
        f"{moment(s.time)}  {_s(s.ip) or '?'}  {place}  {_s(s.app)}  {_s(s.client)}  "
        f"{_s(s.authentication)}  CA {_s(s.conditional_access) or '?'}  {result}{flags}"
    )
