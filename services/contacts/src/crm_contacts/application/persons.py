"""Contact persons: commands, reads, the GDPR export and erasure, and the vCard.

Personal fields are sealed with the person's own key (application/keys.py) on their way into the
event store and opened on their way out. Erasure appends ``PersonErased`` and then deletes the key:
from then on every reading path — card, list, history, as-of, export, vCard, a rebuilt view — finds
the personal fields unreadable and shows them as erased, while links, dates and actors remain.
Properties and categories are business classification, not personal data: stored plain, they
remain too.

Who sees a person: a private person only its owner (by every path, administrators too, except the
personal-data routes); a person linked to counterparties whoever sees the access group of one of
them; an unlinked person everyone who may read counterparties. Links to counterparties the caller
cannot see are left out. Changes need ``counterparty:write`` and the same visibility; the export
and erasure need ``personal-data:admin``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from crm_contacts.application.keys import PersonKeys
from crm_contacts.application.validation import RawContact, check_property_value
from crm_contacts.domain import person as pe
from crm_contacts.domain.contact_info import ContactEntry
from crm_contacts.domain.counterparty import DEFAULT_ACCESS_GROUP
from crm_contacts.projections import persons as view
from crm_shared.contracts.contacts import person as public
from crm_shared.contracts.contacts.counterparty import SOURCE
from crm_shared.errors import DomainError, Forbidden, NotFound, PreconditionFailed
from crm_shared.events import DomainEvent, deterministic_event_id, end_of_earlier_command
from crm_shared.eventstore import NO_STREAM, EventStore, NewEvent, RecordedEvent
from crm_shared.identity import Caller, Permission
from crm_shared.integration import Envelope
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Document, Query, ReadStore
from crm_shared.readstore.cursor import decode_cursor, encode_cursor

_ID_NAMESPACE = uuid.UUID("6f1c9a0e-52d4-4e3b-9a7f-3c8e1d2b4a90")
MAX_SCAN = 5000
"""A list page examines at most this many entries; a sparser page still returns a cursor."""

ContactEntries = Callable[[Sequence[RawContact]], Awaitable[tuple[ContactEntry, ...]]]
"""Types and normalises contact entries by their kinds (contact-kinds for persons)."""


class ReferenceLookup(Protocol):
    """The administrators' catalogs (application/reference.py)."""

    async def require(self, catalog: str, code: str, *, field: str) -> Any:
        """The active entry ``code`` of ``catalog``, or a DomainError naming ``field``."""
        ...


def new_person_id(idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the idempotency key so a retried registration finds itself."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_ID_NAMESPACE, f"register-person:{idempotency_key}"))


def person_id_of(stream: str) -> str:
    """The person whose stream this is."""
    return stream.removeprefix("person-")


def _has_erasure(events: Iterable[RecordedEvent]) -> bool:
    return any(e.type == pe.ERASED for e in events)


def decode(recorded: RecordedEvent, key: bytes | None) -> tuple[DomainEvent, list[str]]:
    """A stored person event with its personal fields opened (None and listed when erased)."""
    data, erased = pe.open_data(recorded.data, key, person_id_of(recorded.stream))
    return pe.catalog.decode(dataclasses.replace(recorded, data=data)), erased


def fold_open(events: Sequence[RecordedEvent], key: bytes | None) -> pe.State:
    """The person after ``events``, personal fields opened with ``key`` (None when erased)."""
    state: pe.State = None
    for recorded in events:
        state = pe.evolve(state, decode(recorded, key)[0])
    return state


@dataclass(frozen=True, slots=True)
class PersonResult:
    """A person after a command (personal fields plain), its stream version and commit position."""

    state: pe.Person
    version: int
    position: int


class Access:
    """Visibility of persons and counterparties for one request (counterparty groups cached)."""

    def __init__(self, views: ReadStore, counterparties: str, caller: Caller) -> None:
        self._views = views
        self._counterparties = counterparties
        self.caller = caller
        self._groups: dict[str, str | None] = {}
        self._names: dict[str, str | None] = {}

    async def _load(self, counterparty_id: str) -> None:
        if counterparty_id in self._groups:
            return
        doc = await self._views.get(self._counterparties, counterparty_id)
        self._groups[counterparty_id] = None if doc is None else str(doc.get("access_group") or DEFAULT_ACCESS_GROUP)
        self._names[counterparty_id] = None if doc is None else str(doc.get("name", ""))

    async def sees_counterparty(self, counterparty_id: str) -> bool:
        """Whether the counterparty exists (in its view) and is in one of the caller's groups."""
        await self._load(counterparty_id)
        group = self._groups[counterparty_id]
        return group is not None and self.caller.sees_group(group)

    async def name_of(self, counterparty_id: str) -> str | None:
        """The counterparty's name as its view has it."""
        await self._load(counterparty_id)
        return self._names[counterparty_id]

    async def sees_person(self, owner: str, private: bool, counterparty_ids: Sequence[str]) -> bool:
        """See the module docstring."""
        if private:
            return self.caller.user_id == owner
        if not counterparty_ids or self.caller.visible_groups() is None:
            return True
        for cid in counterparty_ids:
            if await self.sees_counterparty(cid):
                return True
        return False

    async def visible_links(self, links: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The links the caller may see, each with the counterparty's name."""
        shown = []
        for link in links:
            cid = str(link["counterparty_id"])
            if await self.sees_counterparty(cid):
                shown.append({**link, "counterparty_name": await self.name_of(cid)})
        return shown


def _present(fields: Mapping[str, Any], person_id: str, version: int, links: list[dict[str, Any]]) -> dict[str, Any]:
    """The card as the API shows it, from a view document or a state (personal fields opened)."""
    names = (fields.get("first_name"), fields.get("middle_name"), fields.get("last_name"))
    return {
        "id": person_id,
        "first_name": names[0],
        "middle_name": names[1],
        "last_name": names[2],
        "display_name": pe.display_name(*names),
        "birth_date": fields.get("birth_date"),
        "birthday_reminder_days": fields.get("birthday_reminder_days"),
        "gender": fields.get("gender"),
        "description": fields.get("description"),
        "contact_info": [
            {k: c.get(k) for k in ("kind", "type", "value", "main", "comment")} for c in fields.get("contact_info", [])
        ],
        "private": bool(fields.get("private")),
        "owner": fields.get("owner"),
        "links": links,
        "properties": dict(fields.get("properties") or {}),
        "categories": list(fields.get("categories") or []),
        "registered_at": fields.get("registered_at"),
        "erased": bool(fields.get("erased")),
        "erased_at": fields.get("erased_at"),
        "version": version,
    }


class Persons:
    """Everything about contact persons: commands, reads, export, erasure."""

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
        self._store = store
        self._views = views
        self.runner = runner
        self.keys = keys
        self._counterparties = counterparties
        self._contact_entries = contact_entries
        self._reference = reference
        self._clock = clock

    def now(self) -> datetime:
        """The service clock (injected in tests)."""
        return self._clock()

    def access(self, caller: Caller) -> Access:
        """The visibility rules for one request."""
        return Access(self._views, self._counterparties, caller)

    async def contact_entries(self, raws: Sequence[RawContact]) -> tuple[ContactEntry, ...]:
        """Typed, normalised contact entries; each kind must be a contact kind for persons."""
        return await self._contact_entries(raws)

    # -- loading ------------------------------------------------------------------------------------

    async def _reading_key(self, person_id: str, events: Sequence[RecordedEvent]) -> bytes | None:
        """The key to open the person's events with: none once the stream records an erasure, even if
        a restored backup brought the key back."""
        if not events or _has_erasure(events):
            return None
        return await self.keys.key_of(person_id)

    async def load(self, person_id: str) -> tuple[pe.State, list[RecordedEvent], bytes | None]:
        """The person (opened), its events, and its key."""
        events = await self._store.read_stream(pe.stream_of(person_id))
        key = await self._reading_key(person_id, events)
        return fold_open(events, key), events, key

    # -- commands -----------------------------------------------------------------------------------

    async def handle(
        self,
        command: pe.Command,
        caller: Caller,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> PersonResult:
        """Decide and append with the version decided on (409 on a concurrent change, 412 on a stale
        ``if_match``); a retried ``idempotency_key`` returns the first result."""
        erasing = isinstance(command, pe.ErasePerson)
        if erasing and not caller.can(Permission.PERSONAL_DATA_ADMIN):
            raise Forbidden("your roles do not allow erasing personal data")
        if not erasing and not caller.can(Permission.COUNTERPARTY_WRITE):
            raise Forbidden("your roles do not allow changing contact persons")
        pid = command.person_id
        stream = pe.stream_of(pid)
        state, events, key = await self.load(pid)
        version = events[-1].stream_version if events else None
        access = self.access(caller)
        if state is not None and not erasing:
            ids = [x.counterparty_id for x in state.links]
            if not await access.sees_person(state.owner, state.private, ids):
                raise NotFound(f"person {pid} does not exist")
        if idempotency_key is not None:
            earlier = self._earlier_result(events, stream, idempotency_key, key)
            if earlier is not None:
                return earlier
        if if_match is not None and if_match != version:
            raise PreconditionFailed(if_match, version)
        await self._check(command, access)

        decided = pe.decide(command, state)
        if not decided:
            if state is None or not events:
                raise NotFound(f"person {pid} does not exist")
            if erasing:
                await self.keys.delete(pid)  # finishes an erasure interrupted after its event
            return PersonResult(state, events[-1].stream_version, events[-1].position)
        if isinstance(command, pe.RegisterPerson):
            key = await self.keys.create(pid)
        new_events = [
            self._encode(
                event,
                key,
                pid,
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
        if erasing:
            await self.keys.delete(pid)
        for event in decided:
            state = pe.evolve(state, event)
        assert state is not None
        return PersonResult(state, result.stream_version, result.position)

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
        state, events, key = await self.load(person_id)
        old = None if state is None else next((x for x in state.links if x.counterparty_id == from_id), None)
        if state is None or old is None or not events:
            return 0
        decided: list[DomainEvent] = []
        if all(x.counterparty_id != to_id for x in state.links):
            decided += pe.decide(pe.LinkCounterparty(person_id, to_id, old.position, old.role), state)
        for event in decided:
            state = pe.evolve(state, event)
        decided += pe.decide(pe.UnlinkCounterparty(person_id, from_id), state)
        metadata = {"actor": caller.user_id, "reason": f"counterparty {from_id} merged into {to_id}"}
        new_events = [self._encode(e, key, person_id, event_id=None, metadata=metadata) for e in decided]
        await self._store.append(pe.stream_of(person_id), new_events, events[-1].stream_version)
        return 1

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

    @staticmethod
    def _encode(
        event: DomainEvent,
        key: bytes | None,
        person_id: str,
        *,
        event_id: uuid.UUID | None,
        metadata: Mapping[str, Any],
    ) -> NewEvent:
        encoded = pe.catalog.encode(event, event_id=event_id, metadata=metadata)
        if key is None:
            if pe.has_personal_values(encoded.data):
                raise DomainError(f"the personal data of person {person_id} cannot be written: it has no key")
            return encoded
        return dataclasses.replace(encoded, data=pe.seal_data(encoded.data, key, person_id))

    @staticmethod
    def _earlier_result(
        events: list[RecordedEvent], stream: str, idempotency_key: str, key: bytes | None
    ) -> PersonResult | None:
        last = end_of_earlier_command(events, stream, idempotency_key)
        if last is None:
            return None
        state = fold_open(events[: last + 1], key)
        assert state is not None
        return PersonResult(state, events[last].stream_version, events[last].position)

    async def present(self, result: PersonResult, caller: Caller) -> dict[str, Any]:
        """A command's result as the API shows the card."""
        return await self._present_state(result.state, result.version, self.access(caller))

    async def _present_state(self, state: pe.Person, version: int, access: Access) -> dict[str, Any]:
        fields = view.card(state)
        return _present(fields, state.id, version, await access.visible_links(fields["links"]))

    # -- reads of the view --------------------------------------------------------------------------

    def _read(self, caller: Caller) -> None:
        if not caller.can(Permission.COUNTERPARTY_READ):
            raise Forbidden("your roles do not allow reading contact persons")

    async def _wait(self, min_position: int | None) -> None:
        if min_position:
            await self.runner.wait_for(self._store, min_position, translate=translate_person)

    async def _open_card(self, doc: Document, access: Access) -> dict[str, Any]:
        pid = str(doc["_id"])
        key = None if doc.get("erased") else await self.keys.key_of(pid)
        fields, _ = pe.open_data(doc, key, pid)
        return _present(fields, pid, int(doc["_version"]), await access.visible_links(doc.get("links", [])))

    async def get(self, person_id: str, caller: Caller, *, min_position: int | None = None) -> dict[str, Any] | None:
        """The card of a person the caller may see, or None."""
        self._read(caller)
        await self._wait(min_position)
        doc = await self._views.get(self.runner.collection(view.COLLECTION), person_id)
        access = self.access(caller)
        if doc is None or not await access.sees_person(
            str(doc["owner"]), bool(doc["private"]), doc["counterparty_ids"]
        ):
            return None
        return await self._open_card(doc, access)

    def _scopes(self, caller: Caller) -> tuple[str, str]:
        return (view.PUBLIC, f"user:{caller.user_id}")

    async def find(
        self,
        caller: Caller,
        *,
        search: str | None = None,
        category: str | None = None,
        properties: Mapping[str, str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
        min_position: int | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the persons the caller may see, sorted by last name; with ``search``, those whose
        name (last name first, or first name first) starts with it, sorted by the name as it matched.
        ``category`` or one of ``properties`` (code -> value, text in any case) narrows it, with or
        without ``search``; two of them at once are refused. Raises ``BadCursor``."""
        self._read(caller)
        filters = [("category", view.category_tag(category))] if category else []
        filters += [(f"property.{code}", view.property_tag(code, value)) for code, value in (properties or {}).items()]
        if len(filters) > 1:
            raise DomainError("filter by one category or one property at a time", field=filters[1][0])
        after = decode_cursor(cursor)
        await self._wait(min_position)
        q = view.name_key(search or "")
        tag = {"tag": filters[0][1]} if filters else {}
        query = Query(
            equals=tag if q else {**tag, "primary": True},
            prefix=("key", q) if q else None,
            sort="key",
            after=after,
            within=("scope", self._scopes(caller)),
        )
        access = self.access(caller)

        async def accept(entry: Document) -> bool:
            # A person matching by two of its keys is listed once: under the first that matches.
            if q and next(i for i, k in enumerate(entry["keys"]) if k.startswith(q)) != entry["index"]:
                return False
            return await access.sees_person("", False, entry["counterparty_ids"])

        collection = self.runner.collection(view.TAGS if filters else view.NAMES)
        entries, next_after = await self._scan(collection, query, accept, limit)
        cards = []
        for entry in entries:
            doc = await self._views.get(self.runner.collection(view.COLLECTION), str(entry["person_id"]))
            if doc is not None:
                cards.append(await self._open_card(doc, access))
        return cards, encode_cursor(next_after)

    async def _scan(
        self, collection: str, query: Query, accept: Callable[[Document], Awaitable[bool]], limit: int
    ) -> tuple[list[Document], tuple[Any, str] | None]:
        """Up to ``limit`` accepted documents from ``query``'s order, and where the next page starts."""
        found: list[Document] = []
        after = query.after
        scanned = 0
        batch = min(max(limit * 2, 50), 500)
        while True:
            page = await self._views.find(collection, dataclasses.replace(query, after=after, limit=batch))
            for i, doc in enumerate(page.items):
                scanned += 1
                after = (doc.get(query.sort), str(doc["_id"]))
                if await accept(doc):
                    found.append(doc)
                    if len(found) == limit:
                        more = i + 1 < len(page.items) or page.next_after is not None
                        return found, after if more else None
            if page.next_after is None:
                return found, None
            if scanned >= MAX_SCAN:
                return found, after

    async def of_counterparty(
        self,
        counterparty_id: str,
        caller: Caller,
        *,
        limit: int = 50,
        cursor: str | None = None,
        min_position: int | None = None,
    ) -> tuple[list[dict[str, Any]], str | None] | None:
        """A page of the persons linked to a counterparty, sorted by name, each with its position and
        role there; None when the caller does not see the counterparty. Raises ``BadCursor``."""
        self._read(caller)
        after = decode_cursor(cursor)
        await self._wait(min_position)
        access = self.access(caller)
        if not await access.sees_counterparty(counterparty_id):
            return None
        page = await self._views.find(
            self.runner.collection(view.LINKS),
            Query(
                equals={"counterparty_id": counterparty_id},
                sort="sort",
                after=after,
                limit=limit,
                within=("scope", self._scopes(caller)),
            ),
        )
        items = []
        for link in page.items:
            doc = await self._views.get(self.runner.collection(view.COLLECTION), str(link["person_id"]))
            if doc is not None:
                items.append(
                    {"person": await self._open_card(doc, access), "position": link["position"], "role": link["role"]}
                )
        return items, encode_cursor(page.next_after)

    # -- reads of the log ---------------------------------------------------------------------------

    async def _visible_log(
        self, person_id: str, caller: Caller
    ) -> tuple[list[RecordedEvent], bytes | None, Access] | None:
        self._read(caller)
        events = await self._store.read_stream(pe.stream_of(person_id))
        state = view.fold(events)  # access needs no personal field: no need to open them
        access = self.access(caller)
        if state is None or not await access.sees_person(
            state.owner, state.private, [x.counterparty_id for x in state.links]
        ):
            return None
        return events, await self._reading_key(person_id, events), access

    async def as_of(self, person_id: str, at: datetime, caller: Caller) -> dict[str, Any] | None:
        """The card as committed at ``at`` (None if the person did not exist then or is not visible).
        Access follows the person as it is now; personal fields erased since show as erased."""
        found = await self._visible_log(person_id, caller)
        if found is None:
            return None
        events, key, access = found
        shown = [e for e in events if e.recorded_at <= at]
        state = fold_open(shown, key)
        if state is None:
            return None
        card = await self._present_state(state, shown[-1].stream_version, access)
        return {**card, "erased": card["erased"] or key is None}

    async def history(self, person_id: str, caller: Caller) -> list[dict[str, Any]] | None:
        """Every change, oldest first: version, when, who, what it set, and which of its fields are
        erased. Changes of links to counterparties the caller cannot see are left out."""
        found = await self._visible_log(person_id, caller)
        if found is None:
            return None
        events, key, access = found
        entries = []
        for recorded in events:
            event, erased = decode(recorded, key)
            changes = event.model_dump(mode="json")
            changes.pop("person_id", None)
            cid = changes.get("counterparty_id")
            if cid is not None and not await access.sees_counterparty(str(cid)):
                continue
            entries.append(_history_entry(recorded, changes, erased))
        return entries

    async def export(self, person_id: str, caller: Caller) -> dict[str, Any] | None:
        """Everything held about a person (GDPR access request), for ``personal-data:admin``: the card
        as of now, every event with its fields opened, who changed what and when. Private persons too."""
        if not caller.can(Permission.PERSONAL_DATA_ADMIN):
            raise Forbidden("your roles do not allow exporting personal data")
        state, events, key = await self.load(person_id)
        if state is None:
            return None
        fields = view.card(state)
        card = _present(fields, person_id, events[-1].stream_version, fields["links"])
        history = []
        for recorded in events:
            event, erased = decode(recorded, key)
            changes = event.model_dump(mode="json")
            changes.pop("person_id", None)
            history.append(_history_entry(recorded, changes, erased))
        return {
            "person_id": person_id,
            "exported_at": self.now().isoformat(),
            "exported_by": caller.user_id,
            "personal_data_readable": key is not None,
            "card": card,
            "links": fields["links"],
            "events": history,
        }

    async def vcard(self, person_id: str, caller: Caller) -> str | None:
        """The person as a vCard 4.0 (None if not visible); a PersonWasErased error once erased."""
        card = await self.get(person_id, caller)
        if card is None:
            return None
        if card["erased"]:
            raise pe.PersonWasErased(f"the personal data of person {person_id} was erased")
        return to_vcard(card)


def _for_persons(attributes: Mapping[str, Any], field: str) -> None:
    if attributes.get("applies_to", "both") not in ("both", "person"):
        raise DomainError("not defined for a person", field=field)


def _history_entry(recorded: RecordedEvent, changes: dict[str, Any], erased: list[str]) -> dict[str, Any]:
    actor = recorded.metadata.get("actor")
    return {
        "version": recorded.stream_version,
        "at": recorded.recorded_at,
        "event": recorded.type.removeprefix("contacts."),
        "actor": None if actor is None else str(actor),
        "changes": changes,
        "erased_fields": erased,
    }


# -- vCard ----------------------------------------------------------------------------------------

_GENDER_SEX = {"female": "F", "male": "M", "unspecified": "U"}


def vcard_escape(text: str) -> str:
    """A text value escaped per RFC 6350 §3.4: backslash, comma, semicolon and line breaks."""
    return (
        text.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def vcard_fold(line: str) -> str:
    """One content line folded at 75 octets (RFC 6350 §3.2), never inside a UTF-8 character."""
    parts: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, 74  # continuation lines begin with a space
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def to_vcard(card: Mapping[str, Any]) -> str:
    """A person's card as a vCard 4.0 (RFC 6350), lines ending in CRLF."""
    esc = vcard_escape
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"UID:urn:uuid:{card['id']}", f"FN:{esc(card['display_name'])}"]
    name = [card.get("last_name"), card.get("first_name"), card.get("middle_name")]
    lines.append("N:" + ";".join(esc(part or "") for part in name) + ";;")
    if card.get("birth_date"):
        lines.append(f"BDAY:{str(card['birth_date']).replace('-', '')}")
    if card.get("gender") in _GENDER_SEX:
        lines.append(f"GENDER:{_GENDER_SEX[card['gender']]}")
    for entry in card.get("contact_info", []):
        value = entry.get("value")
        if not value:
            continue
        pref = ";PREF=1" if entry.get("main") else ""
        kind = f";TYPE={esc(str(entry['kind']))}" if entry.get("kind") else ""
        match entry.get("type"):
            case "phone":
                lines.append(f"TEL;VALUE=uri{pref}{kind}:tel:{value}")
            case "email":
                lines.append(f"EMAIL{pref}{kind}:{esc(value)}")
            case "web":
                lines.append(f"URL{pref}{kind}:{value}")
            case "address":
                lines.append(f"ADR{pref}{kind}:;;{esc(value)};;;;")
            case _:
                lines.append(f"NOTE:{esc(value)}")
    for link in card.get("links", []):
        if link.get("counterparty_name"):
            lines.append(f"ORG:{esc(link['counterparty_name'])}")
        if link.get("position"):
            lines.append(f"TITLE:{esc(link['position'])}")
        if link.get("role"):
            lines.append(f"ROLE:{esc(link['role'])}")
    if card.get("description"):
        lines.append(f"NOTE:{esc(card['description'])}")
    lines.append("END:VCARD")
    return "".join(vcard_fold(line) + "\r\n" for line in lines)


# -- the public form of the events ----------------------------------------------------------------

_DETAILS: dict[type[DomainEvent], str] = {
    pe.PersonRenamed: "name",
    pe.PersonBirthDateChanged: "birth_date",
    pe.PersonBirthdayReminderChanged: "birthday_reminder_days",
    pe.PersonGenderChanged: "gender",
    pe.PersonDescriptionChanged: "description",
    pe.PersonContactInfoSet: "contact_info",
}


def _public_form(event: DomainEvent) -> tuple[str, dict[str, Any]]:
    """The CloudEvents type and data of a person event: never a personal field (see the contract)."""
    match event:
        case pe.PersonRegistered():
            return "crm.contacts.PersonRegistered", {
                "person_id": event.person_id,
                "owner": event.owner,
                "private": event.private,
                "registered_at": event.registered_at,
            }
        case pe.PersonPrivacyChanged():
            return "crm.contacts.PersonPrivacyChanged", {"person_id": event.person_id, "private": event.private}
        case pe.PersonPropertiesChanged():
            return "crm.contacts.PersonPropertiesChanged", {"person_id": event.person_id, "values": event.values}
        case pe.PersonCategoriesChanged():
            return "crm.contacts.PersonCategoriesChanged", {
                "person_id": event.person_id,
                "categories": event.categories,
            }
        case pe.PersonLinkedToCounterparty() | pe.PersonCounterpartyLinkChanged():
            ce_type = (
                "crm.contacts.PersonLinkedToCounterparty"
                if isinstance(event, pe.PersonLinkedToCounterparty)
                else "crm.contacts.PersonCounterpartyLinkChanged"
            )
            return ce_type, {
                "person_id": event.person_id,
                "counterparty_id": event.counterparty_id,
                "position": event.position,
                "role": event.role,
            }
        case pe.PersonUnlinkedFromCounterparty():
            return "crm.contacts.PersonUnlinkedFromCounterparty", {
                "person_id": event.person_id,
                "counterparty_id": event.counterparty_id,
            }
        case pe.PersonErased():
            return "crm.contacts.PersonErased", {"person_id": event.person_id, "erased_at": event.erased_at}
    return "crm.contacts.PersonDetailsChanged", {
        "person_id": getattr(event, "person_id", ""),
        "fields": [_DETAILS[type(event)]],
    }


def translate_person(recorded: RecordedEvent) -> list[Envelope]:
    """The integration event of one stored person event (topic ``crm.contacts.person.v1``). Decoded
    without opening: the public form never needs, and never gets, a personal field."""
    if not recorded.stream.startswith("person-"):
        return []
    ce_type, fields = _public_form(pe.catalog.decode(recorded))
    data = public.EVENT_TYPES[ce_type].model_validate(fields).model_dump(mode="json")
    occurred = recorded.metadata.get("occurred_at")
    return [
        Envelope(
            id=str(recorded.id),
            type=ce_type,
            source=SOURCE,
            subject=str(data["person_id"]),
            time=datetime.fromisoformat(occurred) if isinstance(occurred, str) else recorded.recorded_at,
            topic=public.TOPIC,
            data=data,
            stream=recorded.stream,
            stream_version=recorded.stream_version,
            position=recorded.position,
            traceparent=recorded.metadata.get("traceparent"),
        )
    ]
