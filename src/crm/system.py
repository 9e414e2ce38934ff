"""The whole CRM as one process (embedded mode), and each service role on its own (distributed mode).

This is the composition root: the only code that imports several services. It knows them through the
registry :mod:`crm.services` and the kernel's :class:`~crm_shared.service.Service`; what it knows of
the gateway beyond that is the front door's (the web UI, the identity middleware, the proxy).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from crm import services
from crm.background import BackgroundProcess
from crm_gateway.entrypoints.identity import IdentityForwarding
from crm_gateway.entrypoints.proxy import distributed_gateway_app, service_urls_from_env
from crm_gateway.service import gateway
from crm_gateway.settings import GatewaySettings
from crm_gateway.ui import ui_router
from crm_shared import observability
from crm_shared.adapters import caller_tokens, open_bus
from crm_shared.dispatch import include_service
from crm_shared.http import make_app
from crm_shared.service import Service, Wired
from crm_shared.settings import KernelSettings

VERSION = "0.1.0"


def embedded_app(
    settings: KernelSettings,
    gateway_settings: GatewaySettings | None = None,
    *,
    background: BackgroundProcess | None = None,
) -> FastAPI:
    """Every service, its relay and its projector behind the gateway, on the adapters of
    ``settings``: one origin for the web UI and the APIs.

    Each service is built and seeded in the registry's order (the gateway first), its router mounted
    (``/api/v1/<prefix>`` dispatched straight to the owner's routes: :mod:`crm_shared.dispatch`)
    and its wired object kept as ``app.state.<name>``; then each one's relay and projector start on
    one bus, in this process, or in ``background`` for the services it names (``crm up``: see
    :mod:`crm.background`), which is started first and waited for last. At shutdown (or when a
    start fails) the background process stops first, then the services close in the reverse order."""
    front = gateway(gateway_settings) if gateway_settings is not None else services.FRONT
    everything: tuple[Service[Any], ...] = (front, *services.BEHIND)
    tokens = caller_tokens(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        observability.setup("crm", settings)
        bus = await open_bus(settings, "crm", run_key=None if background is None else background.run_key)
        running: list[tuple[Service[Any], Wired]] = []
        apart = () if background is None else background.names
        try:
            if background is not None:
                await background.spawn()  # its start-up runs beside this one's
            app.state.settings = settings
            app.state.tokens = tokens
            for service in everything:
                wired: Wired = await service.build(settings)
                running.append((service, wired))
                await wired.seed()
                setattr(app.state, service.name, wired)
                include_service(app, service.prefixes, service.router(wired, tokens))
            for service, wired in running:
                if service.name not in apart:
                    await wired.start_relay(bus)
                    await wired.start_projector(bus)
            if background is not None:
                await background.ready()
            app.state.ready = True
            yield
        finally:
            app.state.ready = False
            if background is not None:
                await background.stop()
            for _, wired in reversed(running):
                await wired.close()
            await bus.stop()

    app = make_app("CRM", VERSION, lifespan, description="Event-sourced CRM: every service on one origin")
    app.include_router(ui_router())
    app.add_middleware(IdentityForwarding, gateway_service=lambda: app.state.gateway, tokens=tokens)
    return app


def gateway_app(settings: KernelSettings) -> FastAPI:
    """The gateway alone (distributed mode): sign-in, users, the web UI, and a reverse proxy to each
    service of the registry at ``CRM_<SERVICE>_URL`` (e.g. ``CRM_CONTACTS_URL``) for the prefixes it
    owns, with one merged OpenAPI. A service without a URL is not proxied."""
    urls = service_urls_from_env()
    table = services.forwarding_table()
    return distributed_gateway_app(
        settings,
        GatewaySettings(),
        {name: url for name, url in urls.items() if name in table},
        prefixes=table,
    )


def api_app(settings: KernelSettings, service_name: str) -> FastAPI:
    """One service's HTTP API alone (distributed mode: its relay and projector run elsewhere)."""
    service = services.behind(service_name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        observability.setup(f"crm-{service.name}-api", settings)
        wired: Wired = await service.build(settings)
        try:
            await wired.seed()
            include_service(app, service.prefixes, service.router(wired, caller_tokens(settings)))
            setattr(app.state, service.name, wired)
            app.state.ready = True
            yield
        finally:
            await wired.close()

    return make_app(f"CRM {service.name}", VERSION, lifespan)


async def run_worker(settings: KernelSettings, role: str, service_name: str) -> None:
    """Run a service's relay or projector until cancelled (distributed mode)."""
    if role not in ("relay", "projector"):
        raise ValueError(f"no background role {role!r}: relay or projector")
    service = services.behind(service_name)
    observability.setup(f"crm-{service.name}-{role}", settings)
    bus = await open_bus(settings, f"crm-{service.name}-{role}", retry_for=math.inf)
    try:
        wired: Wired = await service.build(settings)
        try:
            if role == "relay":
                await wired.start_relay(bus)
            else:
                await wired.start_projector(bus)
            await asyncio.Event().wait()
        finally:
            await wired.close()
    finally:
        await bus.stop()
