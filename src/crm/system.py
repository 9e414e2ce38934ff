"""The whole CRM as one process (embedded mode), and each service role on its own (distributed mode).

This is the composition root: the only code that imports several services.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI

from crm_contacts import bootstrap as contacts
from crm_contacts.entrypoints.api import build_router as contacts_router
from crm_gateway import bootstrap as gateway
from crm_gateway.entrypoints.http import build_router as gateway_router
from crm_gateway.entrypoints.identity import IdentityForwarding
from crm_gateway.entrypoints.oidc import build_oidc_router
from crm_gateway.entrypoints.proxy import distributed_gateway_app, service_urls_from_env
from crm_gateway.settings import GatewaySettings
from crm_gateway.ui import ui_router
from crm_interactions import bootstrap as interactions
from crm_interactions.entrypoints.api import build_router as interactions_router
from crm_shared import observability
from crm_shared.adapters import caller_tokens, open_bus
from crm_shared.bus import Bus
from crm_shared.http import make_app
from crm_shared.settings import KernelSettings

VERSION = "0.1.0"


def embedded_app(settings: KernelSettings, gateway_settings: GatewaySettings | None = None) -> FastAPI:
    """Every service, its relay and its projector in this process behind the gateway, on the
    adapters of ``settings``: one origin for the web UI and the APIs."""
    gateway_settings = gateway_settings or GatewaySettings()
    tokens = caller_tokens(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        observability.setup("crm", settings)
        bus = await open_bus(settings, "crm")
        front = await gateway.build(settings, gateway_settings)
        admin = gateway_settings.admin_password
        generated = await gateway.ensure_initial_admin(front, admin.get_secret_value() if admin else None)
        if generated is not None:
            # Shown once, on the console only: never logged, never stored in plain text.
            print(f"\nFirst start: sign in as 'admin' with password {generated}\n", flush=True)
        service = await contacts.build(settings)
        await service.seed()
        timeline = await interactions.build(settings)
        app.state.gateway = front
        app.state.contacts = service
        app.state.interactions = timeline
        app.state.settings = settings
        app.state.tokens = tokens
        app.include_router(gateway_router(front, tokens))
        app.include_router(build_oidc_router(front))
        app.include_router(contacts_router(service, tokens))
        app.include_router(interactions_router(timeline, tokens))
        await front.start_projector(bus)
        await service.start_relay(bus)
        await service.start_projector(bus)
        await timeline.start_relay(bus)
        await timeline.start_projector(bus)
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            await timeline.close()
            await service.close()
            await front.close()
            await bus.stop()

    app = make_app("CRM", VERSION, lifespan, description="Event-sourced CRM: every service on one origin")
    app.include_router(ui_router())
    app.add_middleware(IdentityForwarding, gateway_service=lambda: app.state.gateway, tokens=tokens)
    return app


def gateway_app(settings: KernelSettings) -> FastAPI:
    """The gateway alone (distributed mode): sign-in, users, the web UI, and a reverse proxy to the
    services named by ``CRM_<SERVICE>_URL`` (e.g. ``CRM_CONTACTS_URL``), with one merged OpenAPI."""
    return distributed_gateway_app(settings, GatewaySettings(), service_urls_from_env())


def contacts_api_app(settings: KernelSettings) -> FastAPI:
    """The contacts HTTP API alone (distributed mode: relay and projector run elsewhere)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        observability.setup("crm-contacts-api", settings)
        service = await contacts.build(settings)
        await service.seed()
        app.include_router(contacts_router(service, caller_tokens(settings)))
        app.state.contacts = service
        app.state.ready = True
        try:
            yield
        finally:
            await service.close()

    return make_app("CRM contacts", VERSION, lifespan)


def interactions_api_app(settings: KernelSettings) -> FastAPI:
    """The interactions HTTP API alone (distributed mode: relay and projector run elsewhere)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        observability.setup("crm-interactions-api", settings)
        service = await interactions.build(settings)
        app.include_router(interactions_router(service, caller_tokens(settings)))
        app.state.interactions = service
        app.state.ready = True
        try:
            yield
        finally:
            await service.close()

    return make_app("CRM interactions", VERSION, lifespan)


class Worker(Protocol):
    """A service with background roles."""

    async def start_relay(self, bus: Bus) -> Any:
        """Run the relay in the background."""

    async def start_projector(self, bus: Bus) -> None:
        """Run the projector in the background."""

    async def close(self) -> None:
        """Stop the roles and release the stores."""


WORKERS: dict[str, Callable[[KernelSettings], Awaitable[Worker]]] = {
    "contacts": contacts.build,
    "interactions": interactions.build,
}
"""The services that have a relay and a projector to run on their own (distributed mode)."""


async def run_worker(settings: KernelSettings, role: str, service_name: str = "contacts") -> None:
    """Run a service's relay or projector until cancelled (distributed mode)."""
    observability.setup(f"crm-{service_name}-{role}", settings)
    bus = await open_bus(settings, f"crm-{service_name}-{role}", retry_for=math.inf)
    service = await WORKERS[service_name](settings)
    try:
        if role == "relay":
            await service.start_relay(bus)
        else:
            await service.start_projector(bus)
        await asyncio.Event().wait()
    finally:
        await service.close()
        await bus.stop()
