"""The service's own rules for New-/Set-InboundConnector input, written from the cmdlet reference.

This module is the simulator's, not driftguard's: it never imports driftguard's normalisation or
baseline rules, so a bug there cannot be agreed with here. Values are kept as the admin typed
them, the way the service stores them: ``203.0.113.7`` stays ``203.0.113.7`` and
``192.168.0.1/25`` keeps its host bits; only ``SenderDomains`` is converted, because the service
stores AddressSpace objects (``contoso.com`` and ``*`` become ``smtp:contoso.com;1`` and
``smtp:*;1``).

What the service enforces (EXCHANGE.md, "Validation the service enforces"):

- ``SenderIPAddresses``: IPv4 only, a single address or CIDR /24 to /32, host bits allowed
  (Microsoft's own example is ``192.168.0.1/25``); no ranges, no IPv6.
- ``SenderDomains``: ``*``, a domain, ``*.domain`` or an address space ``smtp:<domain>;<cost>``.
- ``EFSkipIPs`` / ``EFSkipMailGateway``: IPv4 or IPv6 addresses, CIDR ranges or ``a-b`` ranges.
- Cross-property rules: see :func:`check_record`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, assert_never

from driftguard.sim.cmdlets import TRANSFORMATION, SimCmdletError, unknown_parameter

DELTA_TYPE = "#Exchange.StringFieldDeltaUpdateData"
VALIDATION = "Microsoft.Exchange.Data.DataValidationException"
NAME_LIMIT = 64  # the directory's limit on an object's name
TEXT_LIMIT = 1024
LIST_LIMIT = 1000

_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")
_ADDRESS_SPACE = re.compile(r"^smtp:(?P<domain>[^;]+);(?P<cost>\d{1,3})$", re.IGNORECASE)
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")
_HOST = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")


class Form(Enum):
    """How the service reads and stores one parameter's value."""

    BOOL = "bool"
    TEXT = "text"
    NAME = "name"
    CERTIFICATE = "certificate"  # TlsCertificate: a host name or *.domain, or null
    CONNECTOR_TYPE = "connector_type"
    CONNECTOR_SOURCE = "connector_source"
    ADDRESS_SPACES = "address_spaces"  # SenderDomains
    IPV4_RANGES = "ipv4_ranges"  # SenderIPAddresses
    IP_RANGES = "ip_ranges"  # EFSkipIPs, EFSkipMailGateway
    DOMAINS = "domains"
    HOSTS = "hosts"
    ADDRESSES = "addresses"

    @property
    def is_list(self) -> bool:
        return self in {
            Form.ADDRESS_SPACES,
            Form.IPV4_RANGES,
            Form.IP_RANGES,
            Form.DOMAINS,
            Form.HOSTS,
            Form.ADDRESSES,
        }


@dataclass(frozen=True)
class Parameter:
    name: str  # as the cmdlet reference spells it, and as the record's key
    form: Form
    new_only: bool = False


PARAMETERS: tuple[Parameter, ...] = (
    Parameter("Name", Form.NAME),
    Parameter("ConnectorType", Form.CONNECTOR_TYPE),
    Parameter("ConnectorSource", Form.CONNECTOR_SOURCE),
    Parameter("Enabled", Form.BOOL),
    Parameter("Comment", Form.TEXT),
    Parameter("SenderDomains", Form.ADDRESS_SPACES),
    Parameter("SenderIPAddresses", Form.IPV4_RANGES),
    Parameter("TrustedOrganizations", Form.DOMAINS),
    Parameter("AssociatedAcceptedDomains", Form.DOMAINS),
    Parameter("ClientHostNames", Form.HOSTS, new_only=True),
    Parameter("RequireTls", Form.BOOL),
    Parameter("RestrictDomainsToIPAddresses", Form.BOOL),
    Parameter("RestrictDomainsToCertificate", Form.BOOL),
    Parameter("TlsSenderCertificateName", Form.CERTIFICATE),
    Parameter("CloudServicesMailEnabled", Form.BOOL),
    Parameter("TreatMessagesAsInternal", Form.BOOL),
    Parameter("EFTestMode", Form.BOOL),
    Parameter("EFSkipLastIP", Form.BOOL),
    Parameter("EFSkipIPs", Form.IP_RANGES),
    Parameter("EFSkipMailGateway", Form.IP_RANGES),
    Parameter("EFUsers", Form.ADDRESSES),
    Parameter("ScanAndDropRecipients", Form.ADDRESSES),
)
_BY_LOWER = {p.name.lower(): p for p in PARAMETERS}
_CONNECTOR_TYPES = ("Partner", "OnPremises")
# ConnectorSource accepts Default, HybridWizard or Migrated; connectors made with Default show
# AdminUI on the wire, as those made in the admin centre do.
_CONNECTOR_SOURCES = {"default": "AdminUI", "hybridwizard": "HybridWizard", "migrated": "Migrated"}


def parameter_named(key: str, *, new: bool) -> Parameter:
    """The parameter ``key`` names (case-insensitively), or the binding error PowerShell gives."""
    found = _BY_LOWER.get(key.lower())
    if found is None or (found.new_only and not new):
        raise unknown_parameter(key)
    return found


def stored_value(param: Parameter, value: Any, current: Any) -> Any:
    """The value the service stores for ``param`` given ``value`` (a list replace, a delta
    object ``{"@odata.type": DELTA_TYPE, "Add": [...], "Remove": [...]}`` or a scalar)."""
    try:
        if param.form.is_list:
            return _list_value(param.form, value, current)
        return _scalar_value(param.form, value)
    except ValueError as exc:
        raise SimCmdletError(
            f"Cannot process argument transformation on parameter '{param.name}'. {exc}",
            exception_type=TRANSFORMATION,
        ) from None


def _scalar_value(form: Form, value: Any) -> Any:
    match form:
        case Form.BOOL:
            return _bool(value)
        case Form.TEXT:
            text = "" if value is None else _text(value)
            if len(text) > TEXT_LIMIT:
                raise ValueError(f"The length of the value exceeds {TEXT_LIMIT} characters.")
            return text
        case Form.NAME:
            name = _text(value)
            if not name.strip() or len(name) > NAME_LIMIT:
                raise ValueError(
                    f'The value "{name[:80]}" isn\'t a valid name: it must have 1 to '
                    f"{NAME_LIMIT} characters."
                )
            return name
        case Form.CERTIFICATE:
            if value is None or value == "":
                return None
            return _checked(_text(value), _HOST, "isn't a valid certificate name")
        case Form.CONNECTOR_TYPE:
            return _choice(value, {t.lower(): t for t in _CONNECTOR_TYPES}, "TenantConnectorType")
        case Form.CONNECTOR_SOURCE:
            return _choice(value, _CONNECTOR_SOURCES, "TenantConnectorSource")
        case (
            Form.ADDRESS_SPACES
            | Form.IPV4_RANGES
            | Form.IP_RANGES
            | Form.DOMAINS
            | Form.HOSTS
            | Form.ADDRESSES
        ):
            raise ValueError("a list parameter")  # pragma: no cover - callers branch on is_list
        case _:
            assert_never(form)


def _list_value(form: Form, value: Any, current: Any) -> list[str]:
    if isinstance(value, Mapping):
        if value.get("@odata.type") != DELTA_TYPE:
            raise ValueError(
                f'Cannot convert the object to a list: "@odata.type" is not {DELTA_TYPE}.'
            )
        base = list(current) if isinstance(current, list) else []
        removed = {item_key(form, _item(form, i)) for i in _strings(value.get("Remove"))}
        kept = [i for i in base if item_key(form, str(i)) not in removed]
        return _unique(form, [*kept, *(_item(form, i) for i in _strings(value.get("Add")))])
    return _unique(form, [_item(form, i) for i in _strings(value)])


def _item(form: Form, text: str) -> str:
    """One list member as stored; raises ValueError naming the value when it is not valid."""
    text = text.strip()
    match form:
        case Form.ADDRESS_SPACES:
            return _address_space(text)
        case Form.IPV4_RANGES:
            _ipv4_range(text)
            return text
        case Form.IP_RANGES:
            _ip_range(text)
            return text
        case Form.DOMAINS:
            return _checked(text, _DOMAIN, "isn't a valid domain name")
        case Form.HOSTS:
            return _checked(text, _HOST, "isn't a valid host name")
        case Form.ADDRESSES:
            return _checked(text, _ADDRESS, "isn't a valid SMTP address")
        case (
            Form.BOOL
            | Form.TEXT
            | Form.NAME
            | Form.CERTIFICATE
            | Form.CONNECTOR_TYPE
            | Form.CONNECTOR_SOURCE
        ):
            raise ValueError("not a list parameter")  # pragma: no cover
        case _:
            assert_never(form)


def item_key(form: Form, stored: str) -> str:
    """What makes two members the same to the service: the range an address means, the domain
    of an address space, otherwise the text without regard to case."""
    match form:
        case Form.IPV4_RANGES | Form.IP_RANGES if "-" not in stored:
            try:
                return str(ipaddress.ip_network(stored, strict=False))
            except ValueError:  # a stored value from a saved state, not typed through a cmdlet
                return stored.lower()
        case Form.ADDRESS_SPACES:
            found = _ADDRESS_SPACE.match(stored)
            return (found.group("domain") if found else stored).lower()
        case _:
            return stored.lower()


def _unique(form: Form, items: list[str]) -> list[str]:
    if len(items) > LIST_LIMIT:
        raise ValueError(f"The list has more than {LIST_LIMIT} members.")
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item_key(form, item), item)
    return list(seen.values())


def _address_space(text: str) -> str:
    found = _ADDRESS_SPACE.match(text)
    domain, cost = (found.group("domain"), int(found.group("cost"))) if found else (text, 1)
    if domain != "*":
        _checked(domain, _DOMAIN, "isn't a valid domain for an address space")
    if not 1 <= cost <= 100:
        raise ValueError(f'The address space "{text}" has a cost outside 1 to 100.')
    return f"smtp:{domain};{cost}"


def _ipv4_range(text: str) -> None:
    address, slash, prefix = text.partition("/")
    try:
        ipaddress.IPv4Address(address)
        if slash:
            if not prefix.isdigit() or not 24 <= int(prefix) <= 32:
                raise ValueError(prefix)
            ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise ValueError(
            f'The IP address "{text}" isn\'t valid: use a single IPv4 address or a CIDR range '
            "from /24 to /32."
        ) from None


def _ip_range(text: str) -> None:
    try:
        if "-" in text:
            first, _dash, last = text.partition("-")
            low, high = ipaddress.ip_address(first), ipaddress.ip_address(last)
            if low.version != high.version or int(low) > int(high):
                raise ValueError(text)
        else:
            ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(
            f'The IP address "{text}" isn\'t valid: use an address, a CIDR range or a range '
            "written first-last."
        ) from None


def _checked(text: str, pattern: re.Pattern[str], problem: str) -> str:
    if len(text) > 255 or not pattern.match(text):
        raise ValueError(f'The value "{text[:80]}" {problem}.')
    return text


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower().lstrip("$") in ("true", "false"):
        return value.strip().lower().lstrip("$") == "true"
    raise ValueError(f'Cannot convert value "{str(value)[:80]}" to type "System.Boolean".')


def _text(value: Any) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError(f'Cannot convert value "{str(value)[:80]}" to type "System.String".')
    return str(value)


def _choice(value: Any, choices: Mapping[str, str], type_name: str) -> str:
    found = choices.get(str(value).strip().lower()) if isinstance(value, str) else None
    if found is None:
        raise ValueError(
            f'Cannot convert value "{str(value)[:80]}" to type "{type_name}". The possible '
            f"enumeration values are {', '.join(sorted(set(choices.values())))}."
        )
    return found


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [_text(v) for v in value]
    raise ValueError(f'Cannot convert value "{str(value)[:80]}" to a list of strings.')


# --------------------------------------------------------------------------- cross-property rules


def _is_on_premises(record: Mapping[str, Any]) -> bool:
    return str(record.get("ConnectorType", "")).lower() == "onpremises"


_Rule = tuple[Callable[[Mapping[str, Any]], bool], str]
_RULES: tuple[_Rule, ...] = (
    (
        lambda r: (
            _is_on_premises(r)
            and not r.get("SenderIPAddresses")
            and not r.get("TlsSenderCertificateName")
        ),
        "An OnPremises inbound connector must have SenderIPAddresses or "
        "TlsSenderCertificateName set.",
    ),
    (
        lambda r: bool(r.get("TlsSenderCertificateName")) and r.get("RequireTls") is not True,
        "TlsSenderCertificateName can be set only when RequireTls is $true.",
    ),
    (
        lambda r: r.get("RestrictDomainsToIPAddresses") is True and not r.get("SenderIPAddresses"),
        "RestrictDomainsToIPAddresses requires SenderIPAddresses.",
    ),
    (
        lambda r: (
            r.get("RestrictDomainsToIPAddresses") is True
            and r.get("RestrictDomainsToCertificate") is True
        ),
        "RestrictDomainsToIPAddresses and RestrictDomainsToCertificate can't both be $true.",
    ),
    (
        lambda r: (
            r.get("RestrictDomainsToCertificate") is True and not r.get("TlsSenderCertificateName")
        ),
        "RestrictDomainsToCertificate requires TlsSenderCertificateName.",
    ),
    (
        lambda r: r.get("CloudServicesMailEnabled") is True and not _is_on_premises(r),
        "CloudServicesMailEnabled can be $true only on an OnPremises connector.",
    ),
    (
        lambda r: r.get("TreatMessagesAsInternal") is True and not _is_on_premises(r),
        "TreatMessagesAsInternal can be $true only on an OnPremises connector.",
    ),
    (
        lambda r: (
            r.get("CloudServicesMailEnabled") is True and r.get("TreatMessagesAsInternal") is True
        ),
        "CloudServicesMailEnabled and TreatMessagesAsInternal can't both be $true.",
    ),
)


def check_record(record: Mapping[str, Any]) -> None:
    """Raise the service's DataValidationException for the first rule the record breaks."""
    for broken, message in _RULES:
        if broken(record):
            raise SimCmdletError(message, exception_type=VALIDATION)
