"""Making untrusted text (connector names, comments, audit parameters) inert in each output format.

Everything an attacker can set on a connector ends up in reports that people open in browsers,
GitHub's Markdown renderer, CI test viewers and terminals. Each format gets one function here, and
every renderer passes every string it did not write itself through the function for its format.
What counts as unsafe text is defined once, in ``driftguard.textsafe``; these build on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from driftguard.properties import Value
from driftguard.textsafe import one_line, strip_controls

# What XML 1.0 cannot carry at all (even as a character reference).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Characters that start or end inline Markdown anywhere: code spans, emphasis, strikethrough,
# links and images, table cells, and the backslash itself.
_MARKDOWN_ALWAYS = frozenset("\\`*~[]|")
# A heading, list item, thematic break or ordered-list marker ("1." or "1)") at the start of a
# value, where it would open a block (a value starts a line in a list item).
_BLOCK_MARKER = re.compile(r"([#+=-])(?=\1| |$)|\d{1,9}([.)])(?= |$)")
# What GitHub turns into a link or a notification: URLs, www. hosts, e-mail addresses and
# @mentions, #123 references. A zero-width space breaks each without changing what people read.
_GITHUB_LINKS = re.compile(r"(?<=:)(?=//)|(?<=\bwww)(?=\.)|(?<=@)(?=\w)|(?<=#)(?=\d)", re.I)
_ZERO_WIDTH_SPACE = "&#8203;"


def markdown_inline(text: str) -> str:
    """Untrusted text as literal Markdown (GitHub flavour) on one line, safe inside a table cell.

    Only what Markdown would act on is escaped, so times, numbers and addresses read as they are:
    code spans, emphasis, strikethrough, links, images and table pipes are backslash-escaped
    (``_`` only where it could start or end emphasis, not inside a word), a heading or list
    marker at the start is escaped, ``<``, ``>`` and ``&`` become entities so no raw HTML or entity
    survives, and URLs, ``www.`` hosts, e-mail addresses, ``@mentions`` and ``#123`` references get
    a zero-width space so GitHub neither links them nor notifies anyone. Newlines fold to spaces
    so a table row stays one.
    """
    line = one_line(text)
    out: list[str] = []
    for i, char in enumerate(line):
        if char in _MARKDOWN_ENTITIES:
            out.append(_MARKDOWN_ENTITIES[char])
        elif char in _MARKDOWN_ALWAYS or (char == "_" and not _inside_word(line, i)):
            out.append("\\" + char)
        else:
            out.append(char)
    escaped = "".join(out)
    marker = _BLOCK_MARKER.match(escaped)
    if marker:
        at = marker.start(1) if marker.group(1) else marker.start(2)
        escaped = f"{escaped[:at]}\\{escaped[at:]}"
    return _GITHUB_LINKS.sub(_ZERO_WIDTH_SPACE, escaped)


def _inside_word(text: str, index: int) -> bool:
    """``_`` between two letters or digits, where it can neither open nor close emphasis."""
    return 0 < index < len(text) - 1 and text[index - 1].isalnum() and text[index + 1].isalnum()


def html_text(text: str) -> str:
    """Untrusted text inside raw HTML (e.g. a ``<summary>`` in Markdown): entities, one line."""
    return (
        one_line(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )


def xml_text(text: str) -> str:
    """Text an XML 1.0 document can carry: controls and illegal code points removed.

    Escaping of ``<``, ``&`` and ``]]>`` is left to the XML serializer (xml.etree does it).
    """
    return _XML_ILLEGAL.sub("", strip_controls(text))


def plain(text: str) -> str:
    """Untrusted text for plain-text fields (SARIF messages, JSON for humans): one line, inert."""
    return one_line(text)


def value_text(value: Value | Iterable[str]) -> str:
    """A canonical property value as people read it (not escaped: pass it through a format)."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    items = list(value)
    return ", ".join(str(i) for i in items) if items else "(empty)"
