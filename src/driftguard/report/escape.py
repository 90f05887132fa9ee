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
_ASCII_PUNCTUATION = frozenset("!\"#$%'()*+,-./:;=?@[\\]^_`{|}~")
_MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown_inline(text: str) -> str:
    """Untrusted text as literal Markdown (GitHub flavour) on one line, safe inside a table cell.

    Every ASCII punctuation character is backslash-escaped (CommonMark allows it for all of them),
    which neutralises emphasis, code spans, links, images, headings, lists, table pipes and GitHub
    autolinks (``https\\://``, ``www\\.``, ``a\\@b``) alike; ``<``, ``>`` and ``&`` become
    entities so no raw HTML or entity survives; newlines fold to spaces so a table row stays one.
    """
    out: list[str] = []
    for char in one_line(text):
        if char in _MARKDOWN_ENTITIES:
            out.append(_MARKDOWN_ENTITIES[char])
        elif char in _ASCII_PUNCTUATION:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


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
