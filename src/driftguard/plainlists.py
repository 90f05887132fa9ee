"""Canonical lists computed over the joined members, for the lists a big tenant has.

A tenant with 2,000 connectors holds some 400,000 SenderIPAddresses members and 40,000 sender
domains; normalising and checking them one at a time in Python costs more than the whole diff.
When every member of a list is in the plain form the service returns and adopt writes (bare or
``/32`` dotted-decimal addresses; ASCII domains, ``smtp:`` address spaces), the work here runs
in C: one join, a few replacements, one split, ``inet_pton`` over the members (it refuses
leading zeros, whitespace, short or long forms) and a sort by packed address. Anything else
gives None or False, and the caller takes its exact member-by-member path, which accepts or
explains: these functions never decide what the exact path would refuse. Tests hold both to
the simple ``ipaddress``/``domain`` definitions on fuzzed input.
"""

from __future__ import annotations

import functools
import re
import socket
from collections.abc import Sequence
from typing import Any

from driftguard.properties import Kind


def plain_list(kind: Kind, items: list[Any]) -> tuple[str, ...] | None:
    """The canonical list computed over the joined members when they are all in the plain form
    a big tenant has; None sends the list down the exact path (``normalize``)."""
    if kind is Kind.IPV4_NETWORKS:
        return ipv4_networks(items)
    if kind is Kind.DOMAINS:
        return domains(items)
    return None


def plain_ipv4(items: Sequence[Any], suffix: re.Pattern[str]) -> bool:
    """Whether every member, with ``suffix`` (a prefix length and the newline after it) cut
    off, is a plain dotted-decimal IPv4 address: see ``_plain_lines``."""
    lines = _plain_lines(items, suffix)
    try:
        return lines is not None and all(map(_PACK, lines))
    except (OSError, ValueError):  # not a plain address; a NUL character
        return False


def _plain_lines(items: Sequence[Any], suffix: re.Pattern[str]) -> list[str] | None:
    """The members with ``suffix`` (matched with the newline after it) cut off, when they are
    all text on one line; else None.

    For the common case of a big tenant, checked with string operations that run in C over
    the joined list, then ``inet_pton`` (which refuses leading zeros, whitespace, short or long
    forms): no Python-level work per member. A list that is not certainly plain takes the exact
    per-member path, which accepts or explains.
    """
    if not _STRICT_PTON:  # pragma: no cover - a C library whose inet_pton is lenient
        return None
    if not items:
        return []
    try:
        joined = "\n".join(items)
    except TypeError:  # a member that is not text: the exact path names it
        return None
    if joined.count("\n") != len(items) - 1:
        return None  # a member holds a newline
    if "/" not in joined:  # bare addresses, as the service returns them
        return list(items)
    text = joined + "\n"
    cut = text.replace("/32\n", "\n")  # the usual suffix, cut without the regex
    if "/" in cut or not suffix.fullmatch("/32\n"):
        cut = suffix.sub("\n", text)  # other suffixes: all cut in one pass, as one rule
    lines = cut.split("\n")
    lines.pop()  # after the final newline
    return lines if len(lines) == len(items) else None  # else a suffix held a newline


def _packed(text: str) -> bytes | None:
    try:
        return _PACK(text)
    except (OSError, ValueError):
        return None


def _strict_pton() -> bool:
    """Whether this C library's ``inet_pton`` accepts exactly ``ipaddress``'s IPv4 forms on a
    few probes (glibc, musl and the BSDs do); if not, the plain-list paths stay unused."""
    odd = ("01.2.3.4", "1.2.3.00", "1.2.3", "1.2.3.4.5", "256.1.1.1", " 1.2.3.4", "0x1.2.3.4")
    return _packed("0.10.200.255") == bytes((0, 10, 200, 255)) and not any(map(_packed, odd))


_PACK = functools.partial(socket.inet_pton, socket.AF_INET)
_STRICT_PTON = _strict_pton()
_SLASH_32 = re.compile(r"/32\n")


def ipv4_networks(items: list[str]) -> tuple[str, ...] | None:
    """The canonical list when every member is a plain address, bare or ``/32`` (what the
    service returns and adopt writes), sorted by its packed form; None for anything else."""
    lines = _plain_lines(items, _SLASH_32)
    if lines is None:
        return None
    try:
        # A plain address has one spelling (inet_pton refuses leading zeros), so the set of
        # lines holds each address once.
        ordered = sorted(set(lines), key=_PACK)
    except (OSError, ValueError):  # not a plain address; a NUL character
        return None
    if not ordered:
        return ()
    return tuple(("/32\n".join(ordered) + "/32").split("\n"))


_COST = re.compile(r";[^\n]*")
_SPACE = re.compile(r"[^\S\n]")
_NOT_PLAIN_DOMAIN = (":", "/", "\\", ".\n", "\n\n")  # a prefix, a path, a trailing dot, a blank


def domains(items: list[str]) -> tuple[str, ...] | None:
    """Canonical domains when every member is ASCII text that ``domain`` would only lower-case
    and cut to its ``smtp:`` address space before the cost (``smtp:Contoso.com;1``, the wire
    form): no whitespace, other prefix, object path or trailing dot. Else None."""
    try:
        joined = "\n".join(items)
    except TypeError:
        return None
    if not joined.isascii():
        return None
    text = f"\n{joined.lower()}\n".replace("\nsmtp:", "\n")
    if ";" in text:
        text = _COST.sub("", text)
    if any(part in text for part in _NOT_PLAIN_DOMAIN) or _SPACE.search(text):
        return None
    lines = text[1:-1].split("\n")
    return tuple(sorted(set(lines))) if len(lines) == len(items) else None
