"""The whole CRM in this process on embedded adapters, driven over HTTP (ASGI, no sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm import system
from crm_shared.settings import KernelSettings



@pytest.fixture
async def start_crm(tmp_path: Path) -> AsyncIterator[Start]:
    """Starts the embedded CRM on ``tmp_path``; call again after closing to restart on the same data."""
    contexts: list[object] = []

    async def start() -> httpx.AsyncClient:
        app = system.embedded_app(KernelSettings(data_dir=tmp_path / "var"))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://crm.test")
        contexts.append((lifespan, client))
        return client

    yield start
    for lifespan, client in reversed(contexts):  # type: ignore[misc]
        await client.aclose()
        await lifespan.__aexit__(None, None, None)



@pytest.fixture
async def crm(start_crm: Start) -> httpx.AsyncClient:
    return await start_crm()
