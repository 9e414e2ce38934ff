"""Reads of contact persons: the card and lists from the view, as-of, history and the GDPR export
from the log, and the vCard; each under the visibility rules of access.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from crm_contacts.application.keys import PersonKeys
from crm_contacts.application.persons.access import Access
from crm_contacts.application.persons.commands import PersonResult
from crm_contacts.application.persons.publishing import translate_person
from crm_contacts.application.persons.reading import decode, fold_open, history_entry, present, reading_key
from crm_contacts.application.persons.vcard import to_vcard
from crm_contacts.domain import person as pe
from crm_contacts.projections import persons as view
from crm_shared.errors import DomainError, Forbidden
from crm_shared.eventstore import EventStore, RecordedEvent
from crm_shared.identity import Caller, Permission
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Document, Query, ReadStore
from crm_shared.readstore.cursor import decode_cursor, encode_cursor

MAX_SCAN = 5000
"""A list page examines at most this many entries; a sparser page still returns a cursor."""


class PersonQueries:
    """Reads of persons for the API; see the module docstring."""

    def __init__(
        self,
        store: EventStore,
        views: ReadStore,
        runner: ProjectionRunner,
        keys: PersonKeys,
        *,
        counterparties: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._views = views
        self.runner = runner
        self.keys = keys
        self._counterparties = counterparties
        self._clock = clock

    def now(self) -> datetime:
        """The service clock (injected in tests)."""
        return self._clock()

    def access(self, caller: Caller) -> Access:
        """The visibility rules for one request."""
        return Access(self._views, self._counterparties, caller)

    async def present(self, result: PersonResult, caller: Caller) -> dict[str, Any]:
        """A command's result as the API shows the card."""
        return await self._present_state(result.state, result.version, self.access(caller))

    async def _present_state(self, state: pe.Person, version: int, access: Access) -> dict[str, Any]:
        fields = view.card(state)
        return present(fields, state.id, version, await access.visible_links(fields["links"]))

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
        return present(fields, pid, int(doc["_version"]), await access.visible_links(fields.get("links", [])))

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

    async def by_phone(self, phone: str, caller: Caller, *, limit: int = 20) -> list[dict[str, Any]]:
        """The persons the caller may see with this phone number (E.164), sorted by name (caller id)."""
        self._read(caller)
        query = Query({"key": view.phone_key(phone)}, None, "sort", None, limit, ("scope", self._scopes(caller)))
        access = self.access(caller)

        async def accept(entry: Document) -> bool:
            return await access.sees_person("", False, entry["counterparty_ids"])

        entries, _ = await self._scan(self.runner.collection(view.PHONES), query, accept, limit)
        found = await self._views.get_many(
            self.runner.collection(view.COLLECTION), [str(e["person_id"]) for e in entries]
        )
        return [
            await self._open_card(found[str(e["person_id"])], access) for e in entries if str(e["person_id"]) in found
        ]

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
                card = await self._open_card(doc, access)
                # The entry's position is sealed with the person's key (ADR 15): the opened card has it.
                here: dict[str, Any] = next((x for x in card["links"] if x["counterparty_id"] == counterparty_id), {})
                items.append({"person": card, "position": here.get("position"), "role": link["role"]})
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
        return events, await reading_key(self.keys, person_id, events), access

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
            entries.append(history_entry(recorded, changes, erased))
        return entries

    async def export(self, person_id: str, caller: Caller) -> dict[str, Any] | None:
        """Everything held about a person (GDPR access request), for ``personal-data:admin``: the card
        as of now, every event with its fields opened, who changed what and when. Private persons too."""
        if not caller.can(Permission.PERSONAL_DATA_ADMIN):
            raise Forbidden("your roles do not allow exporting personal data")
        events = await self._store.read_stream(pe.stream_of(person_id))
        key = await reading_key(self.keys, person_id, events)
        state = fold_open(events, key)
        if state is None:
            return None
        fields = view.card(state)
        card = present(fields, person_id, events[-1].stream_version, fields["links"])
        history = []
        for recorded in events:
            event, erased = decode(recorded, key)
            changes = event.model_dump(mode="json")
            changes.pop("person_id", None)
            history.append(history_entry(recorded, changes, erased))
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
