"""A service as one object: everything the composition root needs to run it, in one process with
the others (embedded mode) or role by role (distributed mode).

Each service exposes one :class:`Service` in its ``service`` module (``crm_contacts.service``), the
top layer of the service: it may use the service's entrypoints and its bootstrap, and nothing in the
service uses it. The launcher lists them in one registry (``crm.services``) and knows nothing else
of a service:

- **embedded** (``crm up``): every service is built, seeded, its router mounted on one app, then its
  relay and its projector started on the one bus; all are closed in reverse order at shutdown. The
  relays and projectors of the services that may run apart (:attr:`Service.background_apart`) run in
  a background process of ``crm up`` (:mod:`crm.background`), beside the API's;
- **distributed** (``crm serve <name>-api | <name>-relay | <name>-projector``): the API role builds,
  seeds and serves the router; the relay and projector roles each start one of the two;
- **the gateway** forwards ``/api/v1/<prefix>`` for every prefix in :attr:`Service.prefixes` to the
  service's API role. The gateway imports no other service: the composition root hands it the table.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from fastapi import APIRouter

from crm_shared.bus import Bus
from crm_shared.identity import CallerTokens
from crm_shared.relay import Relay
from crm_shared.settings import KernelSettings

API_PREFIX = "/api/v1"
"""Every service route is under ``/api/v1/<prefix>`` for a prefix its service owns."""


class Wired(Protocol):
    """A service wired on its adapters in this process (stores open, nothing running yet)."""

    async def seed(self) -> None:
        """Create what a fresh installation needs (default reference data, the first user).

        Idempotent, and safe when several processes do it at once: each API role runs it at start."""

    def relay(self, bus: Bus) -> Relay:
        """The relay that publishes the service's integration events to ``bus`` (also used to
        republish its history for a new consumer: ``crm republish <name>``)."""

    async def start_relay(self, bus: Bus) -> object:
        """Publish the service's integration events to ``bus`` in the background (nothing when it
        publishes none)."""

    async def start_projector(self, bus: Bus) -> None:
        """Build its views when they never were (or their version changed), then follow ``bus``."""

    async def close(self) -> None:
        """Stop whatever it started and release its stores."""


W = TypeVar("W", bound=Wired)


class Service(Protocol[W]):
    """One service of the CRM as the launcher sees it."""

    @property
    def name(self) -> str:
        """Its name: the folder under ``services/``, its data directory, ``CRM_<NAME>_URL``, the CLI
        roles ``<name>-api``, ``<name>-relay`` and ``<name>-projector``, and ``app.state.<name>``."""

    @property
    def prefixes(self) -> tuple[str, ...]:
        """The first path segments under ``/api/v1`` it serves (``counterparties`` for
        ``/api/v1/counterparties/...``); no two services share one."""

    @property
    def background_apart(self) -> bool:
        """Whether its relay and projector may run in another process than its API on the embedded
        adapters (``crm up`` runs them in its background process): False when one of its embedded
        stores may be opened by one process only (analytics' chDB), or when what they keep is in
        its API's memory."""

    async def build(self, settings: KernelSettings) -> W:
        """Open its stores on the adapters of ``settings`` and wire it."""

    def router(self, wired: W, tokens: CallerTokens) -> APIRouter:
        """Its HTTP API bound to ``wired``; every route checks the caller token ``tokens`` verify."""
