"""Keeps the gateway's views caught up with its own event log.

After each change, the command handlers call :meth:`ViewSync.sync`, so this process reads its own
writes at once; a background loop also follows the log, for changes made by other replicas.
Catch-ups are serialised by the runner (:meth:`~crm_shared.projections.ProjectionRunner.sync`);
replaying a stretch twice is harmless (guarded writes).

The in-memory :class:`~crm_gateway.application.caller_cache.KeyCache` of resolved API keys is kept
here too: refreshed by every :meth:`ViewSync.sync` (so a revocation in this process applies before
its request returns) and by its own, faster loop between :meth:`ViewSync.start` and :meth:`ViewSync.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from crm_gateway.application.caller_cache import KeyCache
from crm_gateway.projections.views import translate
from crm_shared.eventstore import EventStore
from crm_shared.projections import ProjectionRunner

log = logging.getLogger(__name__)


class ViewSync:
    """Applies the event log to the views, on demand and in the background."""

    def __init__(
        self,
        runner: ProjectionRunner,
        store: EventStore,
        poll_interval: float = 0.5,
        keys: KeyCache | None = None,
    ) -> None:
        self.runner = runner
        self.keys = keys or KeyCache(store)
        self._store = store
        self._poll_interval = poll_interval
        self._task: asyncio.Task[None] | None = None

    async def prepare(self) -> None:
        """Create the views' indexes and build them from the log if this version never was."""
        await self.runner.prepare()
        built = await self.runner.rebuild_if_needed(self._store, translate)
        if built:
            log.info("gateway: built views from %d events", built)
        await self.keys.refresh()

    async def sync(self) -> None:
        """Apply whatever the log has beyond the views' checkpoint."""
        await self.runner.sync(self._store, translate)
        await self.keys.refresh()

    def start(self) -> None:
        """Follow the log in the background until :meth:`stop`."""
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="gateway-views")
        self.keys.start()

    async def _follow(self) -> None:
        while True:
            try:
                await self.sync()
            except Exception:  # keep following: the next round retries
                log.exception("gateway: view catch-up failed")
            await asyncio.sleep(self._poll_interval)

    async def stop(self) -> None:
        """Stop the background loops."""
        await self.keys.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
