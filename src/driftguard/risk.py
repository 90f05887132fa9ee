"""How bad is a difference? Severity as a data table: each rule names what it matches, a severity
and one sentence a human can act on.

Every matching rule is considered and the worst wins (ties: the first in the table). A change that
no rule covers is rated high: driftguard fails closed on properties it has not thought about.
Pure: values in, values out.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from driftguard.model import Connector, FindingKind, Severity, TenantConfig
from driftguard.properties import Value


@dataclass(frozen=True)
class Change:
    """One difference found by the diff, before it is rated.

    ``connector`` is the live connector for ``unknown`` and ``changed``, the baseline one for
    ``missing``; ``baseline_connector`` is set for ``changed``.
    """

    kind: FindingKind
    connector: Connector
    field: str | None = None
    baseline: Value = None
    live: Value = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    baseline_connector: Connector | None = None


Predicate = Callable[[Change, TenantConfig], bool]


@dataclass(frozen=True)
class Rule:
    """``kind`` and ``field`` select the changes a rule looks at; ``when`` narrows further."""

    id: str
    kind: FindingKind
    field: str | None
    severity: Severity
    reason: str  # a template: {connector} {field} {added} {removed} {outside} {domains} {ips}
    when: Predicate | None = None


# --------------------------------------------------------------------------- predicates


def _turned_on(change: Change, _cfg: TenantConfig) -> bool:
    return change.baseline is not True and change.live is True


def _turned_off(change: Change, _cfg: TenantConfig) -> bool:
    return change.baseline is True and change.live is not True


def _star_added(change: Change, _cfg: TenantConfig) -> bool:
    return "*" in change.added


def _any_added(change: Change, _cfg: TenantConfig) -> bool:
    return bool(change.added)


def _only_removed(change: Change, _cfg: TenantConfig) -> bool:
    return bool(change.removed) and not change.added


def _onpremises(change: Change, _cfg: TenantConfig) -> bool:
    return change.connector.connector_type == "OnPremises"


def _accepts_any_domain(change: Change, _cfg: TenantConfig) -> bool:
    domains = change.connector.settings.get("SenderDomains")
    return isinstance(domains, tuple) and "*" in domains


def _was_disabled(change: Change, _cfg: TenantConfig) -> bool:
    return change.connector.settings.get("Enabled") is False


def _can_relay(change: Change, cfg: TenantConfig) -> bool:
    return not _was_disabled(change, cfg)


def _onpremises_enabled(change: Change, cfg: TenantConfig) -> bool:
    return _onpremises(change, cfg) and _can_relay(change, cfg)


def _any_domain_enabled(change: Change, cfg: TenantConfig) -> bool:
    return _accepts_any_domain(change, cfg) and _can_relay(change, cfg)


def _to_onpremises(change: Change, _cfg: TenantConfig) -> bool:
    return change.live == "OnPremises"


def outside_trusted(added: Sequence[str], trusted_ranges: Sequence[str]) -> tuple[str, ...]:
    """The added networks that do not lie inside any of the tenant's trusted ranges."""
    trusted = _trusted(tuple(trusted_ranges))
    outside: list[str] = []
    for text in added:
        span = _span(text)
        if span is None or not any(low <= span[0] and span[1] <= high for low, high in trusted):
            outside.append(text)
    return tuple(outside)


@functools.lru_cache(maxsize=256)
def _trusted(ranges: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """A tenant's trusted ranges as (first, last) addresses, parsed once per tenant rather than
    once per finding; an unreadable range trusts nothing (the baseline loader reports it)."""
    spans = (_span(text) for text in ranges)
    return tuple(span for span in spans if span is not None)


@functools.lru_cache(maxsize=65536)
def _span(text: str) -> tuple[int, int] | None:
    """An IPv4 network's first and last address as integers: one lies inside another exactly
    when ``subnet_of`` says so, compared without building address objects."""
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    if not isinstance(net, ipaddress.IPv4Network):
        return None
    return int(net.network_address), int(net.broadcast_address)


def _ips_outside(change: Change, cfg: TenantConfig) -> bool:
    return bool(outside_trusted(change.added, cfg.trusted_ip_ranges))


# --------------------------------------------------------------------------- the table

_U, _M, _C = FindingKind.UNKNOWN, FindingKind.MISSING, FindingKind.CHANGED
_CRIT, _HIGH, _MED, _LOW = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW
_FIX = "revert it (driftguard plan) or approve it in the baseline"

RULES: Final[tuple[Rule, ...]] = (
    # Connectors nobody approved. Rated by what they can do while enabled; a disabled one (for
    # instance kept as evidence after `driftguard apply` disabled it) relays nothing until
    # someone re-enables it, so it is medium: still unapproved, still to be removed or adopted.
    Rule(
        "unknown-onpremises",
        _U,
        None,
        _CRIT,
        "Unapproved OnPremises connector accepting {domains} from {ips}: Exchange treats its "
        "mail as your organisation's, so remove it now unless an admin can vouch for it.",
        _onpremises_enabled,
    ),
    Rule(
        "unknown-any-domain",
        _U,
        None,
        _CRIT,
        "Unapproved connector accepting mail from any sender domain (*) from {ips}: remove it "
        "unless an admin can vouch for it.",
        _any_domain_enabled,
    ),
    # A Partner connector cannot make mail internal, but it is still an unreviewed trust
    # decision (TLS and IP exemptions for the domains it names): high, not critical.
    Rule(
        "unknown-partner",
        _U,
        None,
        _HIGH,
        "Unapproved Partner connector for {domains} from {ips}: find out who created it, then "
        "remove it or add it to the baseline.",
        _can_relay,
    ),
    Rule(
        "unknown-disabled",
        _U,
        None,
        _MED,
        "Unapproved connector, disabled: it relays nothing now; keep it as evidence until the "
        "investigation is closed, then remove it (driftguard plan --remove-unknown) or adopt it.",
        _was_disabled,
    ),
    # Approved connectors that are gone. Mail from that source falls back to default handling
    # and the TLS/IP restrictions the connector enforced no longer apply: a lost protection.
    Rule(
        "missing-disabled",
        _M,
        None,
        _MED,
        "The approved (disabled) connector is gone: re-create it with `driftguard plan`, or "
        "delete its baseline file if the removal was intended.",
        _was_disabled,
    ),
    Rule(
        "missing",
        _M,
        None,
        _HIGH,
        "The approved connector is gone, so the restrictions it enforced no longer apply: "
        "re-create it with `driftguard plan`, or delete its baseline file if that was intended.",
        lambda change, cfg: not _was_disabled(change, cfg),
    ),
    # Sender domains.
    Rule(
        "any-sender-domain",
        _C,
        "SenderDomains",
        _CRIT,
        "SenderDomains now accepts any domain (*): mail claiming to be from anyone is trusted "
        f"on this connector; {_FIX}.",
        _star_added,
    ),
    Rule(
        "sender-domains-added",
        _C,
        "SenderDomains",
        _HIGH,
        f"SenderDomains now also accepts {{added}}: check who needs it; {_FIX}.",
        _any_added,
    ),
    Rule(
        "sender-domains-removed",
        _C,
        "SenderDomains",
        _MED,
        f"SenderDomains no longer accepts {{removed}}, so that mail may bounce; {_FIX}.",
        _only_removed,
    ),
    # Sender IP addresses.
    Rule(
        "ips-outside-trusted",
        _C,
        "SenderIPAddresses",
        _CRIT,
        "SenderIPAddresses now includes {outside}, outside the tenant's trusted_ip_ranges: "
        f"whoever controls it can relay mail through this connector; {_FIX}.",
        _ips_outside,
    ),
    Rule(
        "ips-inside-trusted",
        _C,
        "SenderIPAddresses",
        _HIGH,
        "SenderIPAddresses now includes {added}, inside your trusted ranges: confirm it is a new "
        f"server of yours; {_FIX}.",
        _any_added,
    ),
    Rule(
        "ips-removed",
        _C,
        "SenderIPAddresses",
        _MED,
        f"SenderIPAddresses no longer includes {{removed}}, so that server's mail may bounce; "
        f"{_FIX}.",
        _only_removed,
    ),
    # Trust switches.
    Rule(
        "internal-on",
        _C,
        "TreatMessagesAsInternal",
        _CRIT,
        "TreatMessagesAsInternal was turned on: mail on this connector now passes as internal "
        f"and skips external-sender protections; {_FIX}.",
        _turned_on,
    ),
    Rule(
        "internal-off",
        _C,
        "TreatMessagesAsInternal",
        _MED,
        f"TreatMessagesAsInternal was turned off, which may break hybrid mail flow; {_FIX}.",
        _turned_off,
    ),
    Rule(
        "cloud-services-on",
        _C,
        "CloudServicesMailEnabled",
        _CRIT,
        "CloudServicesMailEnabled was turned on: internal organisation headers from this "
        f"source are now trusted and can be forged; {_FIX}.",
        _turned_on,
    ),
    Rule(
        "cloud-services-off",
        _C,
        "CloudServicesMailEnabled",
        _MED,
        f"CloudServicesMailEnabled was turned off, which may break hybrid features; {_FIX}.",
        _turned_off,
    ),
    Rule(
        "type-onpremises",
        _C,
        "ConnectorType",
        _CRIT,
        "The connector became OnPremises: Exchange now treats its senders as your own "
        f"organisation; {_FIX}.",
        _to_onpremises,
    ),
    Rule(
        "tls-off",
        _C,
        "RequireTls",
        _HIGH,
        f"RequireTls was turned off: mail on this connector may now arrive unencrypted; {_FIX}.",
        _turned_off,
    ),
    Rule(
        "tls-on",
        _C,
        "RequireTls",
        _MED,
        f"RequireTls was turned on, which bounces senders without TLS; {_FIX}.",
        _turned_on,
    ),
    Rule(
        "restrict-ip-off",
        _C,
        "RestrictDomainsToIPAddresses",
        _HIGH,
        "RestrictDomainsToIPAddresses was turned off: mail for these sender domains is no "
        f"longer tied to the approved IPs; {_FIX}.",
        _turned_off,
    ),
    Rule(
        "restrict-cert-off",
        _C,
        "RestrictDomainsToCertificate",
        _HIGH,
        "RestrictDomainsToCertificate was turned off: mail for these sender domains is no "
        f"longer tied to the approved certificate; {_FIX}.",
        _turned_off,
    ),
    Rule(
        "restrict-on",
        _C,
        "RestrictDomainsToIPAddresses",
        _MED,
        f"RestrictDomainsToIPAddresses was turned on, which may bounce legitimate mail; {_FIX}.",
        _turned_on,
    ),
    Rule(
        "restrict-cert-on",
        _C,
        "RestrictDomainsToCertificate",
        _MED,
        f"RestrictDomainsToCertificate was turned on, which may bounce legitimate mail; {_FIX}.",
        _turned_on,
    ),
    Rule(
        "certificate-changed",
        _C,
        "TlsSenderCertificateName",
        _HIGH,
        "TlsSenderCertificateName changed: another certificate now identifies the trusted "
        f"sender; {_FIX}.",
    ),
    Rule(
        "enabled",
        _C,
        "Enabled",
        _HIGH,
        f"A connector that was approved as disabled was enabled and accepts mail again; {_FIX}.",
        _turned_on,
    ),
    Rule(
        "disabled",
        _C,
        "Enabled",
        _MED,
        f"The connector was disabled, so its mail may bounce; {_FIX}.",
        _turned_off,
    ),
    Rule(
        "renamed",
        _C,
        "Name",
        _MED,
        "The connector was renamed, which can hide it from reviews by name: rename it back with "
        "`driftguard plan`, or change Name in the baseline.",
    ),
    Rule(
        "connector-source",
        _C,
        "ConnectorSource",
        _LOW,
        f"ConnectorSource changed; it records how the connector was made, not who it trusts; "
        f"{_FIX}.",
    ),
    Rule(
        "comment",
        _C,
        "Comment",
        _LOW,
        f"Only the Comment changed; {_FIX}.",
    ),
)

FALLBACK: Final = Rule(
    "no-rule",
    _C,
    None,
    _HIGH,
    "{field} changed and driftguard has no rule for it, so it is rated high until a person "
    f"reviews it; {_FIX}.",
)


# --------------------------------------------------------------------------- approved patterns

# What no review should approve without a second look: validate warns when a baseline file holds
# one (the exit code stays; a person may really mean it). Each names the field the warning points
# at; the predicates are the table's own, on the connector as the baseline has it.
APPROVED_CRITICAL: Final[tuple[tuple[str, str, Predicate, str], ...]] = (
    (
        "approved-any-domain-internal",
        "TreatMessagesAsInternal",
        lambda c, cfg: (
            _any_domain_enabled(c, cfg)
            and c.connector.settings.get("TreatMessagesAsInternal") is True
        ),
        "{connector} accepts any sender domain (*) from {ips} and treats the mail as internal: "
        "whoever sends from there passes as your organisation, external-sender protections "
        "skipped",
    ),
    (
        "approved-any-domain-cloud-services",
        "CloudServicesMailEnabled",
        lambda c, cfg: (
            _any_domain_enabled(c, cfg)
            and c.connector.settings.get("CloudServicesMailEnabled") is True
        ),
        "{connector} accepts any sender domain (*) from {ips} and trusts its internal "
        "organisation headers (CloudServicesMailEnabled), which can be forged",
    ),
    (
        "approved-any-domain-outside-trusted",
        "SenderIPAddresses",
        lambda c, cfg: (
            _any_domain_enabled(c, cfg)
            and bool(
                outside_trusted(
                    _tuple(c.connector.settings.get("SenderIPAddresses")), cfg.trusted_ip_ranges
                )
            )
            and bool(cfg.trusted_ip_ranges)
        ),
        "{connector} accepts any sender domain (*) from {outside}, outside the tenant's "
        "trusted_ip_ranges",
    ),
)


def approved_criticals(connector: Connector, config: TenantConfig) -> list[tuple[str, str]]:
    """(field, sentence) of each critical pattern the approved ``connector`` holds."""
    change = Change(
        FindingKind.UNKNOWN,
        connector,
        added=_tuple(connector.settings.get("SenderIPAddresses")),
    )
    context = _context(change, config)
    return [
        (field, reason.format_map(context))
        for _id, field, when, reason in APPROVED_CRITICAL
        if when(change, config)
    ]


def rate(change: Change, config: TenantConfig) -> tuple[Severity, str, str]:
    """(severity, reason, rule id) of the worst rule matching ``change``; FALLBACK if none."""
    best: Rule | None = None
    for rule in RULES:
        if rule.kind != change.kind or (rule.field is not None and rule.field != change.field):
            continue
        if rule.when is not None and not rule.when(change, config):
            continue
        if best is None or rule.severity.rank > best.severity.rank:
            best = rule
    chosen = best or FALLBACK
    return chosen.severity, chosen.reason.format_map(_context(change, config)), chosen.id


def _context(change: Change, config: TenantConfig) -> Mapping[str, str]:
    settings = change.connector.settings
    return {
        "connector": change.connector.name,
        "field": change.field or "",
        "added": _join(change.added),
        "removed": _join(change.removed),
        "outside": _join(outside_trusted(change.added, config.trusted_ip_ranges)),
        "domains": _join(_tuple(settings.get("SenderDomains")), empty="no sender domain"),
        "ips": _join(_tuple(settings.get("SenderIPAddresses")), empty="any IP address"),
    }


def _tuple(value: Value) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else ()


def _join(items: Sequence[str], empty: str = "nothing", limit: int = 5) -> str:
    if not items:
        return empty
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"
