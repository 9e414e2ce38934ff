"""Interaction commands through the kernel command path (crm_shared.commands).

The hooks: the permission, visibility by involvement (the counterparty's access group, or being the
creator, responsible or a participant), and the references checked before deciding: against the local
contacts view (counterparty, contact person, information source) and this service's own streams (the
thread, the interaction followed up). The rules of creating an interaction and of planning a follow-up
live here too, so the routes only translate.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from crm_interactions.application.contacts import Involvement, LocalContacts
from crm_interactions.application.interactions.texts import PersonErased, decode, text_keys
from crm_interactions.domain import interaction as it
from crm_shared import sealing
from crm_shared.commands import CommandHandler, CommandResult, Decider, Loaded
from crm_shared.directory import LocalDirectory
from crm_shared.errors import DomainError, Forbidden
from crm_shared.events import DomainEvent, new_record_id
from crm_shared.eventstore import AppendResult, EventStore, NewEvent, RecordedEvent
from crm_shared.identity import Caller, Permission
from crm_shared.keys import SubjectErased, SubjectKeys

_ID_NAMESPACE = uuid.UUID("7c1e9a4b-2f5d-4e8a-b3c6-9d0f1a2b3c4d")

DECIDER: Decider[it.Command, it.Interaction] = Decider(
    name="interaction",
    catalog=it.catalog,
    stream=lambda command: it.stream_of(command.interaction_id),
    decide=it.decide,
    evolve=it.evolve,
)

Result = CommandResult[it.Interaction]


def new_interaction_id(idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the idempotency key so a retried creation finds itself."""
    return new_record_id(_ID_NAMESPACE, "create", idempotency_key)


def _require_write(caller: Caller) -> None:
    if not caller.can(Permission.INTERACTION_WRITE):
        raise Forbidden("your roles do not allow planning or changing interactions")


def involvement(state: it.Interaction) -> Involvement:
    """Who is involved in an interaction, for the visibility rule."""
    return Involvement(state.counterparty_id, state.created_by, state.responsible, state.participants)


class InteractionCommands(CommandHandler[it.Command, it.Interaction]):
    """Handles interaction commands against an event store."""

    def __init__(
        self,
        store: EventStore,
        contacts: LocalContacts,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        directory: LocalDirectory | None = None,
        keys: SubjectKeys | None = None,
    ) -> None:
        super().__init__(store, DECIDER, clock)
        self._contacts = contacts
        self._directory = directory
        """Where the responsible user and participants are checked (None: not checked)."""
        self.keys = keys
        """The contact persons' keys that seal the texts (None: texts are stored as given, in tests)."""

    async def load_visible(self, interaction_id: str, caller: Caller) -> it.State:
        """The current state if the caller sees the interaction, else None."""
        state = (await self.load(it.stream_of(interaction_id))).state
        if state is None or not await self.visible(state, caller):
            return None
        return state

    async def authorize(self, command: it.Command, caller: Caller) -> None:
        _require_write(caller)

    async def open(self, stream: str, events: Sequence[RecordedEvent]) -> Mapping[str, bytes | None]:
        """The keys of the contact persons whose texts the stream holds (None for an erased one)."""
        return await text_keys(self.keys, self._contacts, [e.data for e in events])

    def decode(self, recorded: RecordedEvent, opened: Any) -> DomainEvent:
        return decode(recorded, opened or {})

    async def append(
        self,
        loaded: Loaded[it.Interaction],
        events: Sequence[NewEvent],
        decided: Sequence[DomainEvent],
        caller: Caller,
    ) -> AppendResult:
        """Seal the texts of each event that names a contact person with that person's key (made now
        if it has none); refused when the person was erased and the event has text to write."""
        return await super().append(loaded, [await self._sealed(e) for e in events], decided, caller)

    async def _sealed(self, event: NewEvent) -> NewEvent:
        person = event.data.get("contact_person_id")
        if self.keys is None or not isinstance(person, str) or not it.has_text(event.data):
            return event
        try:
            key = await self.keys.create(person)
        except SubjectErased as exc:
            raise PersonErased(
                f"the personal data of contact person {person} was erased: no text about them can be written",
                field="contact_person_id",
            ) from exc
        purpose = it.purpose_of(str(event.data["interaction_id"]))
        return replace(event, data=it.seal_text(event.data, lambda text: sealing.seal_for(key, person, purpose, text)))

    async def visible(self, state: it.Interaction, caller: Caller, command: it.Command | None = None) -> bool:
        return await self._contacts.visible(caller, involvement(state))

    def creates(self, command: it.Command) -> bool:
        return isinstance(command, it.PlanInteraction | it.RecordInteraction)

    async def prepare(self, command: it.Command, loaded: Loaded[it.Interaction], caller: Caller) -> it.Command:
        return await self._checked(command, loaded.state, caller)

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
            await self._check_people(draft.responsible, draft.participants, None, caller)
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
            await self._check_people(changes.get("responsible"), changes.get("participants") or (), state, caller)
        if isinstance(command, it.ProvideSource):
            await contacts.require_source(command.source)
        return command

    async def _check_people(self, responsible: Any, participants: Any, state: it.State, caller: Caller) -> None:
        """A new responsible user and new participants must be active users of the directory; those the
        interaction names already stay (they may predate the directory), and the caller may name
        themselves."""
        if self._directory is None:
            return
        kept = [caller.user_id]
        if state is not None:
            kept += [state.responsible, *state.participants]
        if isinstance(responsible, str) and responsible:
            await self._directory.require_user(responsible, field="responsible", kept=kept)
        if isinstance(participants, list | tuple):
            await self._directory.require_users([str(p) for p in participants], field="participants", kept=kept)

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

    def new_interaction(
        self,
        draft: it.Draft,
        *,
        recording: bool,
        reminder: int | None,
        outcome: str | None,
        outcome_code: str | None,
    ) -> it.Command:
        """The command creating ``draft``: recorded as done (with its outcome) or planned (with a
        reminder); the other combinations are refused naming the field."""
        if recording:
            if reminder is not None:
                raise DomainError("an interaction that happened needs no reminder", field="reminder")
            return it.RecordInteraction(draft, self.now(), outcome or "", outcome_code)
        if outcome is not None or outcome_code is not None:
            field = "outcome" if outcome is not None else "outcome_code"
            raise DomainError("an outcome is given when completing", field=field)
        return it.PlanInteraction(draft, self.now(), reminder)

    async def plan_follow_up(
        self,
        interaction_id: str,
        given: Mapping[str, Any],
        caller: Caller,
        *,
        idempotency_key: str | None = None,
        request: str | None = None,
    ) -> Result:
        """Plan the next interaction after ``interaction_id``, in its thread: what ``given`` leaves out
        (kind, subject, responsible, importance, contact person, participants, third parties, project)
        is taken from the original; the counterparty always is."""
        _require_write(caller)
        original = await self.load_visible(interaction_id, caller)
        if original is None:
            raise self.not_found(it.stream_of(interaction_id))

        def pick(name: str, default: Any) -> Any:
            value = given.get(name)
            return default if value is None else value

        draft = it.Draft(
            interaction_id=new_interaction_id(idempotency_key),
            kind=pick("kind", original.kind),
            direction=given["direction"],
            subject=pick("subject", original.subject),
            start=given["start"],
            end=given.get("end"),
            responsible=pick("responsible", original.responsible),
            created_by=caller.user_id,
            importance=pick("importance", original.importance),
            description=given.get("description") or "",
            content=given.get("content") or "",
            counterparty_id=original.counterparty_id,
            contact_person_id=pick("contact_person_id", original.contact_person_id),
            participants=tuple(pick("participants", original.participants)),
            third_parties=tuple(pick("third_parties", original.third_parties)),
            basis=it.Basis("interaction", original.id, original.subject),
            project=pick("project", original.project),
            follow_up_of=original.id,
        )
        command = it.PlanInteraction(draft, self.now(), given.get("reminder"))
        return await self.handle(command, caller, idempotency_key=idempotency_key, request=request)
