"""The whole CRM as one process (embedded mode), and each service role on its own (distributed mode).

This is the composition root: the only code that imports several services.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from crm_contacts import bootstrap as contacts
from crm_contacts.entrypoints.http import build_router as contacts_router
from crm_shared import observability
from crm_shared.adapters import caller_tokens, open_bus
from crm_shared.http import make_app
from crm_shared.settings import KernelSettings

VERSION = "0.1.0"


def embedded_app(settings: KernelSettings) -> FastAPI:
    """Every service, its relay and its projector in this process, on the adapters of ``settings``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        observability.setup("crm", settings)
        tokens = caller_tokens(settings)
        bus = await open_bus(settings, "crm")
        service = await contacts.build(settings)
        app.include_router(contacts_router(service, tokens))
        app.state.contacts = service
        app.state.settings = settings
        app.state.tokens = tokens
        await service.start_relay(bus)
        await service.start_projector(bus)
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            await service.close()
            await bus.stop()

    return make_app("CRM", VERSION, lifespan, description="Event-sourced CRM: every service on one origin")


def contacts_api_app(settings: KernelSettings) -> FastAPI:
    """The contacts HTTP API alone (distributed mode: relay and projector run elsewhere)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        observability.setup("crm-contacts-api", settings)
        service = await contacts.build(settings)
        app.include_router(contacts_router(service, caller_tokens(settings)))
        app.state.contacts = service
        app.state.ready = True
        try:
            yield
        finally:
            await service.close()

    return make_app("CRM contacts", VERSION, lifespan)


async def run_worker(settings: KernelSettings, role: str) -> None:
    """Run the contacts relay or projector until cancelled (distributed mode)."""
    observability.setup(f"crm-contacts-{role}", settings)
    bus = await open_bus(settings, f"crm-contacts-{role}", retry_for=math.inf)
    service = await contacts.build(settings)
    try:
        if role == "relay":
            await service.start_relay(bus)
        else:
            await service.start_projector(bus)
        await asyncio.Event().wait()
    finally:
        await service.close()
        await bus.stop()
