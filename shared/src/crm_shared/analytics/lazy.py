"""An analytics store opened on first use, so roles and commands that never query it never open it.

Opening chDB costs seconds (it loads the engine) and locks its data directory for the process, so a
service whose relay, projector or command-line tools do not touch its analytics tables should not
open them at start. :class:`LazyAnalyticsStore` opens the real store (and runs ``prepare`` on it,
e.g. its schema script) the first time a method is called, once even when calls race.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from crm_shared.analytics.port import AnalyticsError, AnalyticsStore

Opener = Callable[[], Awaitable[AnalyticsStore]]
Prepare = Callable[[AnalyticsStore], Awaitable[None]]


class LazyAnalyticsStore:
    """:class:`~crm_shared.analytics.port.AnalyticsStore` that opens the real one on first use."""

    def __init__(self, opener: Opener, prepare: Prepare | None = None) -> None:
        self._opener = opener
        self._prepare = prepare
        self._store: AnalyticsStore | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def opened(self) -> bool:
        """Whether the real store is open."""
        return self._store is not None

    async def store(self) -> AnalyticsStore:
        """The real store, opened (and prepared) now if it was not yet."""
        if self._closed:
            raise AnalyticsError("the analytics store is closed")
        if self._store is not None:
            return self._store
        async with self._lock:
            if self._store is None:
                store = await self._opener()
                try:
                    if self._prepare is not None:
                        await self._prepare(store)
                except BaseException:
                    await store.close()
                    raise
                self._store = store
            return self._store

    async def execute(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        """See :meth:`AnalyticsStore.execute`."""
        await (await self.store()).execute(sql, parameters)

    async def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """See :meth:`AnalyticsStore.query`."""
        return await (await self.store()).query(sql, parameters)

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        """See :meth:`AnalyticsStore.insert`."""
        return await (await self.store()).insert(table, columns, rows)

    async def insert_arrow(self, table: str, data: pa.Table) -> int:
        """See :meth:`AnalyticsStore.insert_arrow`."""
        return await (await self.store()).insert_arrow(table, data)

    async def run_script(self, path: Path, parameters: Mapping[str, Any] | None = None) -> None:
        """See :meth:`AnalyticsStore.run_script`."""
        await (await self.store()).run_script(path, parameters)

    async def close(self) -> None:
        """Close the real store if it was opened; calling it again does nothing."""
        self._closed = True
        async with self._lock:
            store, self._store = self._store, None
        if store is not None:
            await store.close()
