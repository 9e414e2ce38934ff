"""Fixtures of the analytics tests: the analytics tables on the embedded engine (chDB)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_analytics.projections.tables import prepare
from crm_shared.analytics import AnalyticsStore
from crm_shared.analytics.chdb import ChdbAnalyticsStore


@pytest.fixture
async def tables(tmp_path: Path) -> AsyncIterator[AnalyticsStore]:
    """The analytics tables, empty, in chDB (one data directory per test)."""
    store = await ChdbAnalyticsStore.open(tmp_path / "chdb")
    try:
        await prepare(store)
        yield store
    finally:
        await store.close()
