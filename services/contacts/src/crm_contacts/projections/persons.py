"""Contact persons' views: the card, the name-search entries, the category and property entries
that filter the list, the persons of each counterparty, and the phone entries of the caller-id lookup.

Public person events carry no personal data, so for each one this projection reads the person's own
stream from the event store up to that event and folds it *unopened*: the card keeps personal fields
sealed exactly as in the events, and queries open them with the person's key. A rebuild or a stale
card therefore cannot bring erased data back. Only the name-search keys need plain names (the phone
entries hold hashes of the numbers); both are made while the person's key exists and removed on
erasure (also when rebuilt after one).

Properties and categories are not personal data: the card holds them plain. Each category and each
property value of a person has a tag entry per name-search key (``<person>|<tag>|<index>``), so "this
category, name starting with ..." is one indexed query; tag entries are rewritten only when
something they hold changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from crm_contacts.domain import person as pe
from crm_contacts.projections.counterparties import property_key
from crm_shared.contracts.contacts.person import EVENT_TYPES as PERSON_EVENT_TYPES
from crm_shared.contracts.contacts.person import PERSON_TOPIC
from crm_shared.eventstore.port import EventStore, RecordedEvent
from crm_shared.projections import Derive, Fact, On, View
from crm_shared.readstore import Change, Delete, Document, Index, Put

COLLECTION = "persons"
"""One card per person: personal fields sealed."""
NAMES = "person_names"
"""Name-search entries: one per way of writing the name (last name first, and first name first)."""
LINKS = "person_links"
"""One entry per link between a person and a counterparty, sorted by the person's name."""
TAGS = "person_tags"
"""Name-search entries again, one set per category and per property value of the person."""
PUBLIC = "public"
MAX_NAME_KEYS = 4
PHONES = "person_phones"
"""Caller-id entries: one per phone number of a person (its :func:`phone_key`), while its key exists."""


def phone_key(e164: str) -> str:
    """The form under which a person's phone is looked up: a hash of the E.164 number, so that the
    view holds no phone number in plain text (an exact lookup needs no more; removed on erasure)."""
    return hashlib.sha256(f"person-phone:{e164}".encode()).hexdigest()


KeyOf = Callable[[str], Awaitable[bytes | None]]
"""The key of a person, None when it was erased."""


def name_key(text: str) -> str:
    """The search form of a name: case-folded, single-spaced (Cyrillic and Latin alike)."""
    return " ".join(text.casefold().split())


def search_keys(first: str | None, middle: str | None, last: str | None) -> list[str]:
    """The keys a person is found by: last name first (also the sort order), then first name first,
    and both again without the middle name (``Иван Петров`` finds Иван Георгиев Петров)."""
    keys = [
        name_key(" ".join(p for p in (last, first, middle) if p)),
        name_key(" ".join(p for p in (first, middle, last) if p)),
    ]
    if middle:
        keys += [name_key(" ".join(p for p in (first, last) if p)), name_key(" ".join(p for p in (last, first) if p))]
    return [k for i, k in enumerate(keys) if k and k not in keys[:i]]


def category_tag(code: str) -> str:
    """The tag under which persons of a category are found."""
    return f"category:{code}"


def property_tag(code: str, value: Any) -> str:
    """The tag under which persons with this property value are found (case-insensitive text)."""
    return f"property:{code}={property_key(value)}"


def tags_of(state: pe.Person) -> set[str]:
    """Every tag of a person: its categories and property values."""
    return {category_tag(c) for c in state.categories} | {property_tag(k, v) for k, v in state.properties.items()}


def _tags_of_card(card: Document) -> set[str]:
    categories, properties = card.get("categories") or (), card.get("properties") or {}
    return {category_tag(c) for c in categories} | {property_tag(k, v) for k, v in properties.items()}


def scope_of(private: bool, owner: str) -> str:
    """Who may find a person at all: ``public``, or ``user:<owner>`` for a private one."""
    return f"user:{owner}" if private else PUBLIC


def fold(events: Sequence[RecordedEvent]) -> pe.State:
    """The person after ``events``, personal fields as stored (sealed)."""
    state: pe.State = None
    for recorded in events:
        state = pe.evolve(state, pe.catalog.decode(recorded))
    return state


def card(state: pe.Person) -> dict[str, Any]:
    """The card document of a person (without ``_id`` and ``_version``)."""
    return {
        "owner": state.owner,
        "private": state.private,
        "scope": scope_of(state.private, state.owner),
        **{name: getattr(state, name) for name in pe.PERSONAL_FIELDS},
        "birthday_reminder_days": state.birthday_reminder_days,
        "contact_info": [c.model_dump(mode="json") for c in state.contact_info],
        "properties": dict(state.properties),
        "categories": list(state.categories),
        "links": [{"counterparty_id": x.counterparty_id, "position": x.position, "role": x.role} for x in state.links],
        "counterparty_ids": [x.counterparty_id for x in state.links],
        "registered_at": state.registered_at.isoformat(),
        "erased": state.erased,
        "erased_at": None if state.erased_at is None else state.erased_at.isoformat(),
    }


class PersonsView(View):
    """Projection of ``crm.contacts.person.v1`` (and each person's stream) into four collections.

    The card is folded from the person's stream (see the module docstring) and carries the plain
    name-search keys while the person's key exists; the name, tag and link entries are derived from
    the card once per batch.
    """

    name = "persons"
    # 2: properties, categories and their tag entries; 3: entries derived from the card; 4: names also
    # without the middle name, phone entries (caller id)
    version = 4
    topics: Sequence[str] = (PERSON_TOPIC,)
    collections: Mapping[str, Sequence[Index]] = {
        COLLECTION: (Index(("scope",)),),
        NAMES: (Index(("scope", "key")), Index(("primary", "scope", "key"))),
        TAGS: (Index(("tag", "scope", "key")), Index(("tag", "primary", "scope", "key"))),
        LINKS: (Index(("counterparty_id", "scope", "sort")),),
        PHONES: (Index(("key", "scope", "sort")),),
    }
    contracts = PERSON_EVENT_TYPES

    def __init__(self, store: EventStore, key_of: KeyOf) -> None:
        self._store = store
        self._key_of = key_of
        card = On(COLLECTION, _person_of, self._card)
        self.handlers: Mapping[str, Sequence[On]] = {event_type: (card,) for event_type in PERSON_EVENT_TYPES}
        self.derived: Mapping[str, Derive] = {COLLECTION: _entries}

    async def _card(self, before: Document | None, fact: Fact[Any]) -> Document | None:
        """The person's card as it stood at this event, folded from the person's stream."""
        event = fact.envelope
        recorded = await self._store.read_stream(event.stream, 0, event.stream_version + 1)
        if len(recorded) <= event.stream_version:
            return None  # not in this store (yet): nothing to fold
        after = fold(recorded[: event.stream_version + 1])
        if after is None:
            return None
        keys: list[str] = []
        phones: list[str] = []
        document = card(after)
        if not after.erased:
            key = await self._key_of(after.id)
            if key is not None:
                opened, _ = pe.open_data(
                    {
                        "first_name": after.first_name,
                        "middle_name": after.middle_name,
                        "last_name": after.last_name,
                        "contact_info": document["contact_info"],
                    },
                    key,
                    after.id,
                )
                keys = search_keys(opened["first_name"], opened["middle_name"], opened["last_name"])
                phones = sorted({phone_key(str(c["key"])) for c in opened["contact_info"] if c.get("type") == "phone"})
        return {
            **document,
            "name_key": keys[0] if keys else "",
            "search_keys": keys,
            "phone_keys": phones,
            "updated_at": event.time.isoformat(),
        }


def _person_of(fact: Fact[Any]) -> str | None:
    stream = fact.envelope.stream
    return stream.removeprefix("person-") if stream.startswith("person-") else None


def _entries(pid: str, versions: Sequence[Document | None], collection: Callable[[str], str]) -> list[Change]:
    """The name, tag and link entries of a person, from its card before and after a batch."""
    before, after = versions[0], versions[-1]
    if after is None:  # cards are never deleted
        return []
    version, keys, scope, sort = int(after["_version"]), list(after["search_keys"]), after["scope"], after["name_key"]

    def entry(entry_id: str, i: int) -> dict[str, Any]:
        return {
            "_id": entry_id,
            "_version": version,
            "person_id": pid,
            "key": keys[i],
            "keys": keys,
            "index": i,
            "primary": i == 0,
            "scope": scope,
            "counterparty_ids": after["counterparty_ids"],
        }

    names = collection(NAMES)
    changes: list[Change] = [
        Put(names, entry(f"{pid}:{i}", i)) if i < len(keys) else Delete(names, f"{pid}:{i}", version)
        for i in range(MAX_NAME_KEYS)
    ]
    if before is None or _tag_inputs(before) != _tag_inputs(after):
        tags = collection(TAGS)
        new = _tags_of_card(after)
        for tag in sorted(new | (set() if before is None else _tags_of_card(before))):
            for i in range(MAX_NAME_KEYS):
                entry_id = f"{pid}|{tag}|{i}"
                if i < len(keys) and tag in new:
                    changes.append(Put(tags, {**entry(entry_id, i), "tag": tag}))
                else:
                    changes.append(Delete(tags, entry_id, version))
    links = collection(LINKS)
    for link in after["links"]:
        changes.append(
            Put(
                links,
                {
                    "_id": f"{link['counterparty_id']}:{pid}",
                    "_version": version,
                    "counterparty_id": link["counterparty_id"],
                    "person_id": pid,
                    "position": link["position"],
                    "role": link["role"],
                    "scope": scope,
                    "sort": sort,
                },
            )
        )
    phones = collection(PHONES)
    now = set(after.get("phone_keys") or ())
    for phone in sorted(now):
        changes.append(
            Put(
                phones,
                {
                    "_id": f"{pid}|{phone}",
                    "_version": version,
                    "key": phone,
                    "person_id": pid,
                    "scope": scope,
                    "sort": sort,
                    "counterparty_ids": after["counterparty_ids"],
                },
            )
        )
    for gone_phone in sorted(set([] if before is None else before.get("phone_keys") or ()) - now):
        changes.append(Delete(phones, f"{pid}|{gone_phone}", version))
    kept = set(after["counterparty_ids"])
    for gone in [] if before is None else [x for x in before["links"] if x["counterparty_id"] not in kept]:
        changes.append(Delete(links, f"{gone['counterparty_id']}:{pid}", version))
    return changes


def _tag_inputs(card: Document) -> tuple[Any, ...]:
    """What a person's tag entries are made of: name keys, scope, counterparties and tags."""
    return (
        tuple(card.get("search_keys") or ()),
        card.get("erased"),
        card.get("scope"),
        tuple(card.get("counterparty_ids") or ()),
        _tags_of_card(card),
    )
