"""Command handling: load the stream, decide on that state, append with that version.

The expected version is the version the decision was made on, never re-read before appending, so
a concurrent change surfaces as :class:`WrongExpectedVersion` (HTTP 409). A command carrying an
idempotency key gets deterministic event ids: a retry finds its own events and returns the first
result without appending.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crm_contacts.application.uniqueness import TaxIdRegistry
from crm_contacts.domain import counterparty as cp
from crm_shared.errors import Forbidden, NotFound, PreconditionFailed
from crm_shared.events import deterministic_event_id, end_of_earlier_command
from crm_shared.eventstore import NO_STREAM, EventStore, RecordedEvent
from crm_shared.identity import Caller, Permission

_ID_NAMESPACE = uuid.UUID("0d5f3a52-6c2e-4c1b-8f0e-2b7d9f4a1c63")


Validate = Callable[[cp.Command, cp.State, Caller], Awaitable[None]]
"""Checks that need more than the stream: reference codes, the head counterparty (raises DomainError)."""


def _target_group(command: cp.Command) -> str | None:
    if isinstance(command, cp.RegisterCounterparty):
        return command.access_group
    if isinstance(command, cp.UpdateCounterparty):
        group = command.changes.get("access_group")
        return None if group is None else str(group)
    return None


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The state after a command, its stream version (the ETag) and commit position."""

    state: cp.Counterparty
    version: int
    position: int


def new_counterparty_id(idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the idempotency key so a retried registration finds itself."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_ID_NAMESPACE, f"register:{idempotency_key}"))


class CounterpartyCommands:
    """Handles counterparty commands against an event store."""

    def __init__(
        self,
        store: EventStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        unique_tax_id: bool = True,
        validate: Validate | None = None,
    ) -> None:
        self._store = store
        self.validate = validate
        self._clock = clock
        self.tax_ids = TaxIdRegistry(store, enabled=unique_tax_id)

    def now(self) -> datetime:
        """The service clock (injected in tests)."""
        return self._clock()

    async def load_state(self, counterparty_id: str) -> cp.State:
        """The current state."""
        state, _ = await self.load(counterparty_id)
        return state

    async def load(self, counterparty_id: str) -> tuple[cp.State, list[RecordedEvent]]:
        """The current state and the events it was folded from."""
        events = await self._store.read_stream(cp.stream_of(counterparty_id))
        state: cp.State = None
        for recorded in events:
            state = cp.evolve(state, cp.catalog.decode(recorded))
        return state, events

    async def handle(
        self,
        command: cp.Command,
        caller: Caller,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CommandResult:
        """Decide and append; see the module docstring for the concurrency and idempotency rules."""
        if not caller.can(Permission.COUNTERPARTY_WRITE):
            raise Forbidden("your roles do not allow changing counterparties")
        if isinstance(command, cp.MarkMerged | cp.Absorb) and not caller.can(Permission.COUNTERPARTY_MERGE):
            raise Forbidden("your roles do not allow merging counterparties")
        stream = cp.stream_of(command.counterparty_id)
        state, events = await self.load(command.counterparty_id)
        version = events[-1].stream_version if events else None
        if state is not None and not caller.sees_group(state.access_group):
            # Not 403: a record outside the caller's access groups must not even be seen to exist.
            raise NotFound(f"counterparty {command.counterparty_id} does not exist")
        target_group = _target_group(command)
        if target_group is not None and not caller.sees_group(target_group):
            raise Forbidden(f"you have no access to the access group {target_group!r}", field="access_group")

        if idempotency_key is not None:
            earlier = self._earlier_result(events, stream, idempotency_key)
            if earlier is not None:
                return earlier
        if if_match is not None and if_match != version:
            raise PreconditionFailed(if_match, version)

        if self.validate is not None:
            await self.validate(command, state, caller)
        decided = cp.decide(command, state)
        if not decided:
            assert state is not None and events  # an update of an existing record that changes nothing
            return CommandResult(state, events[-1].stream_version, events[-1].position)

        new_events = [
            cp.catalog.encode(
                event,
                event_id=None if idempotency_key is None else deterministic_event_id(f"{stream}:{idempotency_key}", i),
                metadata={
                    **(metadata or {}),
                    "actor": caller.user_id,
                    **({"idempotency_key": idempotency_key} if idempotency_key else {}),
                },
            )
            for i, event in enumerate(decided)
        ]
        old_tax_id = None if state is None else state.tax_id
        claimed = [e.tax_id for e in decided if isinstance(e, cp.CounterpartyRegistered | cp.CounterpartyTaxIdChanged)]
        claimed_ids = [t for t in claimed if t is not None]
        for tax_id in claimed_ids:
            await self.tax_ids.reserve(tax_id, command.counterparty_id, caller.user_id)
        try:
            result = await self._store.append(stream, new_events, NO_STREAM if version is None else version)
        except BaseException:
            for tax_id in claimed_ids:
                await self.tax_ids.release(tax_id, command.counterparty_id, caller.user_id)
            raise
        kept = {cp.normalise_tax_id(t) for t in claimed_ids}
        if claimed and old_tax_id is not None and cp.normalise_tax_id(old_tax_id) not in kept:
            # Only a tax id really given up is released, not one merely written differently.
            await self.tax_ids.release(old_tax_id, command.counterparty_id, caller.user_id)
        for event in decided:
            state = cp.evolve(state, event)
        assert state is not None
        return CommandResult(state, result.stream_version, result.position)

    @staticmethod
    def _earlier_result(events: list[RecordedEvent], stream: str, key: str) -> CommandResult | None:
        last = end_of_earlier_command(events, stream, key)
        if last is None:
            return None
        state: cp.State = None
        for earlier in events[: last + 1]:
            state = cp.evolve(state, cp.catalog.decode(earlier))
        assert state is not None
        return CommandResult(state, events[last].stream_version, events[last].position)
