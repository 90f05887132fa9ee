"""``respond``'s report as text, JSON and Markdown (pure).

Every untrusted value (connector names, actors, UPNs, audit parameters, alert titles) is folded
to one line without control characters in text, escaped in Markdown, and a plain JSON string in
JSON. Each step's actions are shown as their summary and the command rendered from their
parameters, never stored text.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from driftguard.investigation import moment
from driftguard.planfile import short
from driftguard.planmodel import Action
from driftguard.report.escape import markdown_inline
from driftguard.response import Response, Section, Step
from driftguard.textsafe import one_line

RESPOND_VERSION = 1
SCHEMA_RESOURCE = "schema/respond.schema.json"


def schema() -> dict[str, Any]:
    """The packaged JSON Schema of ``respond --format json``."""
    text = resources.files("driftguard.report").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _s(value: object) -> str:
    return one_line("" if value is None else str(value))


def _approval(r: Response) -> list[str]:
    if r.exit_code == 0:
        return ["Every step is done."]
    needs = any(s.actions for s in r.steps)
    if not needs:
        return ["Nothing driftguard can do awaits approval: see the steps not possible."]
    where = r.plan_path or "PLAN (write it with --out PLAN)"
    return [
        f"plan digest: {r.plan_digest}",
        f"approve with: driftguard apply {where} --approve {r.plan_digest}  "
        f"(or type {short(r.plan_digest)} when asked)",
    ]


# --------------------------------------------------------------------------- text


def render_text(r: Response) -> str:
    lines = [
        f"Response playbook for tenant {_s(r.tenant)} ({_s(r.tenant_id)})",
        f"  window {moment(r.since)} .. {moment(r.until)}, made {moment(r.generated_at)}",
        "",
    ]
    for step in r.steps:
        lines += _text_step(step)
    lines += _approval(r)
    return "\n".join(lines) + "\n"


def _text_step(step: Step) -> list[str]:
    lines = [f"Step {step.number}: {step.title} [{step.status.value}] {_s(step.why)}"]
    for sec in step.sections:
        lines.append(f"  {sec.title}: {_s(sec.summary)}")
        for row in sec.rows:
            lines.append("    - " + "; ".join(f"{k}: {_s(v)}" for k, v in row.items() if v))
        if sec.more:
            lines.append(f"    ({sec.more} more not shown)")
    for a in step.actions:
        lines.append(f"  [{a.id}] {_s(a.summary)}")
        lines.append(f"      {_s(a.command)}")
    lines.append("")
    return lines


# --------------------------------------------------------------------------- JSON


def to_json(r: Response) -> dict[str, Any]:
    return {
        "respond_version": RESPOND_VERSION,
        "tenant": r.tenant,
        "tenant_id": r.tenant_id,
        "generated_at": moment(r.generated_at),
        "window": {"since": moment(r.since), "until": moment(r.until)},
        "steps": [_json_step(s) for s in r.steps],
        "plan": {"digest": r.plan_digest, "path": r.plan_path},
        "exit_code": r.exit_code,
    }


def _json_section(sec: Section) -> dict[str, Any]:
    return {
        "title": sec.title,
        "summary": sec.summary,
        "read": sec.read,
        "rows": [dict(row) for row in sec.rows],
        "more_rows": sec.more,
    }


def _json_action(a: Action) -> dict[str, Any]:
    return {
        "id": a.id,
        "kind": a.kind.value,
        "target": a.connector,
        "target_id": a.guid,
        "credential": a.credential,
        "summary": a.summary,
        "command": a.command,
    }


def _json_step(step: Step) -> dict[str, Any]:
    return {
        "step": step.number,
        "title": step.title,
        "status": step.status.value,
        "why": step.why,
        "sections": [_json_section(s) for s in step.sections],
        "actions": [_json_action(a) for a in step.actions],
    }


def render_json(r: Response) -> str:
    return json.dumps(to_json(r), indent=2, ensure_ascii=True) + "\n"  # inert on a terminal


# --------------------------------------------------------------------------- Markdown


def render_markdown(r: Response) -> str:
    m = markdown_inline
    lines = [
        f"# Response playbook: {m(r.tenant)}",
        "",
        f"Tenant id {m(r.tenant_id)}; window {moment(r.since)} .. {moment(r.until)}.",
        "",
    ]
    for step in r.steps:
        lines += [f"## Step {step.number}: {step.title} ({step.status.value})", "", m(step.why), ""]
        for sec in step.sections:
            lines += [f"### {m(sec.title)}", "", m(sec.summary), ""]
            if sec.rows:
                keys = list(sec.rows[0])
                lines.append("| " + " | ".join(m(k) for k in keys) + " |")
                lines.append("|" + "---|" * len(keys))
                for row in sec.rows:
                    lines.append("| " + " | ".join(m(row.get(k, "")) for k in keys) + " |")
                lines.append("")
            if sec.more:
                lines += [f"{sec.more} more rows not shown.", ""]
        for a in step.actions:
            lines.append(f"- `{a.id}` {m(a.summary)}: {m(a.command)}")
        if step.actions:
            lines.append("")
    lines += [m(line) for line in _approval(r)]
    return "\n".join(lines) + "\n"
