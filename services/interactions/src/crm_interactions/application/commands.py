"""Command handling: load the stream, check the caller and the references, decide on that state,
append with that version.

The expected version is the version the decision was made on, so a concurrent change surfaces as
:class:`WrongExpectedVersion` (HTTP 409). A command carrying an idempotency key gets deterministic
event ids: a retry finds its own events and returns the first result without appending.
References to other records are checked against the local contacts view (counterparty, contact
person, information source) and this service's own streams (the thread, the interaction followed up).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from crm_interactions.application.contacts import Involvement, LocalContacts
from crm_interactions.domain import interaction as it
from crm_shared.errors import DomainError, Forbidden, NotFound, PreconditionFailed
from crm_shared.events import deterministic_event_id, end_of_earlier_command
from crm_shared.eventstore import NO_STREAM, EventStore, RecordedEvent
from crm_shared.identity import Caller, Permission

_ID_NAMESPACE = uuid.UUID("7c1e9a4b-2f5d-4e8a-b3c6-9d0f1a2b3c4d")


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The state after a command, its stream version (the ETag) and commit position."""

    state: it.Interaction
    version: int
    position: int


def new_interaction_id(idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the idempotency key so a retried creation finds itself."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_ID_NAMESPACE, f"create:{idempotency_key}"))


def involvement(state: it.Interaction) -> Involvement:
    """Who is involved in an interaction, for the visibility rule."""
    return Involvement(state.counterparty_id, state.created_by, state.responsible, state.participants)


class InteractionCommands:
    """Handles interaction commands against an event store."""

    def __init__(
        self,
        store: EventStore,
        contacts: LocalContacts,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._contacts = contacts
        self._clock = clock

    def now(self) -> datetime:
        """The service clock (injected in tests)."""
        return self._clock()

    async def load(self, interaction_id: str) -> tuple[it.State, list[RecordedEvent]]:
        """The current state and the events it was folded from."""
        events = await self._store.read_stream(it.stream_of(interaction_id))
        state: it.State = None
        for recorded in events:
            state = it.evolve(state, it.catalog.decode(recorded))
        return state, events

    async def load_visible(self, interaction_id: str, caller: Caller) -> it.State:
        """The current state if the caller sees the interaction, else None."""
        state, _ = await self.load(interaction_id)
        if state is None or not await self._contacts.visible(caller, involvement(state)):
            return None
        return state

    async def handle(
        self,
        command: it.Command,
        caller: Caller,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CommandResult:
        """Decide and append; see the module docstring for the concurrency and idempotency rules."""
        if not caller.can(Permission.INTERACTION_WRITE):
            raise Forbidden("your roles do not allow planning or changing interactions")
        stream = it.stream_of(command.interaction_id)
        state, events = await self.load(command.interaction_id)
        version = events[-1].stream_version if events else None
        if state is not None and not await self._contacts.visible(caller, involvement(state)):
            # Not 403: a record outside the caller's access groups must not even be seen to exist.
            raise NotFound(f"interaction {command.interaction_id} does not exist")

        if idempotency_key is not None:
            earlier = self._earlier_result(events, stream, idempotency_key)
            if earlier is not None:
                return earlier
        if if_match is not None and if_match != version:
            raise PreconditionFailed(if_match, version)

        command = await self._checked(command, state, caller)
        decided = it.decide(command, state)
        if not decided:
            assert state is not None and events  # a change of an existing record that changes nothing
            return CommandResult(state, events[-1].stream_version, events[-1].position)
        new_events = [
            it.catalog.encode(
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
        result = await self._store.append(stream, new_events, NO_STREAM if version is None else version)
        for event in decided:
            state = it.evolve(state, event)
        assert state is not None
        return CommandResult(state, result.stream_version, result.position)

    async def _checked(self, command: it.Command, state: it.State, caller: Caller) -> it.Command:
        """The command with its references checked (and the thread of a new one resolved)."""
        contacts = self._contacts
        if isinstance(command, it.PlanInteraction | it.RecordInteraction):
            draft = command.draft
            if draft.counterparty_id is not None:
                await contacts.require_counterparty(draft.counterparty_id, caller)
            if draft.contact_person_id is not None:
                await contacts.require_person(draft.contact_person_id, caller)
            if draft.source is not None:
                await contacts.require_source(draft.source)
            thread = await self._thread(draft, caller)
            return replace(command, draft=replace(draft, thread_id=thread))
        if isinstance(command, it.ChangeDetails):
            changes = command.changes
            if changes.get("counterparty_id") is not None and (
                state is None or changes["counterparty_id"] != state.counterparty_id
            ):
                await contacts.require_counterparty(str(changes["counterparty_id"]), caller)
            if changes.get("contact_person_id") is not None and (
                state is None or changes["contact_person_id"] != state.contact_person_id
            ):
                await contacts.require_person(str(changes["contact_person_id"]), caller)
        if isinstance(command, it.ProvideSource):
            await contacts.require_source(command.source)
        return command

    async def _thread(self, draft: it.Draft, caller: Caller) -> str | None:
        """The thread a new interaction joins: the one of the interaction it follows up, or of the one
        named by ``thread_id`` (any interaction of a thread names it); None starts a new thread."""
        thread: str | None = None
        if draft.follow_up_of is not None:
            original = await self.load_visible(draft.follow_up_of, caller)
            thread = it.follow_up_thread(original, draft.follow_up_of)
        if draft.thread_id is not None:
            named = await self.load_visible(draft.thread_id, caller)
            if named is None:
                raise DomainError(f"no interaction {draft.thread_id} to continue the thread of", field="thread_id")
            if thread is not None and named.thread_id != thread:
                raise DomainError("the interaction followed up is in another thread", field="thread_id")
            thread = named.thread_id
        return thread

    @staticmethod
    def _earlier_result(events: list[RecordedEvent], stream: str, key: str) -> CommandResult | None:
        last = end_of_earlier_command(events, stream, key)
        if last is None:
            return None
        state: it.State = None
        for earlier in events[: last + 1]:
            state = it.evolve(state, it.catalog.decode(earlier))
        assert state is not None
        return CommandResult(state, events[last].stream_version, events[last].position)
