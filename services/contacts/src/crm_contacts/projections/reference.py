"""The reference-data view: one document per entry, ``_id`` ``<catalog>:<code>``, with the catalog, code,
name, each attribute as a field of its own, and ``retired``; listed by name within a catalog."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from crm_contacts.domain.reference import SCHEMAS, ReferenceEntry
from crm_shared.contracts.contacts import reference as public
from crm_shared.integration import Envelope
from crm_shared.projections import GetDocument
from crm_shared.readstore import Change, Document, Index, Put

COLLECTION = "reference"


def name_key(name: str) -> str:
    """The sort form of a name: case-folded, single-spaced."""
    return " ".join(name.casefold().split())


def entry_of(doc: Document) -> ReferenceEntry:
    """The entry a view document holds."""
    catalog = str(doc["catalog"])
    attributes = {a.name: doc.get(a.name) for a in SCHEMAS.get(catalog, ())}
    return ReferenceEntry(catalog, str(doc["code"]), str(doc["name"]), attributes, bool(doc.get("retired", False)))


class ReferenceView:
    """Projection of ``crm.contacts.reference.v1`` into the ``reference`` collection."""

    name = "reference"
    version = 1
    topics: Sequence[str] = (public.TOPIC,)
    collections: Mapping[str, Sequence[Index]] = {
        COLLECTION: (Index(("catalog", "name_key")), Index(("catalog", "retired", "name_key"))),
    }

    async def changes(self, event: Envelope, get: GetDocument, collection: Callable[[str], str]) -> list[Change]:
        """Defined creates the document; Changed replaces name and attributes; Retired and Restored flip
        ``retired``."""
        contract = public.EVENT_TYPES.get(event.type)
        if contract is None:
            return []  # another topic's event (a rebuild from the log sees every event)
        data = contract.model_validate(event.data).model_dump(mode="json")
        target = collection(COLLECTION)
        doc_id = f"{data['catalog']}:{data['code']}"
        current = None if event.type == "crm.contacts.ReferenceEntryDefined" else await get(target, doc_id)
        if current is None and event.type != "crm.contacts.ReferenceEntryDefined":
            return []  # the definition was not seen yet: its redelivery will bring all fields
        if event.type in ("crm.contacts.ReferenceEntryDefined", "crm.contacts.ReferenceEntryChanged"):
            document: Document = {
                "_id": doc_id,
                "catalog": data["catalog"],
                "code": data["code"],
                "name": data["name"],
                **data["attributes"],
                "retired": bool(current and current.get("retired")),
            }
        else:
            assert current is not None
            document = {**current, "retired": event.type == "crm.contacts.ReferenceEntryRetired"}
        document["_version"] = event.stream_version
        document["name_key"] = name_key(str(document["name"]))
        document["updated_at"] = event.time.isoformat()
        return [Put(target, document)]
