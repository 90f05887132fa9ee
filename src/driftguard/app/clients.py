"""Admin API clients for one tenant: the read credential, and the separate write credential."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from driftguard.apply import Invoker
from driftguard.live.service import ExchangeSource
from driftguard.model import TenantConfig

if TYPE_CHECKING:
    from driftguard.apply import Accounts
    from driftguard.live.graphusers import GraphUsers, UserWriter

GraphPurpose = Literal["read", "graph_write"]


def _source_for(config: TenantConfig) -> tuple[ExchangeSource, TenantConfig]:
    """The ExchangeSource (and effective config) for a tenant.

    A tenant pointing at the demo host runs against the simulator in-process, its state kept in
    the user's data folder, so a following ``driftguard diff --tenant demo`` sees what apply
    changed.
    """
    from driftguard.live.demo import source_for

    return source_for(config, ExchangeSource())


@contextlib.contextmanager
def read_client(config: TenantConfig) -> Iterator[Invoker]:
    """A client with the read credential only (plan never holds the write credential)."""
    source, effective = _source_for(config)
    with source.client(effective, purpose="read") as reader:
        yield reader


@contextlib.contextmanager
def clients(config: TenantConfig) -> Iterator[tuple[Invoker, Invoker]]:
    """A read client (the read credential) and a write client (the separate write credential)."""
    source, effective = _source_for(config)
    with (
        source.client(effective, purpose="read") as reader,
        source.client(effective, purpose="write") as writer,
    ):
        yield reader, writer


@contextlib.contextmanager
def graph_users(config: TenantConfig) -> Iterator[GraphUsers]:
    """User accounts in Microsoft Graph for one tenant, with the read credential (the token goes
    only to the Graph host of the tenant's cloud)."""
    source, effective = _source_for(config)
    with _graph_users(source, effective, ("read",)) as (reader,):
        yield reader


@contextlib.contextmanager
def _graph_users(
    source: ExchangeSource, effective: TenantConfig, purposes: tuple[GraphPurpose, ...]
) -> Iterator[tuple[GraphUsers, ...]]:
    """One Graph user client per purpose, on one session of ``source``; ``graph_write`` is the
    separate Graph write credential (an AuthError naming it when tenant.yaml has none)."""
    from driftguard.investigate.graph import graph_client
    from driftguard.live import clouds
    from driftguard.live.graphusers import GraphUsers

    endpoints = clouds.resolve(effective)
    session = source.session_factory(endpoints)
    try:
        yield tuple(
            GraphUsers(graph_client(effective, endpoints, session, purpose=p)) for p in purposes
        )
    finally:
        session.close()


@contextlib.contextmanager
def apply_clients(
    config: TenantConfig, *, on_accounts: bool, dry_run: bool
) -> Iterator[tuple[Invoker, Invoker, Accounts | None]]:
    """``clients``, and when the plan acts on accounts the Graph reader and writer, all on one
    source (the demo's in-process service is one state). A dry run writes nothing, so it needs
    no Graph write credential; a real run without one is refused here, before any write."""
    from driftguard.apply import AccountRecorder, Accounts

    source, effective = _source_for(config)
    with contextlib.ExitStack() as stack:
        users = None
        if on_accounts:
            purposes: tuple[GraphPurpose, ...] = ("read",) if dry_run else ("read", "graph_write")
            graph = stack.enter_context(_graph_users(source, effective, purposes))
            writer: UserWriter = AccountRecorder() if dry_run else graph[1]
            users = Accounts(graph[0], writer)
        reader = stack.enter_context(source.client(effective, purpose="read"))
        write = stack.enter_context(source.client(effective, purpose="write"))
        yield reader, write, users


def effective_config(config: TenantConfig) -> TenantConfig:
    """The configuration the tenant is reached with: itself, or for the demo tenant the
    in-process service's (its credentials, so driftguard's own apps are known by client id)."""
    from dataclasses import replace

    _source, effective = _source_for(config)
    return effective if effective is config else replace(effective, location=config.location)
