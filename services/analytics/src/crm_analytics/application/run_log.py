"""What every kind of run shares (ABC runs, ``application.runs``; stage runs, ``application.stage_runs``):
the permissions, the command handler, and the reads of the runs view (``projections.runs``) that
place a run among the others of its scheme and link its rows to counterparties.

Runs of one scheme follow each other in the order ``projections.runs.order_of`` gives (the last day
counted, then when the run was recorded); the previous run of a run is the one of its scheme just
before it in that order. Recording runs of one scheme is serialised in the process (:meth:`RunViews.lock`)
and reads the view after it has applied the whole log (:meth:`RunViews.sync`), so two of them never
take the same previous run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from crm_analytics.application.links import CounterpartyLinks
from crm_analytics.application.publishing import stored
from crm_shared.commands import CommandHandler, Decider
from crm_shared.errors import Forbidden
from crm_shared.eventstore import EventStore
from crm_shared.identity import Caller, Permission
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Document, Page, Query, ReadStore

C = TypeVar("C")
S = TypeVar("S")


def require_read(caller: Caller) -> None:
    """:class:`Forbidden` unless the caller may read analytics over every customer."""
    if not caller.can(Permission.ANALYTICS_READ):
        raise Forbidden("your roles do not allow reading analytics reports")


def require_classify(caller: Caller) -> None:
    """:class:`Forbidden` unless the caller may run, confirm and override classifications."""
    if not caller.can(Permission.ANALYTICS_CLASSIFY):
        raise Forbidden("your roles do not allow running classifications")


class RunCommands(CommandHandler[C, S]):
    """Run commands against the service's event store: ``analytics:classify`` before anything is read;
    only the ``creating`` commands may start a run's stream."""

    def __init__(
        self,
        store: EventStore,
        decider: Decider[C, S],
        creating: tuple[type, ...],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(store, decider, clock)
        self._creating = creating

    async def authorize(self, command: C, caller: Caller) -> None:
        require_classify(caller)

    def creates(self, command: C) -> bool:
        return isinstance(command, self._creating)


class RunViews:
    """Reads of the runs view shared by every kind of run."""

    def __init__(self, store: EventStore, views: ReadStore, runner: ProjectionRunner, links: CounterpartyLinks) -> None:
        self._store = store
        self._views = views
        self.runner = runner
        self._links = links
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, scheme: str) -> asyncio.Lock:
        """The lock that serialises recording runs of one scheme in this process."""
        return self._locks.setdefault(scheme, asyncio.Lock())

    async def sync(self) -> None:
        """Apply the whole log to the view (before choosing a previous run)."""
        await self.runner.sync(self._store, stored)

    async def wait(self, min_position: int | None) -> None:
        """Wait for the view to reach ``min_position`` of the log (read-your-writes)."""
        if min_position:
            await self.runner.wait_for(self._store, min_position, translate=stored)

    async def find(self, collection: str, query: Query) -> Page:
        """A page of one of the runs view's collections."""
        return await self._views.find(self.runner.collection(collection), query)

    async def get(self, collection: str, key: str) -> Document | None:
        """A document of one of the runs view's collections."""
        return await self._views.get(self.runner.collection(collection), key)

    async def get_many(self, collection: str, keys: list[str]) -> dict[str, Document]:
        """Documents of one of the runs view's collections, by key."""
        return await self._views.get_many(self.runner.collection(collection), keys)

    async def previous_run(
        self, collection: str, scheme: str, before: str, equals: Mapping[str, Any] | None = None
    ) -> str | None:
        """The run of ``scheme`` (and ``equals``) just before the order ``before``, if any."""
        after: tuple[Any, str] | None = None
        previous: str | None = None
        while True:
            page = await self.find(collection, Query({"scheme": scheme, **(equals or {})}, None, "order", after, 500))
            for doc in page.items:
                if str(doc["order"]) < before:
                    previous = str(doc["run_id"])
            if page.next_after is None:
                return previous
            after = page.next_after

    async def rows_of(self, collection: str, run_id: str, sort: str) -> AsyncIterator[Document]:
        """Every row of a run in ``sort`` order."""
        after: tuple[Any, str] | None = None
        while True:
            page = await self.find(collection, Query({"run_id": run_id}, None, sort, after, 1000))
            for doc in page.items:
                yield doc
            if page.next_after is None:
                return
            after = page.next_after

    async def linked(self, page: Page) -> Page:
        """Rows recorded before their customer was linked get the counterparty carrying the code now."""
        missing = [str(doc["customer"]) for doc in page.items if doc.get("counterparty_id") is None]
        if not missing:
            return page
        found = await self._links.counterparties(missing)
        items = [
            doc
            if doc.get("counterparty_id") is not None
            else {**doc, "counterparty_id": found.get(str(doc["customer"]))}
            for doc in page.items
        ]
        return Page(items, page.next_after)
