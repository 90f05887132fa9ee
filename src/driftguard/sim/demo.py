"""The demo tenant: Contoso, compromised the day before the demo state is made.

Live connectors are ``demo/live.json`` (its timestamps moved like the rest) laid over the
simulator's record template, so they carry the service's bookkeeping properties too; the approved
state is the packaged baseline.
The evidence tells one story: an account nobody lists as an admin, signing in from outside
Contoso's range, created a catch-all OnPremises connector and widened "Hybrid relay" to its own
range, then relayed spam; the service blocked "Hybrid relay" and raised "Suspicious connector
activity", so Contoso's own on-premises mail now bounces with 5.7.711.

Dates: the story is written on a reference calendar (the intrusion at ``INTRUSION``,
2026-11-28 02:38:12 UTC) and moved, every moment by the same whole number of days, so that the
intrusion falls on the day before the moment the state is made (the simulator's clock, read
once). The scenario is therefore the same story on any date, inside ``investigate``'s default
window and the message trace's 90 days, and deterministic given that moment.
"""

from __future__ import annotations

import functools
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from driftguard.sim import auditlog, graph_users, identity_records
from driftguard.sim.cmdlets import CmdletContext
from driftguard.sim.records import from_wire, wire_timestamp
from driftguard.sim.scenarios import grant_standard_apps
from driftguard.sim.state import SimState, TenantState, derived_uuid

DEMO_TENANT_ID = "5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13"
ORG_DOMAIN = "contoso.onmicrosoft.com"
ADMIN = "exadmin@contoso.com"
ADMIN_IP = "198.51.100.10"
INTRUDER = "helpdesk.temp@contoso.onmicrosoft.com"
INTRUDER_IP = "203.0.113.66"
ROGUE = "Inbound relay (temp)"
HYBRID_GUID = "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9"
# The reference calendar (see the module docstring): Timeline.at moves these to the real one.
INTRUSION = datetime(2026, 11, 28, 2, 38, 12, tzinfo=UTC)
WIDENED_AT = datetime(2026, 11, 28, 2, 41, 37, tzinfo=UTC)
SPIKE_START = datetime(2026, 11, 28, 2, 45, 0, tzinfo=UTC)
BLOCKED_AT = datetime(2026, 11, 28, 6, 10, 0, tzinfo=UTC)
# The accounts in the story: Contoso's admin, and the temporary helpdesk account the intruder used
# (created weeks before, never listed as an admin).
ADMIN_CREATED = datetime(2025, 6, 3, 8, 0, 0, tzinfo=UTC)
INTRUDER_CREATED = datetime(2026, 10, 20, 14, 5, 0, tzinfo=UTC)
# Sixteen days of ordinary traffic before the intrusion day: enough history for the spike rule
# (investigate.mailflow gives no verdict with fewer than 7 days before the day it judges).
TRACE_START = datetime(2026, 11, 12, 0, 0, 0, tzinfo=UTC)
# The accounts' identity evidence: the intruder signed in from the relay IP, in a country
# Contoso's staff never sign in from, without MFA; registered an authenticator app the day before
# the intrusion; Identity Protection rates it high. The admin signs in from the office with MFA
# and made one routine change (a connector comment set to its approved text) the day before.
METHOD_AT = datetime(2026, 11, 27, 3, 5, 40, tzinfo=UTC)
ADMIN_ROUTINE_AT = datetime(2026, 11, 27, 16, 20, 31, tzinfo=UTC)
OFFICE = ("US", "Redmond")
INTRUDER_PLACE = ("RO", "Bucharest")
EXCHANGE_ADMIN_ROLE = "29232cdf-9323-42fd-ade2-1d097af3e4de"
TRACE_END = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
MOVED_FIELDS = ("WhenChangedUTC", "WhenCreatedUTC")


@dataclass(frozen=True)
class Timeline:
    """The reference calendar moved to the real one: ``shift`` is a whole number of days;
    ``made`` is the moment the state was made (nothing happens after it)."""

    shift: timedelta
    made: datetime

    @classmethod
    def anchored(cls, now: datetime) -> Timeline:
        """The intrusion on the day before ``now`` (UTC), at its reference time of day."""
        made = now.astimezone(UTC)
        day = made.date() - timedelta(days=1)
        return cls(timedelta(days=(day - INTRUSION.date()).days), made)

    def at(self, reference: datetime) -> datetime:
        return reference + self.shift

    @property
    def intrusion(self) -> datetime:
        return self.at(INTRUSION)

    @property
    def blocked_at(self) -> datetime:
        return self.at(BLOCKED_AT)


def _demo_files() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """(live records, tenant.yaml, {file name: connector file}) from the package."""
    import yaml

    package = resources.files("driftguard.demo")
    live = json.loads(package.joinpath("live.json").read_text(encoding="utf-8"))["value"]
    folder = package.joinpath("baseline", "demo")
    config = yaml.safe_load(folder.joinpath("tenant.yaml").read_text(encoding="utf-8"))
    approved = {
        item.name: yaml.safe_load(item.read_text(encoding="utf-8"))
        for item in sorted(folder.joinpath("inbound").iterdir(), key=lambda i: i.name)
        if item.name.endswith(".yaml")
    }
    return live, config, approved


def _moved(record: dict[str, Any], timeline: Timeline) -> dict[str, Any]:
    """A live record with its WhenChangedUTC/WhenCreatedUTC on the real calendar."""
    out = dict(record)
    for name in MOVED_FIELDS:
        value = out.get(name)
        if isinstance(value, str) and value:
            when = datetime.fromisoformat(value[:19]).replace(tzinfo=UTC)
            out[name] = wire_timestamp(timeline.at(when))
    return out


def add_demo_tenant(sim: SimState) -> TenantState:
    """The demo tenant, its story dated from ``sim.clock()`` (read once, here)."""
    timeline = Timeline.anchored(sim.clock())
    live, config, approved = _demo_files()
    tenant = TenantState(
        name="demo",
        tenant_id=str(config["tenant_id"]),
        domain=ORG_DOMAIN,
        cloud=str(config.get("cloud", "global")),
        connectors=[from_wire(_moved(r, timeline), domain=ORG_DOMAIN) for r in live],
        approved=list(approved.values()),
        accepted_domains=list(config.get("accepted_domains", [])),
        trusted_ip_ranges=list(config.get("trusted_ip_ranges", [])),
        admins=list(config.get("admins", [])),
    )
    sim.add_tenant(tenant)
    grant_standard_apps(sim, tenant)
    graph_users.add_user(tenant, ADMIN, "Exchange Admin", created=timeline.at(ADMIN_CREATED))
    graph_users.add_user(
        tenant, INTRUDER, "Helpdesk (temporary)", created=timeline.at(INTRUDER_CREATED)
    )
    _audit(sim, tenant, timeline)
    _identity(tenant, timeline)
    rogue = tenant.find_connector(ROGUE)
    tenant.blocked.append(
        {
            "ConnectorId": HYBRID_GUID,
            "ConnectorName": "Hybrid relay",
            "TenantId": tenant.tenant_id,
            "Reason": "The connector was used to send a high volume of suspicious messages.",
            "CreatedTime": wire_timestamp(timeline.blocked_at),
            "ExpirationTime": wire_timestamp(timeline.blocked_at + timedelta(days=30)),
        }
    )
    tenant.alerts.append(
        {
            "id": "da6d3b6b-0a8c-4e2f-9f41-3c1e2d7a8b90",
            "title": "Suspicious connector activity",
            "severity": "high",
            "status": "new",
            "category": "ThreatManagement",
            "serviceSource": "microsoftDefenderForOffice365",
            "detectionSource": "microsoftDefenderForOffice365",
            "createdDateTime": timeline.blocked_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lastUpdateDateTime": timeline.blocked_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tenantId": tenant.tenant_id,
            "description": "A connector was restricted from sending email because of suspicious "
            "activity.",
            "evidence": [
                {
                    "@odata.type": "#microsoft.graph.security.mailboxConfigurationEvidence",
                    "displayName": "Hybrid relay",
                }
            ],
        }
    )
    tenant.message_trace = message_trace(
        tenant,
        rogue_ranges=("203.0.113.",),
        seed=sim.knobs.seed,
        has_rogue=rogue is not None,
        timeline=timeline,
    )
    email_events(tenant, sim.knobs.seed)
    return tenant


def _audit(sim: SimState, tenant: TenantState, timeline: Timeline) -> None:
    def ctx(when: datetime, user: str, ip: str, app: str | None = None) -> CmdletContext:
        moved = timeline.at(when)
        return CmdletContext(sim=sim, now=moved, user=user, client_ip=ip, app_id=app)

    admin_created = datetime(2026, 3, 2, 9, 15, 4, tzinfo=UTC)
    events: list[tuple[CmdletContext, str, str, dict[str, Any]]] = [
        (
            ctx(datetime(2021, 1, 12, 8, 47, 33, tzinfo=UTC), ADMIN, ADMIN_IP),
            "New-InboundConnector",
            "Legacy scanner",
            {
                "Name": "Legacy scanner",
                "ConnectorType": "OnPremises",
                "SenderDomains": ["contoso.com"],
                "SenderIPAddresses": ["198.51.100.25"],
            },
        ),
        (
            ctx(admin_created, ADMIN, ADMIN_IP + ":49152"),
            "New-InboundConnector",
            "Hybrid relay",
            {
                "Name": "Hybrid relay",
                "ConnectorType": "OnPremises",
                "SenderDomains": ["contoso.com"],
                "SenderIPAddresses": ["198.51.100.0/24"],
                "RequireTls": True,
                "TlsSenderCertificateName": "mail.contoso.com",
            },
        ),
        (
            ctx(datetime(2026, 5, 14, 11, 2, 51, tzinfo=UTC), ADMIN, ADMIN_IP),
            "New-InboundConnector",
            "Fabrikam partner TLS",
            {
                "Name": "Fabrikam partner TLS",
                "ConnectorType": "Partner",
                "SenderDomains": ["fabrikam.com"],
                "RequireTls": True,
                "RestrictDomainsToCertificate": True,
                "TlsSenderCertificateName": "mail.fabrikam.com",
            },
        ),
        (
            ctx(datetime(2025, 9, 30, 16, 20, 9, tzinfo=UTC), ADMIN, ADMIN_IP),
            "Set-InboundConnector",
            "Legacy scanner",
            {"Identity": "Legacy scanner", "Enabled": False},
        ),
        (
            ctx(ADMIN_ROUTINE_AT, ADMIN, ADMIN_IP),
            "Set-InboundConnector",
            "Fabrikam partner TLS",
            {
                "Identity": "Fabrikam partner TLS",
                "Comment": "Partner mail from Fabrikam, certificate-bound",
            },
        ),
        (
            ctx(INTRUSION, INTRUDER, INTRUDER_IP + ":50912"),
            "New-InboundConnector",
            ROGUE,
            {
                "Name": ROGUE,
                "ConnectorType": "OnPremises",
                "SenderDomains": ["*"],
                "SenderIPAddresses": ["203.0.113.0/24"],
                "TreatMessagesAsInternal": True,
                "Comment": "temporary relay for migration, remove after cutover",
            },
        ),
        (
            ctx(WIDENED_AT, INTRUDER, INTRUDER_IP),
            "Set-InboundConnector",
            "Hybrid relay",
            {
                "Identity": "Hybrid relay",
                "SenderIPAddresses": {
                    "@odata.type": "#Exchange.StringFieldDeltaUpdateData",
                    "Add": ["203.0.113.0/24"],
                },
                "TreatMessagesAsInternal": True,
            },
        ),
    ]
    ordered = sorted(events, key=lambda e: e[0].now)
    for n, (context, operation, object_id, parameters) in enumerate(ordered):
        auditlog.append(
            tenant,
            context,
            operation=operation,
            object_id=object_id,
            parameters=parameters,
            record_id=derived_uuid(sim.knobs.seed, "demo-audit", n),
        )


def _identity(tenant: TenantState, timeline: Timeline) -> None:
    """Sign-ins, risk, roles and security info of the two accounts (see the constants)."""
    at = timeline.at
    sign_in = identity_records.add_sign_in
    for day in range(24, 52, 3):  # the admin: office, MFA, every few days since late October
        when = at(datetime(2026, 10, 1, 8, 40, tzinfo=UTC) + timedelta(days=day))
        sign_in(tenant, ADMIN, when, ip=ADMIN_IP, country=OFFICE[0], city=OFFICE[1])
    sign_in(
        tenant,
        ADMIN,
        at(ADMIN_ROUTINE_AT - timedelta(minutes=15)),
        ip=ADMIN_IP,
        country=OFFICE[0],
        city=OFFICE[1],
        app="Microsoft Exchange REST API Based Powershell",
        client="Mobile Apps and Desktop clients",
    )
    office_ip = "198.51.100.40"
    for when in (
        datetime(2026, 11, 3, 9, 12, tzinfo=UTC),
        datetime(2026, 11, 10, 14, 30, tzinfo=UTC),
    ):
        sign_in(
            tenant,
            INTRUDER,
            at(when),
            ip=office_ip,
            country=OFFICE[0],
            city=OFFICE[1],
            app="My Apps",
            mfa=False,
            conditional_access="notApplied",
        )
    stolen = functools.partial(
        sign_in,
        tenant,
        INTRUDER,
        ip=INTRUDER_IP,
        country=INTRUDER_PLACE[0],
        city=INTRUDER_PLACE[1],
        mfa=False,
        conditional_access="notApplied",
    )
    stolen(at(METHOD_AT - timedelta(minutes=11)), error_code=50126)
    stolen(at(METHOD_AT - timedelta(minutes=7)), app="My Signins")
    stolen(
        at(INTRUSION - timedelta(minutes=18)),
        app="Office 365 Exchange Online",
        client="Authenticated SMTP",
    )
    stolen(
        at(INTRUSION - timedelta(minutes=6)),
        app="Microsoft Exchange REST API Based Powershell",
        client="Mobile Apps and Desktop clients",
    )
    identity_records.register_method(
        tenant,
        INTRUDER,
        at(METHOD_AT),
        ip=INTRUDER_IP,
        detail="User registered Authenticator App with Notification and Code",
    )
    identity_records.set_risk(
        tenant, INTRUDER, "high", "atRisk", at(INTRUSION + timedelta(minutes=32))
    )
    identity_records.assign_role(tenant, ADMIN, EXCHANGE_ADMIN_ROLE)
    identity_records.assign_role(tenant, INTRUDER, EXCHANGE_ADMIN_ROLE)


def message_trace(
    tenant: TenantState,
    *,
    rogue_ranges: tuple[str, ...],
    seed: int,
    has_rogue: bool,
    timeline: Timeline,
) -> list[dict[str, Any]]:
    """Ordinary traffic from the on-premises range and Fabrikam, and a spike from the intruder's
    range through the tampered connectors, ending in NDRs once the service blocked them. Rows
    after the moment the state is made are left out (a trace holds no future mail)."""
    rng = random.Random(seed)  # noqa: S311 - simulation, not security
    rows: list[dict[str, Any]] = []

    def row(when: datetime, sender: str, ip: str, subject: str, status: str) -> None:
        record = {
            "MessageTraceId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "MessageId": f"<{rng.getrandbits(64):016x}@{sender.split('@')[1]}>",
            "Received": wire_timestamp(when),
            "SenderAddress": sender,
            "RecipientAddress": f"user{rng.randint(1, 40)}@contoso.com",
            "FromIP": ip,
            "ToIP": None,
            "Subject": subject,
            "Status": status,
            "Size": rng.randint(4_000, 90_000),
        }
        if when <= timeline.made:  # drawn either way: the same anchor day, the same rows
            rows.append(record)

    blocked_at = timeline.blocked_at
    moment, end = timeline.at(TRACE_START), timeline.at(TRACE_END)
    while moment < end:
        for _ in range(rng.randint(2, 5)):
            when = moment + timedelta(seconds=rng.randint(0, 3599))
            row(
                when,
                f"staff{rng.randint(1, 20)}@contoso.com",
                f"198.51.100.{rng.randint(2, 30)}",
                "Weekly report",
                "Failed" if when >= blocked_at else "Delivered",
            )
        if rng.random() < 0.4:
            when = moment + timedelta(seconds=rng.randint(0, 3599))
            row(when, "orders@fabrikam.com", "192.0.2.25", "Purchase order", "Delivered")
        moment += timedelta(hours=1)
    spike = timeline.at(SPIKE_START)
    while spike < blocked_at + timedelta(minutes=30):
        ip = f"{rogue_ranges[0]}{rng.randint(10, 200)}"
        status = (
            "Failed"
            if spike >= blocked_at
            else rng.choice(["Delivered", "Delivered", "Delivered", "FilteredAsSpam"])
        )
        sender = rng.choice(["payroll@contoso.com", "it-support@contoso.com", "ceo@contoso.com"])
        row(spike, sender, ip, "Action required: verify your account", status)
        spike += timedelta(seconds=rng.randint(15, 45))
    rows.sort(key=lambda r: (r["Received"], r["MessageTraceId"]))
    return rows


FOREIGN_MAIL_FROM = ("bounce.mailer-7.example", "notify-secure.example", "relay-out.example")


def email_events(tenant: TenantState, seed: int) -> None:
    """Defender's ``EmailEvents`` for the demo, derived from its message trace so the story
    holds: Contoso's own mail comes through "Hybrid relay" and Fabrikam's through its partner
    connector, each with the same envelope (P1) and header (P2) sender; the intruder's relay
    (203.0.113.x) sends through the rogue connector, a third through the widened "Hybrid
    relay", with P1 MailFrom at a foreign bulk-mail domain and P2 From at contoso.com. Rows the
    service rejected (after the block) never reached a mailbox: not in ``EmailEvents``."""
    from driftguard.sim.hunting import store_for

    rng = random.Random(seed + 15)  # noqa: S311 - simulation, not security
    store = store_for(tenant)
    for row in tenant.message_trace:
        if row["Status"] == "Failed":
            continue
        sender = str(row["SenderAddress"])
        ip = str(row["FromIP"])
        mail_from = sender
        if ip.startswith("203.0.113."):
            connector = ROGUE if rng.random() < 2 / 3 else "Hybrid relay"
            mail_from = f"bounces+{rng.randint(1000, 9999)}@{rng.choice(FOREIGN_MAIL_FROM)}"
        elif ip.startswith("198.51.100."):
            connector = "Hybrid relay"
        else:
            connector = "Fabrikam partner TLS"
        junked = row["Status"] == "FilteredAsSpam"
        store.add(
            {
                "Timestamp": row["Received"],
                "SenderMailFromAddress": mail_from,
                "SenderFromAddress": sender,
                "SenderMailFromDomain": mail_from.rpartition("@")[2],
                "SenderFromDomain": sender.rpartition("@")[2],
                "SenderIPv4": ip,
                "RecipientEmailAddress": row["RecipientAddress"],
                "Subject": row["Subject"],
                "EmailDirection": "Inbound",
                "DeliveryAction": "Junked" if junked else "Delivered",
                "DeliveryLocation": "Junk folder" if junked else "Inbox/folder",
                "ThreatTypes": "Spam" if junked else "",
                "Connectors": connector,
            }
        )
