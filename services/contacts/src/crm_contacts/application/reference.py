"""Reference data: commands, queries, :class:`ReferenceData` (the lookup the rest of the service
validates codes with) and the public form of its events.

Commands go through the kernel command path (crm_shared.commands) like every other. Moving a group
under another parent takes a short lease on the group hierarchy first (the ``guard`` hook, on
:data:`~crm_contacts.domain.reference.HIERARCHY_LOCK_STREAM`), so two concurrent moves cannot each
pass the cycle check and make a cycle together.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_contacts.domain import reference as ref
from crm_contacts.domain.reference import ReferenceEntry
from crm_contacts.projections.reference import COLLECTION, entry_of
from crm_shared.commands import CommandHandler, CommandResult, Decider, Loaded
from crm_shared.contracts.contacts import reference as public
from crm_shared.errors import DomainError, Forbidden
from crm_shared.eventstore import NO_STREAM, EventStore, RecordedEvent, WrongExpectedVersion
from crm_shared.identity import Caller, Permission
from crm_shared.integration import Envelope
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Query, ReadStore
from crm_shared.readstore.cursor import decode_cursor, encode_cursor

__all__ = [
    "HierarchyBusy",
    "ReferenceCommands",
    "ReferenceData",
    "ReferenceEntry",
    "ReferencePage",
    "ReferenceQueries",
    "ReferenceResult",
    "translate_reference",
]

CACHE_TTL_SECONDS = 5.0
HIERARCHY_LEASE = timedelta(seconds=30)
"""A hierarchy lease older than this belongs to a holder that crashed: it is taken over."""


class HierarchyBusy(DomainError):
    """Another change of the group hierarchy holds the lease (HTTP 409)."""

    status = 409


ReferenceResult = CommandResult[ReferenceEntry]
"""An entry, its stream version (the ETag) and the commit position of its last change (0 when unknown)."""

DECIDER: Decider[ref.Command, ReferenceEntry] = Decider(
    name="reference entry",
    catalog=ref.event_catalog,
    stream=lambda command: ref.stream_of(command.catalog, command.code),
    decide=ref.decide,
    evolve=ref.evolve,
)


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
        if catalog not in ref.SCHEMAS:
            raise ValueError(f"unknown reference catalog {catalog!r}")
        if not isinstance(code, str) or not ref.is_code(code):
            raise DomainError(f"{code!r} is not a code of {catalog}", field=field)
        entry = await self.get(catalog, code)
        if entry is None:
            raise DomainError(f"there is no {code!r} in {catalog}", field=field)
        if entry.retired:
            raise DomainError(f"{code!r} of {catalog} is retired", field=field)
        return entry

    async def entries(self, catalog: str, *, include_retired: bool = True) -> list[ReferenceEntry]:
        """Every entry of ``catalog``, sorted by name (from the view: eventually consistent)."""
        if catalog not in ref.SCHEMAS:
            raise ValueError(f"unknown reference catalog {catalog!r}")
        found: list[ReferenceEntry] = []
        after: tuple[Any, str] | None = None
        while True:
            page = await self._views.find(self._runner.collection(COLLECTION), _query(catalog, include_retired, after))
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


def _query(catalog: str, include_retired: bool, after: tuple[Any, str] | None, limit: int = 500) -> Query:
    equals: dict[str, Any] = {"catalog": catalog}
    if not include_retired:
        equals["retired"] = False
    return Query(equals=equals, sort="name_key", after=after, limit=limit)


class ReferenceCommands(CommandHandler[ref.Command, ReferenceEntry]):
    """Handles reference-data commands (administrators only)."""

    def __init__(self, store: EventStore, data: ReferenceData) -> None:
        super().__init__(store, DECIDER)
        self._data = data
        self._lock_seen = 0

    async def authorize(self, command: ref.Command, caller: Caller) -> None:
        if not caller.can(Permission.REFERENCE_ADMIN):
            raise Forbidden("your roles do not allow changing reference data")
        ref.check_catalog(command.catalog)
        ref.check_code(command.code)

    def guard(
        self, command: ref.Command, loaded: Loaded[ReferenceEntry], caller: Caller
    ) -> contextlib.AbstractAsyncContextManager[None]:
        return (
            self._hierarchy_lease(caller)
            if _moves_group(command, loaded.state)
            else super().guard(command, loaded, caller)
        )

    async def prepare(self, command: ref.Command, loaded: Loaded[ReferenceEntry], caller: Caller) -> ref.Command:
        return await self._with_ancestors(command)

    async def after(
        self, command: ref.Command, loaded: Loaded[ReferenceEntry], state: ReferenceEntry, caller: Caller
    ) -> None:
        self._data.remember(state)

    @contextlib.asynccontextmanager
    async def _hierarchy_lease(self, caller: Caller) -> AsyncIterator[None]:
        lease = await self._lock_hierarchy(caller)
        try:
            yield
        finally:
            await self._unlock_hierarchy(*lease, caller)

    async def _with_ancestors(self, command: ref.Command) -> ref.Command:
        if not isinstance(command, ref.DefineEntry | ref.ChangeEntry) or command.catalog != "groups":
            return command
        parent = command.attributes.get("parent")
        if not isinstance(parent, str) or not ref.is_code(parent):
            return command
        return replace(command, ancestors=await self._data.ancestors(parent))

    async def _lock_hierarchy(self, caller: Caller) -> tuple[str, int]:
        """Take the group-hierarchy lease: ``(holder, version of the lock event)``; retried for about a
        second while another move holds it, then :class:`HierarchyBusy`."""
        holder = str(uuid.uuid4())
        stream = ref.HIERARCHY_LOCK_STREAM
        for _ in range(50):
            recorded = await self.store.read_stream(stream, from_version=self._lock_seen)
            last = recorded[-1] if recorded else None
            if last is not None:
                self._lock_seen = last.stream_version
                if last.type == ref.HIERARCHY_LOCKED and datetime.now(UTC) - last.recorded_at < HIERARCHY_LEASE:
                    await asyncio.sleep(0.02)
                    continue
            event = ref.event_catalog.encode(
                ref.GroupHierarchyLocked(holder=holder), metadata={"actor": caller.user_id}
            )
            try:
                result = await self.store.append(stream, [event], NO_STREAM if last is None else last.stream_version)
            except WrongExpectedVersion:
                continue  # someone took it meanwhile: look again
            return holder, result.stream_version
        raise HierarchyBusy("another change of the group hierarchy is in progress; retry", field="attributes.parent")

    async def _unlock_hierarchy(self, holder: str, version: int, caller: Caller) -> None:
        event = ref.event_catalog.encode(ref.GroupHierarchyUnlocked(holder=holder), metadata={"actor": caller.user_id})
        # Taken over meanwhile (this move outlived its lease): nothing left to release.
        with contextlib.suppress(WrongExpectedVersion):
            await self.store.append(ref.HIERARCHY_LOCK_STREAM, [event], version)


def _moves_group(command: ref.Command, state: ref.State) -> bool:
    """Whether ``command`` puts an existing group under a (new) parent: only that can make a cycle."""
    if not isinstance(command, ref.ChangeEntry) or command.catalog != "groups" or state is None:
        return False
    parent = command.attributes.get("parent")
    return parent is not None and parent != state.attributes.get("parent")


class ReferenceQueries:
    """Reads of reference data, for everyone who may read counterparties."""

    def __init__(self, views: ReadStore, runner: ProjectionRunner, store: EventStore, data: ReferenceData) -> None:
        self._views = views
        self._runner = runner
        self._store = store
        self._data = data

    @staticmethod
    def _allow(caller: Caller) -> None:
        if not caller.can(Permission.COUNTERPARTY_READ):
            raise Forbidden("your roles do not allow reading reference data")

    def catalogs(self, caller: Caller) -> dict[str, tuple[ref.Attribute, ...]]:
        """Every catalog and the attributes of its entries."""
        self._allow(caller)
        return dict(ref.SCHEMAS)

    async def get(self, catalog: str, code: str, caller: Caller) -> ReferenceResult | None:
        """One entry as its stream has it now (retired ones too), or None."""
        self._allow(caller)
        ref.check_catalog(catalog)
        if not ref.is_code(code):
            return None
        state, events = await self._data.load(catalog, code)
        if state is None:
            return None
        return CommandResult(state, events[-1].stream_version, events[-1].position)

    async def list(
        self,
        catalog: str,
        caller: Caller,
        *,
        include_retired: bool = False,
        limit: int = 100,
        cursor: str | None = None,
        min_position: int | None = None,
    ) -> ReferencePage:
        """A page of a catalog's entries sorted by name; raises ``BadCursor`` for a cursor not made here."""
        self._allow(caller)
        ref.check_catalog(catalog)
        after = decode_cursor(cursor)
        if min_position:
            await self._runner.wait_for(self._store, min_position, translate=translate_reference)
        page = await self._views.find(
            self._runner.collection(COLLECTION), _query(catalog, include_retired, after, limit)
        )
        return ReferencePage(
            items=[CommandResult(entry_of(doc), int(doc["_version"]), 0) for doc in page.items],
            next_cursor=encode_cursor(page.next_after),
        )


# -- the public form of the events ----------------------------------------------------------------

_PUBLIC_TYPES: dict[type[Any], str] = {
    ref.ReferenceEntryDefined: "crm.contacts.ReferenceEntryDefined",
    ref.ReferenceEntryChanged: "crm.contacts.ReferenceEntryChanged",
    ref.ReferenceEntryRetired: "crm.contacts.ReferenceEntryRetired",
    ref.ReferenceEntryRestored: "crm.contacts.ReferenceEntryRestored",
}


def translate_reference(recorded: RecordedEvent) -> list[Envelope]:
    """The integration event of one stored reference event (topic ``crm.contacts.reference.v1``)."""
    if not recorded.stream.startswith("reference-"):
        return []
    event = ref.event_catalog.decode(recorded)
    ce_type = _PUBLIC_TYPES.get(type(event))
    if ce_type is None:
        return []
    data = public.EVENT_TYPES[ce_type].model_validate(event.model_dump()).model_dump(mode="json")
    occurred = recorded.metadata.get("occurred_at")
    return [
        Envelope(
            id=str(recorded.id),
            type=ce_type,
            source=public.SOURCE,
            subject=f"{data['catalog']}:{data['code']}",
            time=datetime.fromisoformat(occurred) if isinstance(occurred, str) else recorded.recorded_at,
            topic=public.TOPIC,
            data=data,
            stream=recorded.stream,
            stream_version=recorded.stream_version,
            position=recorded.position,
            traceparent=recorded.metadata.get("traceparent"),
        )
    ]
