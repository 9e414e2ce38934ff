"""Contact-person commands through the kernel command path (crm_shared.commands).

The hooks: the permissions (erasure needs ``personal-data:admin`` and sees every person), the key
that opens the stream, visibility, the references checked before deciding (linked counterparties the
caller sees, roles, properties and categories for persons), and the sealing of personal fields with
the person's key around the append: a registration makes the key first, an erasure deletes it after
its event (and a retried erasure finishes one interrupted between the two).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from crm_contacts.application.counterparties.validation import RawContact, ReferenceLookup, check_property_value
from crm_contacts.application.keys import PersonKeys
from crm_contacts.application.persons.access import Access
from crm_contacts.application.persons.reading import decode, reading_key
from crm_contacts.domain import counterparty as cp
from crm_contacts.domain import person as pe
from crm_contacts.domain.contact_info import ContactEntry
from crm_contacts.projections import persons as view
from crm_shared.commands import CommandHandler, CommandResult, Decider, Loaded
from crm_shared.errors import DomainError, Forbidden, NotFound
from crm_shared.events import DomainEvent
from crm_shared.eventstore import AppendResult, EventStore, NewEvent, RecordedEvent
from crm_shared.identity import Caller, Permission
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Query, ReadStore

DECIDER: Decider[pe.Command, pe.Person] = Decider(
    name="person",
    catalog=pe.catalog,
    stream=lambda command: pe.stream_of(command.person_id),
    decide=pe.decide,
    evolve=pe.evolve,
)

PersonResult = CommandResult[pe.Person]

ContactEntries = Callable[[Sequence[RawContact]], Awaitable[tuple[ContactEntry, ...]]]
"""Types and normalises contact entries by their kinds (contact-kinds for persons)."""


class PersonCommands(CommandHandler[pe.Command, pe.Person]):
    """Handles contact-person commands; see the module docstring."""

    def __init__(
        self,
        store: EventStore,
        views: ReadStore,
        runner: ProjectionRunner,
        keys: PersonKeys,
        *,
        counterparties: str,
        contact_entries: ContactEntries,
        reference: ReferenceLookup,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(store, DECIDER, clock)
        self._views = views
        self.runner = runner
        self.keys = keys
        self._counterparties = counterparties
        self._contact_entries = contact_entries
        self._reference = reference

    def access(self, caller: Caller) -> Access:
        """The visibility rules for one request (a counterparty not in its view yet is read from the
        event store)."""
        return Access(self._views, self._counterparties, caller, self._counterparty_in_store)

    async def _counterparty_in_store(self, counterparty_id: str) -> tuple[str, str] | None:
        state: cp.State = None
        for recorded in await self.store.read_stream(cp.stream_of(counterparty_id)):
            state = cp.evolve(state, cp.catalog.decode(recorded))
        return None if state is None else (state.access_group, state.name)

    async def contact_entries(self, raws: Sequence[RawContact]) -> tuple[ContactEntry, ...]:
        """Typed, normalised contact entries; each kind must be a contact kind for persons."""
        return await self._contact_entries(raws)

    async def load_person(self, person_id: str) -> Loaded[pe.Person]:
        """The person (personal fields opened), its events, and its key as ``opened``."""
        return await self.load(pe.stream_of(person_id))

    # -- hooks ----------------------------------------------------------------------------------------

    async def authorize(self, command: pe.Command, caller: Caller) -> None:
        if isinstance(command, pe.ErasePerson):
            if not caller.can(Permission.PERSONAL_DATA_ADMIN):
                raise Forbidden("your roles do not allow erasing personal data")
        elif not caller.can(Permission.COUNTERPARTY_WRITE):
            raise Forbidden("your roles do not allow changing contact persons")

    async def open(self, stream: str, events: Sequence[RecordedEvent]) -> bytes | None:
        return await reading_key(self.keys, stream.removeprefix(pe.stream_of("")), events)

    def decode(self, recorded: RecordedEvent, opened: Any) -> DomainEvent:
        return decode(recorded, opened)[0]

    async def visible(self, state: pe.Person, caller: Caller, command: pe.Command | None = None) -> bool:
        if isinstance(command, pe.ErasePerson):
            return True  # the personal-data administrator erases any person, private ones too
        ids = [x.counterparty_id for x in state.links]
        return await self.access(caller).sees_person(state.owner, state.private, ids)

    def creates(self, command: pe.Command) -> bool:
        return isinstance(command, pe.RegisterPerson)

    async def prepare(self, command: pe.Command, loaded: Loaded[pe.Person], caller: Caller) -> pe.Command:
        await self._check(command, self.access(caller))
        return command

    async def unchanged(self, command: pe.Command, loaded: Loaded[pe.Person], caller: Caller) -> PersonResult:
        result = await super().unchanged(command, loaded, caller)
        if isinstance(command, pe.ErasePerson):
            await self.keys.delete(command.person_id)  # finishes an erasure interrupted after its event
        return result

    async def append(
        self,
        loaded: Loaded[pe.Person],
        events: Sequence[NewEvent],
        decided: Sequence[DomainEvent],
        caller: Caller,
    ) -> AppendResult:
        """Seal the personal fields with the person's key (made now for a new person)."""
        person_id = loaded.stream.removeprefix(pe.stream_of(""))
        key = loaded.opened
        if any(isinstance(e, pe.PersonRegistered) for e in decided):
            key = await self.keys.create(person_id)
        return await super().append(loaded, [_sealed(e, key, person_id) for e in events], decided, caller)

    async def after(self, command: pe.Command, loaded: Loaded[pe.Person], state: pe.Person, caller: Caller) -> None:
        if isinstance(command, pe.ErasePerson):
            await self.keys.delete(command.person_id)

    # -- merging counterparties -----------------------------------------------------------------------

    async def move_links(self, from_id: str, to_id: str, caller: Caller) -> int:
        """Re-point every person linked to ``from_id`` (a duplicate merged into ``to_id``) to ``to_id``,
        keeping position and role; returns how many moved. Private persons move too: the merge was
        authorised for both counterparties and touches links only, never personal data. Links made
        after the view was last updated are not seen (the view is eventually consistent)."""
        moved = 0
        query = Query(equals={"counterparty_id": from_id}, sort="_id", limit=500)
        while True:
            page = await self._views.find(self.runner.collection(view.LINKS), query)
            for link in page.items:
                moved += await self._move_link(str(link["person_id"]), from_id, to_id, caller)
            if page.next_after is None:
                return moved
            query = dataclasses.replace(query, after=page.next_after)

    async def _move_link(self, person_id: str, from_id: str, to_id: str, caller: Caller) -> int:
        loaded = await self.load_person(person_id)
        state = loaded.state
        old = None if state is None else next((x for x in state.links if x.counterparty_id == from_id), None)
        if state is None or old is None:
            return 0
        decided: list[DomainEvent] = []
        if all(x.counterparty_id != to_id for x in state.links):
            decided += pe.decide(pe.LinkCounterparty(person_id, to_id, old.position, old.role), state)
        decided += pe.decide(pe.UnlinkCounterparty(person_id, from_id), DECIDER.fold(decided, state))
        metadata = {"actor": caller.user_id, "reason": f"counterparty {from_id} merged into {to_id}"}
        new_events = [self.encode(e, loaded, event_id=None, metadata=metadata) for e in decided]
        await self.append(loaded, new_events, decided, caller)
        return 1

    # -- checks ---------------------------------------------------------------------------------------

    async def _check(self, command: pe.Command, access: Access) -> None:
        """Rules that need more than the stream: linked counterparties visible, roles defined, and
        properties and categories defined for persons, with values of their property's type."""
        match command:
            case pe.RegisterPerson():
                await self._check_classification(command.properties, command.categories)
                for i, link in enumerate(command.links):
                    if not await access.sees_counterparty(link.counterparty_id):
                        raise DomainError(
                            f"no counterparty {link.counterparty_id}", field=f"links[{i}].counterparty_id"
                        )
                    if link.role:
                        await self._reference.require("person-roles", link.role, field=f"links[{i}].role")
            case pe.LinkCounterparty() | pe.UnlinkCounterparty():
                if not await access.sees_counterparty(command.counterparty_id):
                    raise NotFound(f"no counterparty {command.counterparty_id}", field="counterparty_id")
                if isinstance(command, pe.LinkCounterparty) and command.role:
                    await self._reference.require("person-roles", command.role, field="role")
            case pe.UpdatePerson():
                await self._check_classification(
                    command.changes.get("properties") or {}, command.changes.get("categories") or ()
                )

    async def _check_classification(self, properties: Mapping[str, Any], categories: Sequence[str]) -> None:
        """Codes of active ``properties`` and ``categories`` entries that apply to persons; a None value
        (removing a property) needs no definition."""
        for i, code in enumerate(categories):
            category = await self._reference.require("categories", code, field=f"categories[{i}]")
            _for_persons(category.attributes, f"categories[{i}]")
        for code, value in properties.items():
            if value is None:
                continue
            where = f"properties.{code}"
            definition = await self._reference.require("properties", code, field=where)
            _for_persons(definition.attributes, where)
            check_property_value(definition.attributes, value, field=where)


def _sealed(event: NewEvent, key: bytes | None, person_id: str) -> NewEvent:
    """The event with its personal fields sealed with ``key``; refused when there is personal data to
    write but no key (the person was erased)."""
    if key is None:
        if pe.has_personal_values(event.data):
            raise DomainError(f"the personal data of person {person_id} cannot be written: it has no key")
        return event
    return dataclasses.replace(event, data=pe.seal_data(event.data, key, person_id))


def _for_persons(attributes: Mapping[str, Any], field: str) -> None:
    if attributes.get("applies_to", "both") not in ("both", "person"):
        raise DomainError("not defined for a person", field=field)
