"""A hostile baseline (a pull request an attacker controls) through `driftguard validate`:
links leading out of the folder, key and token files, malformed domains, control characters in
file contents and in file or folder names. Every problem is one placed line that quotes at most
the offending token."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from driftguard.baseline.load import load_baseline
from driftguard.cli import main
from driftguard.errors import BaselineError
from test_validate_cmd import GOOD, TENANT_YAML, tenant

LINE = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "-----END PRIVATE KEY-----\n"
)
TOKEN = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYW5hcnktc2VjcmV0In0.c2ln\n"


def _validate(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The problem lines of `validate` (the summary line dropped); asserts exit code 1."""
    assert main(["validate", "--baseline", str(root)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[-1].endswith("files") or lines[-1].endswith("file")
    problems = lines[:-1]
    for line in problems:
        assert LINE.match(line), line
    return problems


def _part(line: str, name: str) -> str:
    match = LINE.match(line)
    assert match is not None, line
    return match[name]


# --------------------------------------------------------------------------- 11: links, echo


def test_links_out_of_the_baseline_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "ci-runner"
    (outside / "inbound").mkdir(parents=True)
    (outside / "secret.yaml").write_text("Name: canary-secret-1\nSenderDomains: [x.com]\n")
    (outside / "inbound" / "c.yaml").write_text("Name: canary-secret-2\nSenderDomains: [x.com]\n")
    (outside / "tenant.yaml").write_text(TENANT_YAML)
    root = tmp_path / "baseline"
    tenant(root, "contoso", {"good.yaml": GOOD})
    inbound = root / "contoso" / "inbound"
    (inbound / "file-link.yaml").symlink_to(outside / "secret.yaml")
    (inbound / "dangling.yaml").symlink_to(outside / "absent.yaml")
    (inbound / "inside.yaml").symlink_to(inbound / "good.yaml")  # inside: fine, but a duplicate
    (root / "other").mkdir()
    (root / "other" / "tenant.yaml").symlink_to(outside / "tenant.yaml")
    (root / "other" / "inbound").symlink_to(outside / "inbound")
    (root / "linked").symlink_to(outside)
    (root / ".driftguardignore.yaml").symlink_to(outside / "secret.yaml")
    problems = _validate(root, capsys)
    refused = {Path(_part(p, "path")).name for p in problems if "outside" in p}
    assert refused == {
        "file-link.yaml",
        "dangling.yaml",
        "tenant.yaml",
        "inbound",
        "linked",
        ".driftguardignore.yaml",
    }
    assert not any("canary-secret" in p for p in problems)
    assert any("inside.yaml" in p and "also used by" in p for p in problems)
    with pytest.raises(BaselineError):
        load_baseline(root, ["linked"])


@pytest.mark.parametrize(
    ("body", "secret"),
    [
        (PEM, "BEGIN PRIVATE KEY"),
        (TOKEN, "eyJhbGciOiJSUzI1NiIs"),
        ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", "AWS_SECRET"),
        ("Name: x\nSenderDomains: [x.com]\nConnectorType: " + "S" * 500 + "\n", "S" * 40),
        ("Name: x\nSenderDomains: [x.com]\n" + "k" * 300 + ": 1\n", "k" * 40),
        ("Name: x\nSenderDomains: [x.com]\nSenderIPAddresses: [" + "9" * 300 + "]\n", "9" * 40),
        ("Name: x\nSenderDomains: [x.com]\nEFSkipIPs: [" + "i" * 300 + "]\n", "i" * 40),
        ("Name: x\nSenderDomains: [" + "d" * 300 + ".com]\n", "d" * 40),
    ],
)
def test_errors_quote_at_most_the_offending_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, secret: str
) -> None:
    tenant(tmp_path, "contoso", {"c.yaml": body})
    problems = _validate(tmp_path, capsys)
    assert problems
    text = "\n".join(problems)
    assert secret not in text
    for line in problems:
        message = _part(line, "message")
        assert len(message) < 200, message


# --------------------------------------------------------------------------- 12: domains, names


@pytest.mark.parametrize(
    "domain",
    [
        "con toso.com",
        "<script>x</script>",
        "a..b",
        "smtp:*",
        "smtp:*;0",
        "smtp:*;1;2",
        "smtp:con toso.com;1",
        "x400:c=us;a= ;p=contoso;1",
        "contoso.com;1",
        "-contoso.com",
        "a_b.contoso.com",
    ],
)
def test_bad_domains_are_refused_at_their_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], domain: str
) -> None:
    body = f'Name: x\nSenderDomains:\n  - contoso.com\n  - "{domain}"\n'
    tenant(tmp_path, "contoso", {"c.yaml": body})
    problems = _validate(tmp_path, capsys)
    assert len(problems) == 1, problems
    match = LINE.match(problems[0])
    assert match is not None
    assert (match["line"], match["col"]) == ("4", "5")
    assert match["message"].startswith("SenderDomains: ")


@pytest.mark.parametrize("field", ["TrustedOrganizations", "AssociatedAcceptedDomains"])
def test_plain_domain_properties_refuse_address_spaces_and_wildcards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str
) -> None:
    body = f'Name: x\nSenderDomains: [contoso.com]\n{field}: ["a..b", "smtp:x.com;1", "*"]\n'
    tenant(tmp_path, "contoso", {"c.yaml": body})
    problems = _validate(tmp_path, capsys)
    assert len(problems) == 3
    assert all(":3:" in p and f"{field}: " in p for p in problems)


def test_accepted_domains_in_tenant_yaml_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant_yaml = TENANT_YAML + "accepted_domains:\n  - contoso.com\n  - 'con toso.com'\n"
    tenant(tmp_path, "contoso", {"c.yaml": GOOD}, tenant_yaml=tenant_yaml)
    problems = _validate(tmp_path, capsys)
    assert len(problems) == 1
    assert "tenant.yaml:4:5: accepted_domains: 'con toso.com' is not a domain name" in problems[0]


@pytest.mark.parametrize(
    "domain",
    ["*", "smtp:*;1", "SMTP:Contoso.com;5", "*.contoso.com", "smtp:*.contoso.com;1", "müller.de"],
)
def test_good_sender_domains_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], domain: str
) -> None:
    tenant(tmp_path, "contoso", {"c.yaml": f'Name: x\nSenderDomains: ["{domain}"]\n'})
    assert main(["validate", "--baseline", str(tmp_path)]) == 0, capsys.readouterr().err


def test_a_nul_byte_is_placed_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant(tmp_path, "contoso", {"c.yaml": "Name: x\nSenderDomains: [x.com]\nComment: a\x00b\n"})
    problems = _validate(tmp_path, capsys)
    assert len(problems) == 1
    assert problems[0].endswith(
        "c.yaml:3:11: character U+0000 is not allowed in YAML "
        "(control characters are written as escapes inside a "
        "double-quoted string, e.g. \\x07)"
    )


@pytest.mark.parametrize("name", ["new\nline", "esc\x1b[2Jape", "tab\there"])
def test_control_characters_in_names_never_split_an_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    tenant(tmp_path, name, {f"{name}.yaml": "Name: x\nSenderDomains: [x.com]\nColour: red\n"})
    (tmp_path / name / "inbound" / f"{name}.yaml").write_text(
        "Name: x\nSenderDomains: [x.com]\nColour: red\n"
    )
    os.mkdir(tmp_path / name / "inbound" / f"folder {name}.yaml")
    problems = _validate(tmp_path, capsys)
    assert len(problems) == 2
    assert all("\x1b" not in p and "\t" not in p for p in problems)
    assert any(p.endswith(":3:1: unknown key 'Colour'") for p in problems)
    assert any("not read: inbound/ holds .yaml connector files only" in p for p in problems)
