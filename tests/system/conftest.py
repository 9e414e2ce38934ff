"""The whole CRM in this process on embedded adapters, driven over HTTP (ASGI, no sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm import system
from crm_shared.identity import CALLER_HEADER, Caller, caller_of
from crm_shared.settings import KernelSettings

ADMIN = caller_of("admin", ["administrator"], name="Administrator")


class EmbeddedCrm:
    """Starts and stops the embedded CRM on one data directory, as often as a test likes."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.running: list[tuple[Any, httpx.AsyncClient]] = []

    async def start(self, caller: Caller = ADMIN) -> httpx.AsyncClient:
        app = system.embedded_app(KernelSettings(data_dir=self.data_dir))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        self.app = app
        client = self.client(caller)
        self.running.append((lifespan, client))
        return client

    def client(self, caller: Caller) -> httpx.AsyncClient:
        """A client of the running CRM acting as ``caller`` (a fresh signed token per request)."""
        tokens = self.app.state.tokens

        async def sign(request: httpx.Request) -> None:
            request.headers[CALLER_HEADER] = tokens.issue(caller)

        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://crm.test", event_hooks={"request": [sign]}
        )

    async def stop(self) -> None:
        lifespan, client = self.running.pop()
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[EmbeddedCrm]:
    crm = EmbeddedCrm(tmp_path / "var")
    yield crm
    while crm.running:
        await crm.stop()


@pytest.fixture
async def crm(embedded: EmbeddedCrm) -> httpx.AsyncClient:
    return await embedded.start()
