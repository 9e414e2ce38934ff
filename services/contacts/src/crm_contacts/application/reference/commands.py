"""Reference-data commands (administrators only).

Commands go through the kernel command path (crm_shared.commands) like every other. Moving a group
under another parent takes a short lease on the group hierarchy first (the ``guard`` hook, on
:data:`~crm_contacts.domain.reference.HIERARCHY_LOCK_STREAM`), so two concurrent moves cannot each
pass the cycle check and make a cycle together.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from crm_contacts.application.reference.data import ReferenceData
from crm_contacts.domain import reference as ref
from crm_contacts.domain.reference import ReferenceEntry
from crm_shared.commands import CommandHandler, Decider, Loaded
from crm_shared.errors import DomainError, Forbidden
from crm_shared.eventstore import NO_STREAM, EventStore, WrongExpectedVersion
from crm_shared.identity import Caller, Permission

HIERARCHY_LEASE = timedelta(seconds=30)
"""A hierarchy lease older than this belongs to a holder that crashed: it is taken over."""


class HierarchyBusy(DomainError):
    """Another change of the group hierarchy holds the lease (HTTP 409)."""

    status = 409


DECIDER: Decider[ref.Command, ReferenceEntry] = Decider(
    name="reference entry",
    catalog=ref.event_catalog,
    stream=lambda command: ref.stream_of(command.catalog, command.code),
    decide=ref.decide,
    evolve=ref.evolve,
)


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
