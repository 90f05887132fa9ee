"""The one table of inbound-connector properties: what is settable, its kind, its service default.

Everything that needs to know about a property (schema, normalisation, diff, risk, simulator,
planner, adopt) reads it from here. Names are exactly as ``Set-InboundConnector`` spells them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Final


class Kind(Enum):
    """How a property's values are compared."""

    BOOL = "bool"
    TEXT = "text"  # free text, compared exactly (Comment)
    NAME = "name"  # compared case-insensitively, kept as written (Name)
    HOST = "host"  # a host or certificate name, case-insensitive
    ENUM = "enum"  # one of a few words, case-insensitive
    DOMAINS = "domains"  # a set of domains / address spaces (``smtp:x;1`` == ``x``)
    IPV4_NETWORKS = "ipv4_networks"  # a set of IPv4 addresses or CIDR ranges, /24 to /32
    IPS = "ips"  # a set of IP addresses, ranges or CIDR (IPv4 or IPv6)
    HOSTS = "hosts"  # a set of host names, case-insensitive
    ADDRESSES = "addresses"  # a set of e-mail addresses, case-insensitive

    @property
    def is_list(self) -> bool:
        return self in _LIST_KINDS


_LIST_KINDS: Final = frozenset(
    {Kind.DOMAINS, Kind.IPV4_NETWORKS, Kind.IPS, Kind.HOSTS, Kind.ADDRESSES}
)

Value = str | bool | int | None | tuple[str, ...]
"""A canonical property value: lists are sorted tuples of canonical strings."""


@dataclass(frozen=True)
class Property:
    name: str
    kind: Kind
    default: Value
    choices: tuple[str, ...] = ()  # for ENUM, in their canonical spelling
    new_only: bool = False  # settable on New-InboundConnector only
    microsoft_reserved: bool = False  # documented as "reserved for internal Microsoft use"
    doc: str = ""


_P = Property
SETTABLE: Final[tuple[Property, ...]] = (
    _P("Name", Kind.NAME, None, doc="Unique name of the connector."),
    _P(
        "ConnectorType",
        Kind.ENUM,
        "Partner",
        ("Partner", "OnPremises"),
        doc="OnPremises connectors make Exchange Online trust the sender as the organisation.",
    ),
    _P(
        "ConnectorSource",
        Kind.ENUM,
        "Default",
        ("Default", "HybridWizard", "Migrated"),
        doc="How the connector was created; AdminUI on the wire means Default.",
    ),
    _P("Enabled", Kind.BOOL, True, doc="Whether the connector accepts mail."),
    _P("Comment", Kind.TEXT, None, doc="Free text; empty and absent are the same."),
    _P("SenderDomains", Kind.DOMAINS, (), doc="Sender domains the connector accepts; * = any."),
    _P("SenderIPAddresses", Kind.IPV4_NETWORKS, (), doc="IPv4 addresses or /24-/32 ranges."),
    _P(
        "TrustedOrganizations", Kind.DOMAINS, (), doc="Other Microsoft 365 orgs trusted as senders."
    ),
    _P(
        "AssociatedAcceptedDomains",
        Kind.DOMAINS,
        (),
        doc="Accepted domains the connector is limited to.",
    ),
    _P(
        "ClientHostNames",
        Kind.HOSTS,
        (),
        new_only=True,
        doc="Host names of on-premises servers (New-InboundConnector only).",
    ),
    _P("RequireTls", Kind.BOOL, False, doc="Require TLS for mail on this connector."),
    _P(
        "RestrictDomainsToIPAddresses",
        Kind.BOOL,
        False,
        doc="Reject mail from SenderDomains that does not come from SenderIPAddresses.",
    ),
    _P(
        "RestrictDomainsToCertificate",
        Kind.BOOL,
        False,
        doc="Reject mail from SenderDomains not sent with TlsSenderCertificateName.",
    ),
    _P(
        "TlsSenderCertificateName",
        Kind.HOST,
        None,
        doc="Certificate subject name identifying the sending server.",
    ),
    _P(
        "CloudServicesMailEnabled",
        Kind.BOOL,
        False,
        doc="Hybrid: preserve internal X-MS-Exchange-Organization headers (OnPremises only).",
    ),
    _P(
        "TreatMessagesAsInternal",
        Kind.BOOL,
        False,
        doc="Treat mail on this connector as internal to the organisation (OnPremises only).",
    ),
    _P(
        "EFTestMode", Kind.BOOL, False, microsoft_reserved=True, doc="Enhanced filtering test mode."
    ),
    _P("EFSkipLastIP", Kind.BOOL, False, doc="Enhanced filtering: skip the last IP."),
    _P("EFSkipIPs", Kind.IPS, (), doc="Enhanced filtering: source IPs to skip."),
    _P(
        "EFSkipMailGateway",
        Kind.IPS,
        (),
        microsoft_reserved=True,
        doc="Enhanced filtering: mail gateway IPs to skip.",
    ),
    _P("EFUsers", Kind.ADDRESSES, (), doc="Enhanced filtering: recipients it applies to."),
    _P(
        "ScanAndDropRecipients",
        Kind.ADDRESSES,
        (),
        microsoft_reserved=True,
        doc="Recipients whose mail is scanned and dropped.",
    ),
)

BY_NAME: Final = MappingProxyType({p.name: p for p in SETTABLE})
"""Settable properties by their exact cmdlet spelling."""

BY_LOWER: Final = MappingProxyType({p.name.lower(): p for p in SETTABLE})
"""Settable properties by lower-cased name, for case-insensitive lookups of wire and user input."""

READ_ONLY: Final[frozenset[str]] = frozenset(
    {
        "Identity",
        "Guid",
        "Id",
        "WhenChanged",
        "WhenCreated",
        "WhenChangedUTC",
        "WhenCreatedUTC",
        "IsValid",
        "ObjectState",
        "AdminDisplayName",
        "DistinguishedName",
        "ExchangeVersion",
        "OrganizationId",
        "OriginatingServer",
        "ObjectCategory",
        "ObjectClass",
        "PSComputerName",
        "PSShowComputerName",
        "PSSourceJobInstanceId",
        "RunspaceId",
        # Directory bookkeeping the ExchangeOnlineManagement module returns; the service
        # rewrites these with no admin action (EXCHANGE.md, "What real artefacts showed").
        "NameHashGuid",
        "OrganizationalUnitRoot",
        "OrganizationalUnitRootInternal",
        "DirectoryObjectVersion",
        "ExchangeObjectId",
    }
)
"""Read-only or bookkeeping properties: kept in snapshots, never drift or warn by themselves."""

READ_ONLY_LOWER: Final = MappingProxyType({k.lower(): k for k in READ_ONLY})
"""Read-only properties by lower-cased name."""

UNMODELLED: Final = "Unmodelled"
"""The baseline key under which a connector file pins properties driftguard does not model."""

REQUIRED_IN_BASELINE: Final[tuple[str, ...]] = ("Name", "SenderDomains")
"""New-InboundConnector requires these, so a baseline file must state them."""

COMPARED: Final[tuple[str, ...]] = tuple(p.name for p in SETTABLE)
"""Every property the diff compares, in display order."""


def is_sidecar(key: str) -> bool:
    """``Prop@data.type`` and ``@odata.*`` keys are wire metadata, not properties."""
    return "@" in key
