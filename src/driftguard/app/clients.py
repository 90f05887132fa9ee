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
def graph_users(
    config: TenantConfig, *, purpose: Literal["read", "graph_write"] = "read"
) -> Iterator[GraphUsers]:
    """User accounts in Microsoft Graph for one tenant, with the read credential or the separate
    Graph write credential (``auth.graph_write``; an AuthError naming it when it is missing).
    The token goes only to the Graph host of the tenant's cloud."""
    from driftguard.investigate.graph import graph_client
    from driftguard.live import clouds
    from driftguard.live.graphusers import GraphUsers

    source, effective = _source_for(config)
    endpoints = clouds.resolve(effective)
    session = source.session_factory(endpoints)
    try:
        yield GraphUsers(graph_client(effective, endpoints, session, purpose=purpose))
    finally:
        session.close()


@contextlib.contextmanager
def accounts(config: TenantConfig, *, dry_run: bool) -> Iterator[Accounts]:
    """The reader and writer of a plan's account actions; a dry run writes nothing, so it needs
    no Graph write credential."""
    from driftguard.apply import AccountRecorder, Accounts

    with contextlib.ExitStack() as stack:
        reader = stack.enter_context(graph_users(config))
        writer: UserWriter = (
            AccountRecorder()
            if dry_run
            else stack.enter_context(graph_users(config, purpose="graph_write"))
        )
        yield Accounts(reader, writer)
