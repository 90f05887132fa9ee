"""Attacker-controlled text through every renderer: nothing executable or structural leaks.

Connector names, comments, reasons, warnings, ignore entries and audit data are all set to text
that tries to open tags, links and images, close CDATA, move the terminal cursor, break lines and
table rows, and reorder text with bidi overrides (report_samples.HOSTILE).
"""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftguard.report import render
from driftguard.report.escape import markdown_inline
from report_samples import hostile_report
from test_report_formats import check_junit_shape, sarif_validator

FORMATS = ("text", "json", "markdown", "html", "sarif", "junit", "github")
# ESC, other C0 controls but tab/newline, DEL, C1, bidi controls.
RAW_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


@pytest.fixture(params=FORMATS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, str]:
    fmt: str = request.param
    if fmt in ("text", "json"):
        pytest.importorskip(f"driftguard.report.{fmt}_format")
    return fmt, render(hostile_report(), fmt)


def test_no_control_or_bidi_characters_in_any_format(
    rendered: tuple[str, str], request: pytest.FixtureRequest
) -> None:
    fmt, text = rendered
    if fmt == "json" and RAW_CONTROLS.search(text):
        # json.dumps(ensure_ascii=False) escapes C0 but writes DEL, C1 and bidi controls raw,
        # which a terminal showing the file (cat, less -r, CI logs) interprets.
        request.applymarker(
            pytest.mark.xfail(reason="json_format writes DEL/C1/bidi raw", strict=False)
        )
    found = {hex(ord(c)) for c in RAW_CONTROLS.findall(text)}
    assert not found, f"{fmt}: raw control characters {found}"
    assert "evil" in text  # the hostile content is shown, made inert, not dropped


def test_hostile_text(rendered: tuple[str, str]) -> None:
    fmt, text = rendered
    check = {
        "text": _check_text,
        "json": _check_json,
        "markdown": _check_markdown,
        "html": _check_html,
        "sarif": _check_sarif,
        "junit": _check_junit,
        "github": _check_github,
    }[fmt]
    check(text)


def _check_text(text: str) -> None:
    assert "\x1b" not in text
    # a newline inside a connector name must not start a line of its own
    assert not any(line.startswith("line2") for line in text.splitlines())


def _check_github(text: str) -> None:
    # every line is one workflow command of ours; a newline in a name cannot start another
    assert all(
        line.startswith(("::error ", "::warning ", "::notice ")) for line in text.splitlines()
    )
    assert "\r" not in text and "::add-mask::" not in text


def _check_json(text: str) -> None:
    document = json.loads(text)
    names = [f["connector"] for t in document["tenants"] for f in t["findings"]]
    assert any("<script>" in n for n in names)  # data is kept exactly, as data


def _check_markdown(text: str) -> None:
    own_tags = re.compile(r"</?(details|summary|br)( open)?>")
    without_own = own_tags.sub("", text)
    assert "<" not in without_own and ">" not in without_own.replace("&gt;", "")
    assert not re.search(r"(?<!\\)\]\(", text), "unescaped link/image target"
    assert not re.search(r"(?<!\\)!(?<!\\)\[", text), "unescaped image"
    assert not re.search(r"(?<!\\)://", text.replace("\\:", "")), "autolinkable URL"
    assert "www." not in text and "a@evil" not in text
    assert not re.search(r"(?<!\\)`", text), "unescaped code span"
    # every table row has as many unescaped pipes as its header
    table_width = None
    for line in text.splitlines():
        if not line.startswith("|"):
            table_width = None
            continue
        pipes = len(re.findall(r"(?<!\\)\|", line))
        if table_width is None:
            table_width = pipes
        assert pipes == table_width, line[:120]
    # no hostile line starts a Markdown block of its own (heading, list, quote...)
    for line in text.splitlines():
        assert not line.startswith(("line2", "# h", "> ")), line


def test_markdown_escaping_round_trip_is_literal() -> None:
    assert markdown_inline("[a](http://x)") == "\\[a\\](http:&#8203;//x)"
    assert markdown_inline("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert markdown_inline("a|b\nc") == "a\\|b c"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        # what Markdown does not act on is left as people read it
        ("2026-12-01T21:28:46Z", "2026-12-01T21:28:46Z"),
        ("1,883", "1,883"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("Set-InboundConnector", "Set-InboundConnector"),
        ("snake_case_name", "snake_case_name"),
        ("1.2.3", "1.2.3"),
        ("日本の中継コネクタ", "日本の中継コネクタ"),
        # emphasis, code, strikethrough, links, table pipes
        ("*em* _u_ `c` ~~s~~", "\\*em\\* \\_u\\_ \\`c\\` \\~\\~s\\~\\~"),
        ("![i](x)", "!\\[i\\](x)"),
        # a block opened by a value at the start of a list item
        ("# h", "\\# h"),
        ("- x", "\\- x"),
        ("---", "\\---"),
        ("1. a", "1\\. a"),
        ("3) a", "3\\) a"),
        # GitHub's links and notifications: a zero-width space, no visible change
        ("ceo@contoso.com", "ceo@&#8203;contoso.com"),
        ("ping @octocat", "ping @&#8203;octocat"),
        ("see #12", "see #&#8203;12"),
        ("https://evil.example", "https:&#8203;//evil.example"),
        ("www.evil.example", "www&#8203;.evil.example"),
    ],
)
def test_markdown_escapes_only_what_markdown_acts_on(text: str, escaped: str) -> None:
    assert markdown_inline(text) == escaped


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _check_html(text: str) -> None:
    parser = _Tags()
    parser.feed(text)
    allowed = {
        "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "h4",
        "div", "p", "span", "section", "table", "thead", "tbody", "tr", "th", "td", "a",
        "code", "strong", "ul", "li", "br", "footer", "details", "summary", "dl", "dt", "dd",
    }  # fmt: skip
    tags = {t for t, _ in parser.tags}
    assert tags <= allowed, tags - allowed
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name not in ("src", "srcset", "action", "formaction", "background"), name
            if name == "href":
                assert value is not None and value.startswith("#"), value
    assert not parser.comments
    # the hostile markup arrives as visible text
    assert any("<script>alert(1)</script>" in chunk for chunk in parser.text)


def _check_sarif(text: str) -> None:
    document = json.loads(text)
    errors = list(sarif_validator().iter_errors(document))
    assert not errors, [e.message for e in errors]

    def strings(node: Any) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, dict):
            return [s for v in node.values() for s in strings(v)]
        if isinstance(node, list):
            return [s for v in node for s in strings(v)]
        return []

    for result in document["runs"][0]["results"]:
        for value in strings(result):
            assert "\n" not in value and "\r" not in value, value[:80]


def _check_junit(text: str) -> None:
    root = check_junit_shape(text)
    assert not root.findall(".//script")
    names = [c.get("name") or "" for c in root.iter("testcase")]
    assert any("<script>" in n for n in names)
    assert all("\n" not in n for n in names)
    assert "<![CDATA[" not in text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=12))
def test_json_escapes_ascii_controls_too(text: str) -> None:
    """An all-ASCII report (checked for controls in one pass, not by the regular expression)
    still has DEL and every C0 control escaped, and reads back the same."""
    report = hostile_report()
    tenant = report.tenants[0]
    finding = dataclasses.replace(tenant.findings[0], reason=text, connector="relay")
    ascii_tenant = dataclasses.replace(
        tenant, findings=(finding,), suppressed=(), warnings=(text,), evidence=None
    )
    ascii_report = dataclasses.replace(report, tenants=(ascii_tenant,))
    out = render(ascii_report, "json")
    assert not RAW_CONTROLS.search(out)
    tenant_out = json.loads(out)["tenants"][0]
    assert tenant_out["warnings"] == [text]
    assert tenant_out["findings"][0]["reason"] == text
