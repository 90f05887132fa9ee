"""Broken and huge text through every renderer and `plan`: lone surrogates, megabyte comments,
terminal escapes. One tenant's text never fails the report of the others, and every rendered
value is bounded, with a marker saying so."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from applykit import TENANT, drifted
from driftguard import pwsh, textsafe
from driftguard.cli import main
from driftguard.cli._output import info
from driftguard.model import Report, Status, TenantReport
from driftguard.report import investigation_text, render
from driftguard.report.bounds import bounded
from driftguard.report.escape import html_text, markdown_inline, plain
from driftguard.sim import Simulator
from driftkit import HYBRID, wire, write_baseline
from report_samples import clean_tenant, hostile_investigation, hostile_report

FORMATS = ("text", "json", "markdown", "html", "sarif", "junit", "github")
HUGE = 3_000_000
MARKER = "more characters not shown"


def _with(text: str) -> Report:
    """The hostile sample with ``text`` in a comment, a finding's values, evidence and a warning,
    plus a clean tenant that must survive it."""
    base = hostile_report()
    tenant = base.tenants[0]
    finding = dataclasses.replace(tenant.findings[0], live=text, reason=text)
    evidence = hostile_investigation(text)
    hostile = dataclasses.replace(
        tenant,
        findings=(finding, *tenant.findings[1:]),
        warnings=(text,),
        evidence=evidence,
    )
    return dataclasses.replace(base, tenants=(hostile, *base.tenants[1:], clean_tenant()))


@pytest.mark.parametrize("fmt", FORMATS)
def test_lone_surrogates_render_in_every_format(fmt: str) -> None:
    text = render(_with("evil \ud800 name \udc80"), fmt)
    text.encode("utf-8")  # what writing the report does; a surrogate makes it raise
    assert "\ufffd" in text
    assert "northwind" in text  # the other tenants are still reported


def test_lone_surrogates_in_the_investigation_text_view() -> None:
    investigation_text.render(_with("evil \ud800")).encode("utf-8")


@pytest.mark.parametrize("fmt", FORMATS)
def test_huge_values_are_bounded_with_a_marker(fmt: str) -> None:
    text = render(_with("A" * HUGE), fmt)
    assert len(text) < 200_000, len(text)
    assert "A" * textsafe.MAX_CHARS in text
    assert "A" * (textsafe.MAX_CHARS + 1) not in text
    assert MARKER in text
    assert "northwind" in text


def test_bounded_keeps_short_text_and_marks_long_text() -> None:
    assert textsafe.bounded("short") == "short"
    cut = textsafe.bounded("x" * 2500)
    assert cut.startswith("x" * textsafe.MAX_CHARS)
    assert cut.endswith(f"[500 {MARKER}]")


def test_a_report_with_a_bad_tenant_keeps_the_good_one_in_json() -> None:
    report = Report(
        generated_at=hostile_report().generated_at,
        tenants=(
            TenantReport(tenant="bad", status=Status.ERROR, error="x\ud800" * 10_000),
            clean_tenant(),
        ),
    )
    document = json.loads(render(report, "json"))
    assert [t["tenant"] for t in document["tenants"]] == ["bad", "fabrikam"]
    assert MARKER in document["tenants"][0]["error"]


# --------------------------------------------------------------------------- one definition


UNSAFE = "a\u200fb\u2028c\ufeffd\x1b[31me\x1b[0m [31mf[0m\u202eg\x9b\ud800i"


def test_one_definition_of_unsafe_text_for_terminal_and_reports(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stripped = textsafe.strip_controls(UNSAFE)
    assert stripped == "abcde fg\ufffdi"
    info(f"error: {UNSAFE}\nsecond line")  # status and error lines show controls as escapes
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\\nsecond line" in err
    assert not set(err) & set("\u200f\u2028\ufeff\x1b\u202e\x9b\ud800")
    for escaped in (plain(UNSAFE), markdown_inline(UNSAFE), html_text(UNSAFE)):
        assert not set(escaped) & set("\u200f\u2028\ufeff\x1b\u202e\x9b\ud800")
        assert "[31m" not in escaped and "31m" not in escaped


@pytest.mark.parametrize(
    "char", ["\u200f", "\u2028", "\ufeff", "\x1b", "\u202e", "\x9b", "\ufff9", "\ud800", "\n"]
)
def test_the_powershell_line_and_error_lines_share_the_definition(char: str) -> None:
    quoted = pwsh.quote(f"a{char}b")
    assert char not in quoted and f"[char]{ord(char)}" in quoted
    assert char not in textsafe.visible(f"a{char}b")
    assert char not in textsafe.one_line(f"a{char}b")


def test_visible_keeps_a_name_on_one_line() -> None:
    assert textsafe.visible("folder\nname\t\x1b[2J\ud800") == "folder\\nname\\t\\u001b[2J\ufffd"


# --------------------------------------------------------------------------- through the CLI


def test_diff_and_plan_with_surrogates_from_a_live_file(tmp_path: Path) -> None:
    root = write_baseline(tmp_path / "baseline", [HYBRID])
    records = [
        wire(HYBRID, Comment="bad \ud800 comment " + "c" * 100_000),
        wire(HYBRID, Name="evil \udc80 name", Guid="bc4d5ab0-6637-4e91-8d47-f5c2e95c71d9"),
    ]
    live = tmp_path / "live.json"
    live.write_text(json.dumps(records), "utf-8")  # ASCII: the surrogates as \ud800 escapes
    for fmt in FORMATS:
        out = tmp_path / f"report.{fmt}"
        args = ["diff", "--baseline", str(root), "--live", str(live), "--format", fmt]
        assert main([*args, "--output", str(out)]) == 2, fmt
        shown = out.read_text("utf-8")
        assert "evil \ufffd name" in shown or "evil \\ufffd name" in shown or fmt == "junit"
        assert len(shown) < 100_000
    plan = tmp_path / "plan.json"
    args = ["plan", "--baseline", str(root), "--live", str(live), "--out", str(plan)]
    assert main(args) == 2
    assert "evil \ufffd name" in plan.read_text("utf-8")


def test_surrogates_from_the_admin_api_render_in_every_format(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    """The simulated service keeps a name with a lone surrogate as .NET would and sends it as a
    JSON escape; every format still renders and can be written as UTF-8."""
    setup = drifted(sim_factory, tmp_path)
    setup.tamper(
        "New-InboundConnector",
        {"Name": "evil \ud800 name", "ConnectorType": "Partner", "SenderDomains": ["x.example"]},
    )
    for fmt in FORMATS:
        out = tmp_path / f"report.{fmt}"
        args = ["diff", "--baseline", str(setup.baseline), "--tenant", TENANT, "--format", fmt]
        assert main([*args, "--output", str(out)]) == 2, fmt
        out.read_text("utf-8")


def test_plan_with_a_surrogate_from_the_admin_api(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    setup = drifted(sim_factory, tmp_path)
    setup.tamper(
        "New-InboundConnector",
        {"Name": "evil \ud800 name", "ConnectorType": "Partner", "SenderDomains": ["x.example"]},
    )
    code, path, _ = setup.plan()
    assert code == 2
    assert "evil \ufffd name" in path.read_text("utf-8")


def test_a_newline_in_a_live_file_name_never_splits_an_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_baseline(tmp_path / "baseline", [HYBRID])
    live = tmp_path / "new\nline.json"
    live.write_text('[{"Name": "x", "Name": "y"}]', "utf-8")
    assert main(["diff", "--baseline", str(root), "--live", str(live)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "line.json" in line]
    assert lines and all(line.startswith("error: contoso: ") for line in lines), err
    assert all("new\\nline.json" in line for line in lines)


@pytest.mark.parametrize(
    "member", ["A" * (textsafe.MAX_CHARS + 5), "lone \ud800 surrogate", "caf\u00e9 " * 450]
)
def test_list_values_are_bounded_member_by_member(member: str) -> None:
    """A list value of short ASCII members is kept whole at once; one long or broken member
    sends the list through the member-by-member bound."""
    base = hostile_report()
    tenant = base.tenants[0]
    plain = tuple(f"10.0.{i}.1/32" for i in range(200))
    finding = dataclasses.replace(tenant.findings[0], baseline=plain, live=(*plain, member))
    report = dataclasses.replace(base, tenants=(dataclasses.replace(tenant, findings=(finding,)),))
    [out] = bounded(report).tenants[0].findings
    assert out.baseline is plain
    assert isinstance(out.live, tuple) and out.live[:200] == plain
    assert out.live[200] == textsafe.without_surrogates(textsafe.bounded(member))
    assert out.live[200] != member
