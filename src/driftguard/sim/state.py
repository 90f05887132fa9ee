"""The simulator's state: tenants with their connectors and evidence, app registrations, knobs.

Plain mutable objects guarded by locks: this is the service's memory, not a value that crosses
driftguard's module boundaries. ``to_dict``/``from_dict`` persist it (the in-process demo keeps its
tenant between commands).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from driftguard.sim.tls import KeyPair, make_app_certificate

FAULT_NAMES: tuple[str, ...] = (
    "throttle",
    "throttle-no-retry-after",
    "unavailable",
    "reset",
    "timeout",
    "truncated-json",
    "html-error",
    "forbidden-nonjson",
    "warnings",
    "nextlink",
    "token-expiry",
    "regional-redirect",
    "foreign-redirect",
    "concurrency-limit",
)

# Entra directory role template ids (the ``wids`` claim).
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de"
ROLE_WIDS: dict[str, tuple[str, ...]] = {
    "read": (GLOBAL_READER,),
    "write": (EXCHANGE_ADMIN,),
    "none": (),
}

# Exchange admin API resource (token audience) and Graph resource per cloud (EXCHANGE.md).
EXCHANGE_RESOURCE = {
    "global": "https://outlook.office365.com",
    "gcc-high": "https://outlook.office365.us",
    "dod": "https://outlook-dod.office365.us",
    "china": "https://partner.outlook.cn",
}
# Microsoft Graph application permissions an app holds in a tenant unless a test takes some away:
# the investigation's reads. The containment writes (revoke sessions, block sign-in) are granted
# only to an app registered with role "write" (or given them explicitly).
GRAPH_READ_ROLES: tuple[str, ...] = (
    "AuditLog.Read.All",
    "SecurityAlert.Read.All",
    "ThreatHunting.Read.All",
    "IdentityRiskyUser.Read.All",
    "UserAuthenticationMethod.Read.All",
    "RoleManagement.Read.Directory",
    "User.Read.All",
)
GRAPH_WRITE_ROLES: tuple[str, ...] = ("User.RevokeSessions.All", "User.EnableDisableAccount.All")

GRAPH_RESOURCE = {
    "global": "https://graph.microsoft.com",
    "gcc-high": "https://graph.microsoft.us",
    "dod": "https://dod-graph.microsoft.us",
    "china": "https://microsoftgraph.chinacloudapi.cn",
}


def derived_uuid(seed: int, *parts: object) -> str:
    """A deterministic GUID from the seed and a label (same seed, same tenants)."""
    digest = hashlib.sha256(":".join([str(seed), *map(str, parts)]).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


@dataclass
class FederatedCredential:
    issuer: str
    subject: str
    audience: str = "api://AzureADTokenExchange"


@dataclass
class App:
    """An app registration (multi-tenant: one client id, consented per tenant)."""

    client_id: str
    display_name: str
    secret: str | None = None
    certificate: KeyPair | None = None  # the private key is kept so the sim can write credentials
    federated: list[FederatedCredential] = field(default_factory=list)
    public_client: bool = False  # device code sign-in allowed


@dataclass
class Grant:
    """An app's standing in one tenant."""

    role: str = "read"  # read | write | none (wids)
    manage_as_app: bool = True  # Exchange.ManageAsApp application permission
    consented: bool = True  # admin consent given
    graph_roles: tuple[str, ...] = GRAPH_READ_ROLES  # Graph application permissions (``roles``)

    @classmethod
    def for_role(cls, role: str) -> Grant:
        extra = GRAPH_WRITE_ROLES if role == "write" else ()
        return cls(role=role, graph_roles=GRAPH_READ_ROLES + extra)


@dataclass
class TenantState:
    name: str
    tenant_id: str
    domain: str  # <name>.onmicrosoft.com
    cloud: str = "global"
    connectors: list[dict[str, Any]] = field(default_factory=list)  # raw wire records
    approved: list[dict[str, Any]] = field(default_factory=list)  # baseline files (CONTRACT.md)
    accepted_domains: list[str] = field(default_factory=list)
    trusted_ip_ranges: list[str] = field(default_factory=list)
    admins: list[str] = field(default_factory=list)
    grants: dict[str, Grant] = field(default_factory=dict)  # client id -> grant
    audit: list[dict[str, Any]] = field(default_factory=list)  # AuditData objects, oldest first
    blocked: list[dict[str, Any]] = field(default_factory=list)
    message_trace: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)  # Graph user objects (graph_users)
    # Identity evidence about accounts (graph_identity): beta signIn records, riskyUser records,
    # unifiedRoleAssignment records, directoryAudit records.
    sign_ins: list[dict[str, Any]] = field(default_factory=list)
    risky_users: list[dict[str, Any]] = field(default_factory=list)
    role_assignments: list[dict[str, Any]] = field(default_factory=list)
    directory_audits: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: int | None = None  # overrides the server's
    faults: dict[str, float] | None = None  # overrides the server's
    revoked_tokens: set[str] = field(default_factory=set)
    token_expiry_fired: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    hunting: Any = field(default=None, repr=False)  # sim.hunting.HuntingStore, made on first use

    def find_connector(self, identity: str) -> dict[str, Any] | None:
        wanted = identity.strip().lower()
        for record in self.connectors:
            if wanted in (str(record.get("Guid", "")).lower(), str(record["Name"]).lower()):
                return record
        return None


@dataclass(frozen=True)
class RequestRecord:
    tenant: str | None  # tenant name when the request named one
    endpoint: str  # route name: openid, token, devicecode, invoke, foreign, ...
    method: str
    path: str
    host: str
    status: int
    authorization: bool  # whether an Authorization header arrived
    cmdlet: str | None = None


@dataclass
class ServerKnobs:
    latency_ms: int = 0
    faults: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    timeout_seconds: float = 30.0  # how long the timeout fault holds a request
    retry_after: int = 1
    token_lifetime: int = 3600
    device_interval: int = 1
    latency_on_entra: bool = True
    # The simulated GitHub Actions OIDC endpoint (admin.py): its request token and the subject of
    # the tokens it hands out, which the standard apps trust as a federated credential.
    actions_request_token: str = "sim-actions-request-token"  # noqa: S105 - a simulator constant
    github_subject: str = "repo:contoso/mail-baseline:ref:refs/heads/main"


class SimState:
    """Everything the simulated services know; shared by all request threads."""

    def __init__(
        self, knobs: ServerKnobs | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.knobs = knobs or ServerKnobs()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.tenants: dict[str, TenantState] = {}  # by name
        self.apps: dict[str, App] = {}
        self.lock = threading.RLock()
        self.requests_log: list[RequestRecord] = []
        self.fault_counters: Counter[tuple[str, str]] = Counter()
        self.device_codes: dict[str, dict[str, Any]] = {}
        self.version = 0  # bumped on every change of persistent state
        self.ports: dict[str, int] = {}  # "https" port, set by the server
        self.stopping = threading.Event()
        self._signing_key: Any = None
        self._issuer_key: Any = None
        self._index: dict[str, TenantState] = {}
        self._log_lock = threading.Lock()
        # Verified access tokens -> (claims, exp): a token is checked once, not per request.
        self.verified_tokens: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ tenants and apps

    def add_tenant(self, tenant: TenantState) -> TenantState:
        with self.lock:
            self.tenants[tenant.name] = tenant
            for key in _tenant_keys(tenant):
                self._index.setdefault(key, tenant)
        return tenant

    def tenant(self, key: str) -> TenantState | None:
        """A tenant by name, GUID or domain (case-insensitive)."""
        wanted = key.strip().lower()
        found = self._index.get(wanted)  # every request looks a tenant up: keep it O(1)
        if found is not None and wanted in _tenant_keys(found):
            return found
        with self.lock:  # a tenant renamed or re-domained since it was added
            for tenant in self.tenants.values():
                if wanted in _tenant_keys(tenant):
                    self._index[wanted] = tenant
                    return tenant
        return None

    def add_app(
        self, app: App, *, role: str = "read", tenants: list[TenantState] | None = None
    ) -> App:
        with self.lock:
            self.apps[app.client_id] = app
            for tenant in tenants if tenants is not None else list(self.tenants.values()):
                tenant.grants[app.client_id] = Grant.for_role(role)
        return app

    def app_certificate(self, client_id: str) -> KeyPair:
        """The app's certificate, made on first use (RSA key generation is slow-ish)."""
        with self.lock:
            app = self.apps[client_id]
            if app.certificate is None:
                app.certificate = make_app_certificate(app.display_name)
            return app.certificate

    def touch(self) -> None:
        with self.lock:
            self.version += 1

    # ------------------------------------------------------------------ keys

    @property
    def has_signing_key(self) -> bool:
        """Whether the token-signing key exists yet (it is made on first use, then saved)."""
        return self._signing_key is not None

    def ensure_signing_key(self) -> None:
        """Make the token-signing key now if it does not exist yet (so that it is saved)."""
        with self.lock:
            if self._signing_key is None:
                from driftguard.sim.tls import new_key

                self._signing_key = new_key()

    @property
    def signing_key(self) -> Any:
        """The RSA key the simulated Entra ID signs access tokens with."""
        if self._signing_key is None:
            self.ensure_signing_key()
        return self._signing_key

    @property
    def issuer_key(self) -> Any:
        """The key of the simulated external OIDC issuer (like GitHub Actions) for federation."""
        with self.lock:
            if self._issuer_key is None:
                from driftguard.sim.tls import new_key

                self._issuer_key = new_key()
            return self._issuer_key

    # ------------------------------------------------------------------ request log

    def record(self, entry: RequestRecord) -> None:
        with self._log_lock:
            self.requests_log.append(entry)

    def request_counts(self) -> Counter[tuple[str | None, str]]:
        """Requests per (tenant name, endpoint)."""
        with self._log_lock:
            return Counter((r.tenant, r.endpoint) for r in self.requests_log)

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            key = None
            if self._signing_key is not None:
                from driftguard.sim.tls import key_pem

                key = key_pem(self._signing_key).decode()
            return {
                "driftguard_sim_state": 1,
                "seed": self.knobs.seed,
                "signing_key": key,
                "apps": [_app_to_dict(a) for a in self.apps.values()],
                "tenants": [_tenant_to_dict(t) for t in self.tenants.values()],
            }

    @classmethod
    def from_dict(cls, data: dict[str, Any], knobs: ServerKnobs | None = None) -> SimState:
        sim = cls(knobs or ServerKnobs(seed=int(data.get("seed", 0))))
        if data.get("signing_key"):
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            # The simulator's own key, written by to_dict into its state file: the checks that
            # guard against a crafted RSA key (primality of its factors, tens of milliseconds,
            # paid on every start of the demo) guard against nothing here.
            sim._signing_key = load_pem_private_key(
                data["signing_key"].encode(), password=None, unsafe_skip_rsa_key_validation=True
            )
        for raw in data["apps"]:
            sim.apps[raw["client_id"]] = _app_from_dict(raw)
        for raw in data["tenants"]:
            sim.add_tenant(_tenant_from_dict(raw))
        return sim


def _tenant_keys(tenant: TenantState) -> set[str]:
    keys = {tenant.name.lower(), tenant.tenant_id.lower(), tenant.domain.lower()}
    keys.update(d.lower() for d in tenant.accepted_domains)
    return keys


_TENANT_LISTS = (
    "connectors",
    "approved",
    "accepted_domains",
    "trusted_ip_ranges",
    "admins",
    "audit",
    "blocked",
    "message_trace",
    "alerts",
    "users",
    "sign_ins",
    "risky_users",
    "role_assignments",
    "directory_audits",
)


def _tenant_to_dict(t: TenantState) -> dict[str, Any]:
    out: dict[str, Any] = {"name": t.name, "tenant_id": t.tenant_id, "domain": t.domain}
    out["cloud"] = t.cloud
    for key in _TENANT_LISTS:
        out[key] = getattr(t, key)
    out["grants"] = {k: vars(g) for k, g in t.grants.items()}
    if t.hunting is not None:
        out["hunting"] = t.hunting.to_dict()
    return out


def _tenant_from_dict(raw: dict[str, Any]) -> TenantState:
    tenant = TenantState(raw["name"], raw["tenant_id"], raw["domain"], raw.get("cloud", "global"))
    for key in _TENANT_LISTS:
        setattr(tenant, key, list(raw.get(key, [])))
    tenant.grants = {
        k: Grant(**{**g, "graph_roles": tuple(g.get("graph_roles", GRAPH_READ_ROLES))})
        for k, g in raw.get("grants", {}).items()
    }
    if raw.get("hunting") is not None:
        from driftguard.sim.hunting import HuntingStore

        tenant.hunting = HuntingStore.from_dict(raw["hunting"])
    return tenant


def _app_to_dict(app: App) -> dict[str, Any]:
    cert = app.certificate
    return {
        "client_id": app.client_id,
        "display_name": app.display_name,
        "secret": app.secret,
        "certificate": None
        if cert is None
        else {"cert_pem": cert.cert_pem.decode(), "key_pem": cert.key_pem.decode()},
        "federated": [vars(f) for f in app.federated],
        "public_client": app.public_client,
    }


def _app_from_dict(raw: dict[str, Any]) -> App:
    cert = raw.get("certificate")
    return App(
        client_id=raw["client_id"],
        display_name=raw["display_name"],
        secret=raw.get("secret"),
        certificate=None
        if cert is None
        else KeyPair(cert["cert_pem"].encode(), cert["key_pem"].encode()),
        federated=[FederatedCredential(**f) for f in raw.get("federated", [])],
        public_client=bool(raw.get("public_client", False)),
    )
