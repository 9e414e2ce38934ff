"""What every part of the service knows of reference entries: :class:`ReferenceData`, read from
each entry's own stream and cached briefly; the results of commands and pages of queries."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm_contacts.domain import reference as ref
from crm_contacts.domain.reference import ReferenceEntry
from crm_contacts.projections.reference import COLLECTION, entry_of
from crm_shared.commands import CommandResult
from crm_shared.errors import DomainError
from crm_shared.eventstore import EventStore, RecordedEvent
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Query, ReadStore

CACHE_TTL_SECONDS = 5.0

ReferenceResult = CommandResult[ReferenceEntry]
"""An entry, its stream version (the ETag) and the commit position of its last change (0 when unknown)."""


@dataclass(frozen=True, slots=True)
class ReferencePage:
    """Entries of one page; ``next_cursor`` asks for the next one (None on the last page)."""

    items: list[ReferenceResult]
    next_cursor: str | None


def _fold(events: list[RecordedEvent]) -> ref.State:
    state: ref.State = None
    for recorded in events:
        state = ref.evolve(state, ref.event_catalog.decode(recorded))
    return state


def check_code(catalog: str, code: object, *, field: str) -> None:
    """Refuse what cannot be a code of ``catalog`` at all (before any lookup)."""
    if catalog not in ref.SCHEMAS:
        raise ValueError(f"unknown reference catalog {catalog!r}")
    if not isinstance(code, str) or not ref.is_code(code):
        raise DomainError(f"{code!r} is not a code of {catalog}", field=field)


def active(catalog: str, code: str, entry: ReferenceEntry | None, *, field: str) -> ReferenceEntry:
    """``entry`` (as found for ``code``) if it exists and is not retired, else a DomainError naming ``field``."""
    if entry is None:
        raise DomainError(f"there is no {code!r} in {catalog}", field=field)
    if entry.retired:
        raise DomainError(f"{code!r} of {catalog} is retired", field=field)
    return entry


class ReferenceData:
    """Reference entries as the rest of the service needs them.

    :meth:`require` reads the entry's own stream, so an entry is known the moment it is defined; the
    entries it found are kept for a few seconds (an import of a million rows reads each code once per
    TTL), and this process's own changes replace them at once. :meth:`entries` reads the view.
    """

    def __init__(
        self,
        store: EventStore,
        views: ReadStore,
        runner: ProjectionRunner,
        *,
        ttl_seconds: float = CACHE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._views = views
        self._runner = runner
        self._ttl = ttl_seconds
        self._clock = clock
        self._known: dict[tuple[str, str], tuple[float, ReferenceEntry]] = {}

    async def load(self, catalog: str, code: str) -> tuple[ref.State, list[RecordedEvent]]:
        """The entry as its stream has it now, and the events it was folded from."""
        events = await self._store.read_stream(ref.stream_of(catalog, code))
        return _fold(events), events

    async def get(self, catalog: str, code: str) -> ReferenceEntry | None:
        """The entry (retired ones too), or None; from the cache while it is fresh."""
        key = (catalog, code)
        cached = self._known.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        state, _ = await self.load(catalog, code)
        if state is None:
            self._known.pop(key, None)
        else:
            self.remember(state)
        return state

    def remember(self, entry: ReferenceEntry) -> None:
        """Keep ``entry`` as the current one for the TTL (called after this process changed it)."""
        self._known[(entry.catalog, entry.code)] = (self._clock() + self._ttl, entry)

    async def require(self, catalog: str, code: str, *, field: str) -> ReferenceEntry:
        """The active entry ``code`` of ``catalog``, or a DomainError naming ``field``."""
        check_code(catalog, code, field=field)
        return active(catalog, code, await self.get(catalog, code), field=field)

    async def entries(self, catalog: str, *, include_retired: bool = True) -> list[ReferenceEntry]:
        """Every entry of ``catalog``, sorted by name (from the view: eventually consistent)."""
        if catalog not in ref.SCHEMAS:
            raise ValueError(f"unknown reference catalog {catalog!r}")
        found: list[ReferenceEntry] = []
        after: tuple[Any, str] | None = None
        while True:
            page = await self._views.find(
                self._runner.collection(COLLECTION), query_of(catalog, include_retired, after)
            )
            found.extend(entry_of(doc) for doc in page.items)
            if page.next_after is None:
                return found
            after = page.next_after

    async def ancestors(self, parent: str) -> tuple[ref.Ancestor, ...]:
        """The group ``parent`` and the groups above it, nearest first, read from their streams (at most
        :data:`~crm_contacts.domain.reference.MAX_GROUP_DEPTH`; empty when ``parent`` does not exist)."""
        chain: list[ref.Ancestor] = []
        code: str | None = parent
        while code is not None and len(chain) < ref.MAX_GROUP_DEPTH and code not in {a.code for a in chain}:
            state, _ = await self.load("groups", code)
            if state is None:
                break
            chain.append(ref.Ancestor(code=code, parent=state.attributes.get("parent"), retired=state.retired))
            code = chain[-1].parent
        return tuple(chain)


def query_of(catalog: str, include_retired: bool, after: tuple[Any, str] | None, limit: int = 500) -> Query:
    """The view query of a catalog's entries by name, retired ones too if asked."""
    equals: dict[str, Any] = {"catalog": catalog}
    if not include_retired:
        equals["retired"] = False
    return Query(equals=equals, sort="name_key", after=after, limit=limit)
