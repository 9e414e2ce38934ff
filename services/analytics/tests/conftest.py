"""Fixtures of the analytics tests: the analytics tables on the embedded engine (chDB), and the wired
service and its API on the embedded adapters (callers' tokens signed with :data:`TOKENS`' secret)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from crm_analytics import bootstrap
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.entrypoints.api import build_router
from crm_analytics.projections.tables import prepare
from crm_shared.analytics import AnalyticsStore
from crm_shared.analytics.chdb import ChdbAnalyticsStore
from crm_shared.http import install
from crm_shared.identity import CallerTokens
from crm_shared.settings import KernelSettings

TOKENS = CallerTokens(b"0123456789abcdef0123456789abcdef")
"""The caller tokens' key of the :func:`app` fixture (the test files sign with the same secret)."""


@pytest.fixture
async def tables(tmp_path: Path) -> AsyncIterator[AnalyticsStore]:
    """The analytics tables, empty, in chDB (one data directory per test)."""
    store = await ChdbAnalyticsStore.open(tmp_path / "chdb")
    try:
        await prepare(store)
        yield store
    finally:
        await store.close()


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[AnalyticsService]:
    wired = await bootstrap.build(KernelSettings(data_dir=tmp_path))
    try:
        yield wired
    finally:
        await wired.close()


@pytest.fixture
async def app(service: AnalyticsService) -> FastAPI:
    app = FastAPI()
    install(app)
    app.include_router(build_router(service, TOKENS))
    return app
