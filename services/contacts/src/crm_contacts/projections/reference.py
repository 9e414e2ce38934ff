"""The reference-data view: one document per entry, ``_id`` ``<catalog>:<code>``, with the catalog, code,
name, the names by language, each attribute as a field of its own, and ``retired``; listed by name within a catalog."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm_contacts.domain.reference import SCHEMAS, ReferenceEntry
from crm_shared.contracts.contacts import reference as public
from crm_shared.projections import Fact, On, View
from crm_shared.readstore import Document, Index

COLLECTION = "reference"


def name_key(name: str) -> str:
    """The sort form of a name: case-folded, single-spaced."""
    return " ".join(name.casefold().split())


def entry_of(doc: Document) -> ReferenceEntry:
    """The entry a view document holds."""
    catalog = str(doc["catalog"])
    attributes = {a.name: doc.get(a.name) for a in SCHEMAS.get(catalog, ())}
    names = dict(doc.get("names") or {})
    return ReferenceEntry(catalog, str(doc["code"]), str(doc["name"]), attributes, bool(doc.get("retired")), names)


def _entry_id(fact: Fact[Any]) -> str:
    return f"{fact.data['catalog']}:{fact.data['code']}"


def _defined(before: Document | None, fact: Fact[Any]) -> Document | None:
    """Defined creates the document; Changed replaces name and attributes."""
    if before is None and fact.envelope.type != _DEFINED:
        return None  # the definition was not seen yet: its redelivery will bring all fields
    data = fact.data
    document: Document = {
        "catalog": data["catalog"],
        "code": data["code"],
        "name": data["name"],
        "names": data.get("names") or {},
        **data["attributes"],
        "retired": fact.envelope.type != _DEFINED and bool(before and before.get("retired")),
    }
    return _finished(document, fact)


def _retired(before: Document | None, fact: Fact[Any]) -> Document | None:
    """Retired and Restored flip ``retired``."""
    if before is None:
        return None
    before["retired"] = fact.envelope.type == "crm.contacts.ReferenceEntryRetired"
    return _finished(before, fact)


def _finished(document: Document, fact: Fact[Any]) -> Document:
    document["name_key"] = name_key(str(document["name"]))
    document["updated_at"] = fact.envelope.time.isoformat()
    return document


_DEFINED = "crm.contacts.ReferenceEntryDefined"


class ReferenceView(View):
    """Projection of ``crm.contacts.reference.v1`` into the ``reference`` collection."""

    name = "reference"
    version = 2
    topics: Sequence[str] = (public.TOPIC,)
    collections: Mapping[str, Sequence[Index]] = {
        COLLECTION: (Index(("catalog", "name_key")), Index(("catalog", "retired", "name_key"))),
    }
    contracts = public.EVENT_TYPES
    handlers: Mapping[str, Sequence[On]] = {
        _DEFINED: (On(COLLECTION, _entry_id, _defined),),
        "crm.contacts.ReferenceEntryChanged": (On(COLLECTION, _entry_id, _defined),),
        "crm.contacts.ReferenceEntryRetired": (On(COLLECTION, _entry_id, _retired),),
        "crm.contacts.ReferenceEntryRestored": (On(COLLECTION, _entry_id, _retired),),
    }
