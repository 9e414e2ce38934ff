"""The counterparty list and card: one document per counterparty, plus a lookup collection that makes
multi-valued fields searchable (words of the name, tax ids, e-mails, phones, managers, categories,
property values, external codes) with the same filters as the list.

A lookup document is ``<counterparty>|<field>|<key>`` and copies the counterparty's list filters
(access group, archived, managers, group, relations), so "category vip in group wholesale, my access
groups" is one indexed query. Lookups are rewritten only when something they hold changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crm_contacts.domain.counterparty import normalise_tax_id
from crm_shared.contracts.contacts import counterparty as public
from crm_shared.projections import Derive, Fact, On, View
from crm_shared.readstore import Change, Delete, Document, Index, Put, Query

COLLECTION = "counterparties"
KEYS = "counterparty_keys"
FILTERS = ("access_group", "archived", "main_manager", "group", "region", "is_buyer", "is_supplier", "is_other")
"""Fields of the card that every lookup document copies, so lookups filter like the list."""
MIN_WORD = 2
KEY_NAME_SEPARATOR = "\x1f"
"""Joins a lookup's key and the name in ``key_name``: prefix searches match the key and sort by key,
then name. No key contains it (inputs refuse control characters but tab and line feed), so the keys
starting with ``<key><separator>`` are exactly those of ``<key>``: see :func:`with_key`."""

_FIELD_OF = {
    "crm.contacts.CounterpartyRenamed": "name",
    "crm.contacts.CounterpartyRelationsChanged": "relations",
    "crm.contacts.CounterpartyTaxIdChanged": "tax_id",
    "crm.contacts.CounterpartyRegrouped": "group",
    "crm.contacts.HeadCounterpartyChanged": "head_counterparty_id",
    "crm.contacts.MainManagerAssigned": "main_manager",
    "crm.contacts.ManagersChanged": "managers",
    "crm.contacts.CounterpartyAccessGroupChanged": "access_group",
    "crm.contacts.ContactInformationChanged": "entries",
    "crm.contacts.CounterpartyPropertiesChanged": "values",
    "crm.contacts.CounterpartyCategoriesChanged": "categories",
    "crm.contacts.CounterpartyExternalCodesChanged": "external_codes",
}
"""Events that set one card field to the event's field of the same (or the given) name."""
_CARD_FIELD = {"entries": "contact_info", "values": "properties"}
_REGISTERED = "crm.contacts.CounterpartyRegistered"
_RELATION_FLAGS = (("buyer", "is_buyer"), ("supplier", "is_supplier"), ("other", "is_other"))


def name_key(name: str) -> str:
    """The search form of a name: case-folded, single-spaced (Cyrillic and Latin alike)."""
    return " ".join(name.casefold().split())


_WORD = re.compile(r"[^\W_]+")
r"""A run of letters and digits (``str.isalnum``): ``\w`` without the underscore."""


def words_of(name: str) -> set[str]:
    """The searchable words of a name: case-folded, split on spaces and punctuation."""
    return {w for w in _WORD.findall(name.casefold()) if len(w) >= MIN_WORD}


def with_key(
    field: str,
    key: str,
    equals: Mapping[str, Any],
    after: tuple[Any, str] | None,
    limit: int,
    within: tuple[str, Sequence[Any]] | None,
) -> Query:
    """The query of the lookups of ``field`` whose key is exactly ``key`` (and that match ``equals``),
    by name: the prefix ``<key><separator>`` of ``key_name``, so that the one index on ``(field,
    key_name)`` serves exact and prefix searches alike."""
    return Query(
        {**equals, "field": field}, ("key_name", f"{key}{KEY_NAME_SEPARATOR}"), "key_name", after, limit, within
    )


def past(key: str) -> str:
    """A ``key_name`` after those of every lookup of ``key`` and before the next key's: a cursor that
    walks on from the end of a key."""
    return f"{key}{KEY_NAME_SEPARATOR}\U0010ffff"


def lookup_keys(doc: Document) -> set[tuple[str, str]]:
    """The (field, key) pairs under which a counterparty is found."""
    get = doc.get
    keys = {("word", w) for w in words_of(str(get("name", "")))}
    for name in ("tax_id", "vat_id"):
        if get(name):
            tax_id = normalise_tax_id(str(doc[name]))
            keys.add(("tax", tax_id))
            keys.add(("taxnum", tax_number(tax_id)))
    for entry in get("contact_info") or ():
        if entry.get("type") in ("email", "phone"):
            keys.add((str(entry["type"]), str(entry["key"])))
        if entry.get("type") == "email" and "xn--" in str(entry["key"]):
            keys.add(("emailu", unicode_email(str(entry["key"]))))
    for category in get("categories") or ():
        keys.add(("category", str(category)))
    for manager in get("managers") or ():
        keys.add(("manager", str(manager)))
    for code, value in (get("properties") or {}).items():
        keys.add((f"property:{code}", property_key(value)))
    for external in get("external_codes") or ():
        keys.add(("extcode", str(external["code"])))
    return keys


def tax_number(tax_id: str) -> str:
    """A normalised tax id without its country prefix (``BG204567891`` -> ``204567891``): the key
    under which a tax id typed without the prefix is found."""
    return tax_id[2:] if len(tax_id) > 2 and tax_id[:2].isalpha() and tax_id[:2].isascii() else tax_id


def unicode_email(key: str) -> str:
    """An e-mail key with an IDNA (``xn--``) domain written in Unicode and case-folded, the key under
    which an address typed as people write it (``office@фирма.бг``) is found, also by its beginning."""
    local, _, domain = key.rpartition("@")
    try:
        return f"{local}@{domain.encode('ascii').decode('idna')}".casefold()
    except UnicodeError:
        return key


def property_key(value: Any) -> str:
    """The form under which a property value is filtered (``true``/``false``, numbers, text as is)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


def _registered(before: Document | None, fact: Fact[Any]) -> Document:
    """The card as registered (``before`` is None unless its registration is replayed)."""
    document = dict(fact.data)
    del document["counterparty_id"]
    document["relations"] = document.get("relations") or [document["kind"]]
    document.pop("kind", None)
    main = document["main_manager"]
    managers = list(document.get("managers") or [])
    document["managers"] = managers if main in managers else [main, *managers]
    document.update(
        archived=False,
        contact_info=[],
        properties={},
        categories=[],
        sources=[],
        source=None,
        external_codes=[],
        merged_into=None,
        merged=[],
    )
    return _finished(document, fact)


def _updated(before: Document | None, fact: Fact[Any]) -> Document | None:
    """Every other event sets what it names."""
    if before is None:
        return None  # the registration was not seen yet: its redelivery will bring all fields
    document, data = before, fact.data
    if fact.envelope.type in _FIELD_OF:
        source_field = _FIELD_OF[fact.envelope.type]
        document[_CARD_FIELD.get(source_field, source_field)] = data[source_field]
    match fact.contract:
        case public.CounterpartyKindChanged():
            document["relations"] = [data["kind"]]
        case public.CounterpartyDetailsChanged():
            document.update(data["changes"])
        case public.MainManagerAssigned() if data["main_manager"] not in document.get("managers", []):
            document["managers"] = [data["main_manager"], *document.get("managers", [])]
        case public.CounterpartyArchived():
            document.update(archived=True, archive_reason=data.get("reason", ""))
        case public.CounterpartyRestored():
            document.update(archived=False, archive_reason="")
        case public.InformationSourceRecorded():
            kept = [s for s in document.get("sources", []) if s["on"] != data["on"]]
            sources = sorted([*kept, {"source": data["source"], "on": data["on"]}], key=lambda s: str(s["on"]))
            document.update(sources=sources, source=sources[-1]["source"], source_on=sources[-1]["on"])
        case public.CounterpartyMerged():
            document.update(merged_into=data["into"], archived=True)
        case public.DuplicateAbsorbed():
            document["merged"] = [*document.get("merged", []), data["merged"]]
    return _finished(document, fact)


def _finished(document: Document, fact: Fact[Any]) -> Document:
    """The fields every card derives from its others."""
    document["name_key"] = name_key(str(document["name"]))
    relations = document.get("relations", ())
    for relation, flag in _RELATION_FLAGS:
        document[flag] = relation in relations
    document["updated_at"] = fact.envelope.time.isoformat()
    return document


def _card(fact: Fact[Any]) -> str:
    return str(fact.data["counterparty_id"])


def _lookups(cid: str, versions: Sequence[Document | None], collection: Callable[[str], str]) -> list[Change]:
    """The lookups of a card, from the card before and after a batch."""
    before, after = versions[0], versions[-1]
    if after is None:  # cards are never deleted
        return []
    return _lookup_changes(collection(KEYS), cid, before, after, int(after["_version"]))


class CounterpartiesView(View):
    """Projection of ``crm.contacts.counterparty.v1`` into ``counterparties`` and ``counterparty_keys``."""

    name = "counterparties"
    # 3: relations, details, contact information, properties, categories, sources, lookups; 4: key_name;
    # 5: a lookup that goes is deleted at the version of that change, so one that comes back is kept;
    # 6: tax ids also without their country prefix (taxnum), IDN e-mails also in Unicode (emailu);
    # 7: lookups have one index, (field, key_name), for exact keys too (see with_key())
    version = 7
    topics: Sequence[str] = (public.COUNTERPARTY_TOPIC,)
    collections: Mapping[str, Sequence[Index]] = {
        COLLECTION: (
            Index(("name_key",)),
            Index(("archived", "name_key")),
            Index(("access_group", "name_key")),
            Index(("main_manager", "name_key")),
            Index(("group", "name_key")),
            Index(("archived", "registered_at")),
            Index(("head_counterparty_id",)),
        ),
        # No index on counterparty_id: no query finds lookups by their card (a card's lookups that go
        # are worked out from its versions), and a rebuild spent 0.19 s of ~1.2 s of indexing on it.
        # One index: an exact key is a prefix of key_name too (with_key()). A second one on (field, key,
        # name_key) cost 37 % of the view's SQLite writes at 300,000 counterparties: each lookup is
        # a random insert into each index (bench README, fifth session).
        KEYS: (Index(("field", "key_name")),),
    }
    contracts = public.EVENT_TYPES
    handlers: Mapping[str, Sequence[On]] = {
        event_type: (On(COLLECTION, _card, _registered if event_type == _REGISTERED else _updated),)
        for event_type in public.EVENT_TYPES
    }
    derived: Mapping[str, Derive] = {COLLECTION: _lookups}


def _lookup_changes(target: str, cid: str, before: Document | None, after: Document, version: int) -> list[Change]:
    new_keys = lookup_keys(after)
    name = after["name_key"]
    get = after.get
    copied = [get(f) for f in FILTERS]
    if before is None:
        old_keys: set[tuple[str, str]] = set()
        rewrite = new_keys
    else:
        old_keys = lookup_keys(before)
        before_get = before.get
        same = before_get("name_key") == name and all(before_get(f) == c for f, c in zip(FILTERS, copied, strict=True))
        rewrite = new_keys - old_keys if same else new_keys
    # Deleted at this version: the lookups going were written at older ones, and one that comes back
    # later is written at a newer one (a tombstone at version + 1 would keep it out).
    changes: list[Change] = [Delete(target, _key_id(cid, f, k), version) for f, k in old_keys - new_keys]
    # Every lookup of the card has the same fields in the same order: each is a copy of one template
    # (a dict copy is several times cheaper than building the dict), with its own four set.
    template: Document = {"_id": None, "field": None, "key": None, "key_name": None, "_version": version}
    template.update(counterparty_id=cid, name_key=name)
    template.update(zip(FILTERS, copied, strict=True))
    suffix = f"{KEY_NAME_SEPARATOR}{name}"
    for field, key in sorted(rewrite):
        document = template.copy()
        document["_id"] = f"{cid}|{field}|{key}"
        document["field"] = field
        document["key"] = key
        document["key_name"] = f"{key}{suffix}"
        changes.append(Put(target, document))
    return changes


def _key_id(cid: str, field: str, key: str) -> str:
    return f"{cid}|{field}|{key}"
