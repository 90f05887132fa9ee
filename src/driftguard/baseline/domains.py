"""Domain syntax as Exchange Online checks it, for the domains a baseline names.

- ``SenderDomains`` is an AddressSpace: ``*``, a domain, a wildcard domain (``*.contoso.com``), or
  Exchange's own wire form ``smtp:<one of those>;<cost>`` with a cost from 1 to 100
  (``smtp:*;1``); ``x400:``/``x500:`` spaces, a missing or bad cost, and anything after it are
  refused.
- ``TrustedOrganizations``, ``AssociatedAcceptedDomains`` and tenant.yaml's ``accepted_domains``
  are plain domains.

A domain is LDH labels (letters, digits, inner hyphens; 1-63 characters; international names are
checked in their IDNA form) joined by single dots, at most 253 characters, one trailing dot
allowed. Pure: text in, the reason it is refused (or None) out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from driftguard.textsafe import shown

MAX_COST = 100
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_ADDRESS_SPACE = re.compile(r"smtp:(?P<domain>[^;]*);(?P<cost>[0-9]{1,3})", re.IGNORECASE)


_PLAIN_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_DOMAIN = rf"{_PLAIN_LABEL}(?:\.{_PLAIN_LABEL})*\.?"
_PLAIN = {
    False: re.compile(rf"{_PLAIN_DOMAIN}(?:\n{_PLAIN_DOMAIN})*"),
    True: re.compile(rf"(?:\*|(?:\*\.)?{_PLAIN_DOMAIN})(?:\n(?:\*|(?:\*\.)?{_PLAIN_DOMAIN}))*"),
}


def all_allowed(prop: str, items: Sequence[Any]) -> bool:
    """True when ``domain_problem_of`` certainly refuses none of ``items``: all are ASCII
    domains (for SenderDomains also ``*`` and ``*.domain``) of at most 253 characters, checked
    by one regular expression over the joined list. False means: ask of each member."""
    try:
        joined = "\n".join(items)
    except TypeError:  # a member that is not text
        return False
    lines = joined.split("\n")
    return (
        len(lines) == len(items)
        and joined.isascii()
        and max(map(len, lines)) <= 253
        and _PLAIN[prop == "SenderDomains"].fullmatch(joined) is not None
    )


def domain_problem_of(prop: str, text: str) -> str | None:
    """Why one member of the list property ``prop`` (a Kind.DOMAINS property) is refused."""
    return sender_domain_problem(text) if prop == "SenderDomains" else domain_problem(text)


def sender_domain_problem(text: str) -> str | None:
    """Why one SenderDomains member is refused, or None."""
    value = text.strip()
    prefix = value.split(":", 1)[0].lower() if ":" in value else ""
    if prefix in ("x400", "x500"):
        return f"{shown(value)}: only smtp: address spaces (or plain domains) are accepted"
    if prefix == "smtp":
        match = _ADDRESS_SPACE.fullmatch(value)
        if match is None:
            return f"{shown(value)} is not an address space like smtp:contoso.com;1"
        cost = int(match["cost"])
        if not 1 <= cost <= MAX_COST:
            return f"{shown(value)}: the cost must be from 1 to {MAX_COST}"
        value = match["domain"]
    if value == "*":
        return None
    return domain_problem(value.removeprefix("*."), original=text)


def domain_problem(text: str, *, original: str | None = None) -> str | None:
    """Why ``text`` is not a domain name, or None."""
    quoted = shown((original if original is not None else text).strip())
    value = text.strip().removesuffix(".")
    try:
        ascii_form = value.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return f"{quoted} is not a domain name (empty, too long or invalid label)"
    labels = ascii_form.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return (
            f"{quoted} is not a domain name (labels are letters, digits and inner hyphens, "
            "separated by single dots)"
        )
    if len(ascii_form) > 253:
        return f"{quoted} is longer than 253 characters"
    return None
