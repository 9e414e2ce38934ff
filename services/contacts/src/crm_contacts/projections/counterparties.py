"""The counterparty list and card: one document per counterparty, plus a lookup collection that makes
multi-valued fields searchable (words of the name, tax ids, e-mails, phones, managers, categories,
property values) with the same filters as the list.

A lookup document is ``<counterparty>|<field>|<key>`` and copies the counterparty's list filters
(access group, archived, managers, group, relations), so "category vip in group wholesale, my access
groups" is one indexed query. Lookups are rewritten only when something they hold changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crm_contacts.domain.counterparty import normalise_tax_id
from crm_shared.contracts import contacts as public
from crm_shared.integration import Envelope
from crm_shared.projections import GetDocument
from crm_shared.readstore import Change, Delete, Document, Index, Put

COLLECTION = "counterparties"
KEYS = "counterparty_keys"
FILTERS = ("access_group", "archived", "main_manager", "group", "region", "is_buyer", "is_supplier", "is_other")
"""Fields of the card that every lookup document copies, so lookups filter like the list."""
MIN_WORD = 2
KEY_NAME_SEPARATOR = "\x1f"
"""Joins a lookup's key and the name in ``key_name``: prefix searches match the key and sort by key,
then name."""

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
}
"""Events that set one card field to the event's field of the same (or the given) name."""
_CARD_FIELD = {"entries": "contact_info", "values": "properties"}


def name_key(name: str) -> str:
    """The search form of a name: case-folded, single-spaced (Cyrillic and Latin alike)."""
    return " ".join(name.casefold().split())


def words_of(name: str) -> set[str]:
    """The searchable words of a name: case-folded, split on spaces and punctuation."""
    cleaned = "".join(ch if ch.isalnum() else " " for ch in name.casefold())
    return {w for w in cleaned.split() if len(w) >= MIN_WORD}


def lookup_keys(doc: Document) -> set[tuple[str, str]]:
    """The (field, key) pairs under which a counterparty is found."""
    keys = {("word", w) for w in words_of(str(doc.get("name", "")))}
    if doc.get("tax_id"):
        keys.add(("tax", normalise_tax_id(str(doc["tax_id"]))))
    if doc.get("vat_id"):
        keys.add(("tax", normalise_tax_id(str(doc["vat_id"]))))
    for entry in doc.get("contact_info", ()):
        if entry.get("type") in ("email", "phone"):
            keys.add((str(entry["type"]), str(entry["key"])))
    keys.update(("category", str(c)) for c in doc.get("categories", ()))
    keys.update(("manager", str(m)) for m in doc.get("managers", ()))
    keys.update((f"property:{code}", property_key(v)) for code, v in (doc.get("properties") or {}).items())
    return keys


def property_key(value: Any) -> str:
    """The form under which a property value is filtered (``true``/``false``, numbers, text as is)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


class CounterpartiesView:
    """Projection of ``crm.contacts.counterparty.v1`` into ``counterparties`` and ``counterparty_keys``."""

    name = "counterparties"
    version = 4  # 3: relations, details, contact information, properties, categories, sources, lookups; 4: key_name
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
        KEYS: (
            Index(("field", "key", "name_key")),
            Index(("field", "key_name")),
            Index(("counterparty_id",)),
        ),
    }

    def prefetch(self, events: Sequence[Envelope]) -> Mapping[str, Sequence[str]]:
        """The cards a batch reads: one per subject (the counterparty's id)."""
        return {COLLECTION: [e.subject for e in events]}

    async def changes(self, event: Envelope, get: GetDocument, collection: Callable[[str], str]) -> list[Change]:
        """Registered creates the card; every other event updates what it names, and the lookups follow."""
        target = collection(COLLECTION)
        contract = public.EVENT_TYPES.get(event.type)
        if contract is None:
            return []
        data = contract.model_validate(event.data).model_dump(mode="json")
        cid = str(data.pop("counterparty_id"))
        before = await get(target, cid)
        if before is not None and int(before["_version"]) >= event.stream_version:
            return []  # redelivered: applying it again could resurrect lookups removed since
        if event.type == "crm.contacts.CounterpartyRegistered":
            document = _registered(cid, data)
        elif before is None:
            return []  # the registration was not seen yet: its redelivery will bring all fields
        else:
            document = _updated(dict(before), event.type, data)
        document["_version"] = event.stream_version
        document["name_key"] = name_key(str(document["name"]))
        relations = set(document.get("relations", ()))
        for relation in ("buyer", "supplier", "other"):
            document[f"is_{relation}"] = relation in relations
        document["updated_at"] = event.time.isoformat()
        return [Put(target, document), *_lookup_changes(collection(KEYS), cid, before, document, event.stream_version)]


def _registered(cid: str, data: dict[str, Any]) -> Document:
    document = {"_id": cid, **data}
    document["relations"] = data.get("relations") or [data["kind"]]
    document.pop("kind", None)
    main = document["main_manager"]
    managers = list(document.get("managers") or [])
    document["managers"] = managers if main in managers else [main, *managers]
    document.update(archived=False, contact_info=[], properties={}, categories=[], sources=[], source=None)
    document.update(merged_into=None, merged=[])
    return document


def _updated(document: Document, event_type: str, data: dict[str, Any]) -> Document:
    short = event_type.removeprefix("crm.contacts.")
    if event_type in _FIELD_OF:
        source_field = _FIELD_OF[event_type]
        document[_CARD_FIELD.get(source_field, source_field)] = data[source_field]
    match short:
        case "CounterpartyKindChanged":
            document["relations"] = [data["kind"]]
        case "CounterpartyDetailsChanged":
            document.update(data["changes"])
        case "MainManagerAssigned" if data["main_manager"] not in document.get("managers", []):
            document["managers"] = [data["main_manager"], *document.get("managers", [])]
        case "CounterpartyArchived":
            document.update(archived=True, archive_reason=data.get("reason", ""))
        case "CounterpartyRestored":
            document.update(archived=False, archive_reason="")
        case "InformationSourceRecorded":
            kept = [s for s in document.get("sources", []) if s["on"] != data["on"]]
            sources = sorted([*kept, {"source": data["source"], "on": data["on"]}], key=lambda s: str(s["on"]))
            document.update(sources=sources, source=sources[-1]["source"], source_on=sources[-1]["on"])
        case "CounterpartyMerged":
            document.update(merged_into=data["into"], archived=True)
        case "DuplicateAbsorbed":
            document["merged"] = [*document.get("merged", []), data["merged"]]
    return document


def _lookup_changes(target: str, cid: str, before: Document | None, after: Document, version: int) -> list[Change]:
    old_keys = set() if before is None else lookup_keys(before)
    new_keys = lookup_keys(after)
    copied = {f: after.get(f) for f in FILTERS}
    same_copies = before is not None and all(before.get(f) == after.get(f) for f in FILTERS)
    same_name = before is not None and before.get("name_key") == after["name_key"]
    changes: list[Change] = [Delete(target, _key_id(cid, f, k), version + 1) for f, k in old_keys - new_keys]
    rewrite = new_keys if not (same_copies and same_name) else new_keys - old_keys
    changes.extend(
        Put(
            target,
            {
                "_id": _key_id(cid, field, key),
                "_version": version,
                "field": field,
                "key": key,
                "key_name": f"{key}{KEY_NAME_SEPARATOR}{after['name_key']}",
                "counterparty_id": cid,
                "name_key": after["name_key"],
                **copied,
            },
        )
        for field, key in sorted(rewrite)
    )
    return changes


def _key_id(cid: str, field: str, key: str) -> str:
    return f"{cid}|{field}|{key}"
