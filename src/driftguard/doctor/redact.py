"""A redacted sample of what doctor read, for a bug report and for tests to replay (pure).

Tenant ids, connector names, comments, domains, IP addresses, people and certificate names are
replaced by placeholders, the same input by the same placeholder within one sample: GUIDs by
``00000000-0000-4000-8000-00000000000N``, domains by ``domain-N.example``, IPv4 networks by the
documentation ranges (``198.51.100.x``, ``203.0.113.x``, ``192.0.2.x``, then ``198.18/15``) with
the last octet and the prefix kept, so single addresses, CIDR and CIDR with host bits keep their
form; addresses by ``user-N@domain-N.example``, free text by ``connector-N``/``comment-N``/
``text-N``, other principals (an app's name) by ``principal-N``. Property names, value forms
(``smtp:x;1``, ``/25``, ``:port``) and JSON types are kept.
Audit rows' ``AuditData`` (a JSON string) is redacted inside and written back as a string.

The file is a raw InvokeCommand body, so ``driftguard diff --live SAMPLE`` reads it; the other
sources ride along as ``@driftguard.*`` annotations, which readers of the body ignore.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from driftguard.doctor.model import Wire

SAMPLE_VERSION = 1

# Values that are Microsoft's vocabulary, timestamps or versions: kept as they are.
KEEP = frozenset(
    k.lower()
    for k in (
        "ConnectorType",
        "ConnectorSource",
        "ExchangeVersion",
        "ObjectState",
        "ObjectClass",
        "WhenChanged",
        "WhenCreated",
        "WhenChangedUTC",
        "WhenCreatedUTC",
        "CreationDate",
        "CreationTime",
        "CreatedTime",
        "ExpirationTime",
        "Received",
        "RecordType",
        "Operation",
        "Operations",
        "ResultStatus",
        "Status",
        "severity",
        "status",
        "category",
        "serviceSource",
        "detectionSource",
        "createdDateTime",
        "title",
        "@odata.type",
        "Workload",
        "UserType",
    )
)
# Free text that names or describes something: replaced whole.
TEXT_KEYS: Mapping[str, str] = {
    "name": "connector",
    "connectorname": "connector",
    "adminDisplayName".lower(): "connector",
    "comment": "comment",
    "reason": "text",
    "subject": "text",
    "description": "text",
    "displayname": "text",
}
# Who did something: a UPN keeps its form, anything else (an app's name, a PUID) is replaced whole.
PRINCIPAL_KEYS = frozenset({"userid", "userids", "userkey", "actor", "upn"})
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63})")
_IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?:/(\d{1,2}))?(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:])([0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7})(?![\w:])", re.I)
_DOMAIN = re.compile(
    r"(?<![\w@-])((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})(?![\w-])"
)
_NETS = ("198.51.100", "203.0.113", "192.0.2")


class Redactor:
    """Consistent placeholders for one sample. Not shared: one per sample written."""

    def __init__(self) -> None:
        self._maps: dict[str, dict[str, str]] = {}
        self._texts: dict[str, str] = {}  # original free text (lowered) -> placeholder
        self._pattern: re.Pattern[str] | None = None

    def _placeholder(self, kind: str, original: str, make: Callable[[int], str]) -> str:
        table = self._maps.setdefault(kind, {})
        key = original.lower()
        if key not in table:
            table[key] = make(len(table) + 1)
        return table[key]

    # ----------------------------------------------------------------- collecting free text

    def learn(self, value: Any, key: str = "") -> None:
        """Remember free text (names, comments) anywhere in ``value`` before redacting."""
        if isinstance(value, Mapping):
            pair = _parameter_pair(value)
            if pair is not None:
                self.learn(pair[1], pair[0])
                return
            for k, v in value.items():
                self.learn(v, str(k))
        elif isinstance(value, list):
            for item in value:
                self.learn(item, key)
        elif isinstance(value, str):
            kind = TEXT_KEYS.get(key.lower())
            if kind is not None and value.strip():
                if value.lower() not in self._texts:
                    self._texts[value.lower()] = self._text(kind, value)
                    self._pattern = None
            elif key.lower() == "auditdata":
                parsed = _json(value)
                if parsed is not None:
                    self.learn(parsed)

    def _text(self, kind: str, value: str) -> str:
        return self._placeholder(kind, value, lambda n: f"{kind}-{n}")

    # ----------------------------------------------------------------- redacting

    def redact(self, value: Any, key: str = "") -> Any:
        if isinstance(value, Mapping):
            pair = _parameter_pair(value)
            if pair is not None:
                return {**value, "Value": self.redact(pair[1], pair[0])}
            return {str(k): self._field(str(k), v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact(item, key) for item in value]
        if isinstance(value, str):
            return self._string(value, key)
        return value  # numbers, booleans, null keep their type

    def _field(self, key: str, value: Any) -> Any:
        if "@" in key.lstrip("@") or key.lower() in KEEP:
            return value  # sidecars (Prop@data.type) and Microsoft's vocabulary
        return self.redact(value, key)

    def _string(self, value: str, key: str) -> str:
        lowered = key.lower()
        kind = TEXT_KEYS.get(lowered)
        if kind is not None and value.strip():
            return self._texts.get(value.lower()) or self._text(kind, value)
        if lowered == "auditdata":
            parsed = _json(value)
            if parsed is not None:
                return json.dumps(self.redact(parsed), ensure_ascii=False)
        if lowered in PRINCIPAL_KEYS and value.strip() and not _EMAIL.fullmatch(value.strip()):
            return self._placeholder("principal", value, lambda n: f"principal-{n}")
        return self.scrub(value)

    def scrub(self, text: str) -> str:
        """Every name, GUID, address, IP and domain in ``text`` replaced, the rest kept."""
        text = self._known_texts(text)
        text = _GUID.sub(lambda m: self.guid(m.group(0)), text)
        text = _EMAIL.sub(lambda m: self._email(m.group(0)), text)
        text = _IPV4.sub(self._ipv4_match, text)
        text = _IPV6.sub(self._ipv6_match, text)
        return _DOMAIN.sub(lambda m: self.domain(m.group(1)), text)

    def _known_texts(self, text: str) -> str:
        if not self._texts:
            return text
        if self._pattern is None:
            names = sorted(self._texts, key=len, reverse=True)
            alternatives = "|".join(re.escape(n) for n in names)
            self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
        return self._pattern.sub(lambda m: self._texts.get(m.group(0).lower(), "text"), text)

    def guid(self, original: str) -> str:
        return self._placeholder("guid", original, lambda n: f"00000000-0000-4000-8000-{n:012d}")

    def domain(self, original: str) -> str:
        if re.fullmatch(r"(?:domain|user|connector|comment|text)-\d+\.example", original, re.I):
            return original  # already a placeholder
        return self._placeholder("domain", original, lambda n: f"domain-{n}.example")

    def _email(self, original: str) -> str:
        local, _, host = original.rpartition("@")
        person = self._placeholder("user", original, lambda n: f"user-{n}")
        return f"{person}@{self.domain(host)}" if local else original

    def _net24(self, first_three: str) -> str:
        def make(n: int) -> str:
            if n <= len(_NETS):
                return _NETS[n - 1]
            k = (n - len(_NETS) - 1) % 512  # 198.18.0.0/15 holds 512 /24s; beyond, reused
            return f"198.{18 + k // 256}.{k % 256}"

        return self._placeholder("net", first_three, make)

    def _ipv4_match(self, match: re.Match[str]) -> str:
        address, prefix = match.group(1), match.group(2)
        try:
            parsed = ipaddress.IPv4Address(address)
        except ValueError:
            return match.group(0)
        first_three, _, last = str(parsed).rpartition(".")
        mapped = f"{self._net24(first_three)}.{last}"
        if prefix is None:
            return mapped
        bits = int(prefix)
        if bits > 32 or int(parsed) & ((1 << (32 - bits)) - 1):
            return f"{mapped}/{prefix}"  # host bits set, or not a network: keep the form
        return str(ipaddress.IPv4Network(f"{mapped}/{bits}", strict=False))

    def _ipv6_match(self, match: re.Match[str]) -> str:
        text = match.group(1)
        try:
            parsed = ipaddress.ip_address(text)
        except ValueError:
            return text
        if parsed.version != 6:
            return text
        return self._placeholder("ipv6", str(parsed), lambda n: f"2001:db8::{n:x}")


def _parameter_pair(value: Mapping[str, Any]) -> tuple[str, Any] | None:
    """An audit ``Parameters`` entry ``{"Name": property, "Value": ...}``: (property, value)."""
    if set(value) == {"Name", "Value"} and isinstance(value.get("Name"), str):
        return str(value["Name"]), value["Value"]
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def sample_document(wire: Wire, tenant_id: str) -> dict[str, Any]:
    """The redacted sample as a JSON-ready InvokeCommand body."""
    redactor = Redactor()
    sources: dict[str, Iterable[Mapping[str, Any]]] = {
        "value": wire.connectors,
        "@driftguard.blocked": wire.blocked,
        "@driftguard.audit": wire.audit,
        "@driftguard.message_trace": wire.message_trace,
        "@driftguard.alerts": wire.alerts,
    }
    for rows in sources.values():
        for row in rows:
            redactor.learn(row)
    doc: dict[str, Any] = {
        "@driftguard.sample": {
            "version": SAMPLE_VERSION,
            "tenant_id": redactor.guid(tenant_id),
            "note": "written by driftguard doctor --save-sample; names, domains, addresses, "
            "people and ids are replaced by placeholders",
        },
        "@adminapi.warnings": [],
    }
    for key, rows in sources.items():
        doc[key] = [redactor.redact(row) for row in rows]
    return doc
