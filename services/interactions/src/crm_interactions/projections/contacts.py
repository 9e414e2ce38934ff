"""The local copy of what the contacts service publishes, so interactions work while contacts is down.

Fed from contacts' public topics through the bus only (those events are not in this service's log):

- ``counterparties``: name, relations, managers, access group, archived / merged, and the dated
  information sources of each counterparty (``crm.contacts.counterparty.v1``);
- ``sources``: the ``sources`` reference catalog with each source's ``actuality_days``
  (``crm.contacts.reference.v1``);
- ``persons``: which contact persons exist, their owner and privacy, and erasure
  (``crm.contacts.person.v1``; no personal data is published, so none is kept).

Each document is guarded by its source stream's version, so redeliveries are harmless. A new version
of this view starts a new consumer group, which reads the topics from their beginning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crm_shared.contracts import contacts as public
from crm_shared.contracts.contacts import person, reference
from crm_shared.integration import Envelope
from crm_shared.projections import GetDocument
from crm_shared.readstore import Change, Document, Index, Put

COUNTERPARTIES = "counterparties"
SOURCES = "sources"
PERSONS = "persons"
_PREFIX = "crm.contacts."


class ContactsView:
    """Projection of contacts' public topics into ``counterparties``, ``sources`` and ``persons``."""

    name = "contacts"
    version = 1
    topics: Sequence[str] = (public.COUNTERPARTY_TOPIC, reference.TOPIC, person.TOPIC)
    collections: Mapping[str, Sequence[Index]] = {COUNTERPARTIES: (), SOURCES: (), PERSONS: ()}

    def prefetch(self, events: Sequence[Envelope]) -> Mapping[str, Sequence[str]]:
        """The counterparty documents a batch reads."""
        return {COUNTERPARTIES: [e.subject for e in events if e.topic == public.COUNTERPARTY_TOPIC]}

    async def changes(self, event: Envelope, get: GetDocument, collection: Callable[[str], str]) -> list[Change]:
        """The document the event changes, if it is one this service uses."""
        contract = public.EVENT_TYPES.get(event.type)
        if contract is None:
            return []
        data = contract.model_validate(event.data).model_dump(mode="json")
        short = event.type.removeprefix(_PREFIX)
        if event.topic == public.COUNTERPARTY_TOPIC:
            target, doc_id = collection(COUNTERPARTIES), str(data["counterparty_id"])
            build: Callable[[Document | None, str, dict[str, Any]], Document | None] = _counterparty
        elif event.topic == reference.TOPIC:
            if data.get("catalog") != "sources":
                return []
            target, doc_id, build = collection(SOURCES), str(data["code"]), _source
        elif event.topic == person.TOPIC:
            target, doc_id, build = collection(PERSONS), str(data["person_id"]), _person
        else:
            return []
        before = await get(target, doc_id)
        if before is not None and int(before["_version"]) >= event.stream_version:
            return []  # redelivered
        document = build(None if before is None else dict(before), short, data)
        if document is None:
            return []
        document.update(_id=doc_id, _version=event.stream_version, updated_at=event.time.isoformat())
        return [Put(target, document)]


def _counterparty(doc: Document | None, short: str, data: dict[str, Any]) -> Document | None:
    if short == "CounterpartyRegistered":
        main = data["main_manager"]
        managers = list(data.get("managers") or [])
        return {
            "name": data["name"],
            "relations": data.get("relations") or [data["kind"]],
            "main_manager": main,
            "managers": managers if main in managers else [main, *managers],
            "access_group": data["access_group"],
            "archived": False,
            "merged_into": None,
            "sources": [],
        }
    if doc is None:
        return None  # the registration was not seen yet: it comes first on its key
    match short:
        case "CounterpartyRenamed":
            doc["name"] = data["name"]
        case "CounterpartyKindChanged":
            doc["relations"] = [data["kind"]]
        case "CounterpartyRelationsChanged":
            doc["relations"] = data["relations"]
        case "MainManagerAssigned":
            doc["main_manager"] = data["main_manager"]
            if data["main_manager"] not in doc["managers"]:
                doc["managers"] = [data["main_manager"], *doc["managers"]]
        case "ManagersChanged":
            doc["managers"] = data["managers"]
        case "CounterpartyAccessGroupChanged":
            doc["access_group"] = data["access_group"]
        case "CounterpartyArchived":
            doc["archived"] = True
        case "CounterpartyRestored":
            doc["archived"] = False
        case "CounterpartyMerged":
            doc.update(archived=True, merged_into=data["into"])
        case "InformationSourceRecorded":
            kept = [s for s in doc["sources"] if s["on"] != data["on"]]
            doc["sources"] = sorted([*kept, {"source": data["source"], "on": data["on"]}], key=lambda s: str(s["on"]))
        case _:
            return None
    return doc


def _source(doc: Document | None, short: str, data: dict[str, Any]) -> Document | None:
    if short in ("ReferenceEntryDefined", "ReferenceEntryChanged"):
        days = data.get("attributes", {}).get("actuality_days") or 0
        retired = bool(doc and doc.get("retired"))
        return {"code": data["code"], "name": data["name"], "actuality_days": int(days), "retired": retired}
    if doc is None:
        return None
    if short in ("ReferenceEntryRetired", "ReferenceEntryRestored"):
        doc["retired"] = short == "ReferenceEntryRetired"
        return doc
    return None


def _person(doc: Document | None, short: str, data: dict[str, Any]) -> Document | None:
    if short == "PersonRegistered":
        return {"owner": data["owner"], "private": data["private"], "erased": False}
    if doc is None:
        return None
    if short == "PersonPrivacyChanged":
        doc["private"] = data["private"]
        return doc
    if short == "PersonErased":
        doc["erased"] = True
        return doc
    return None
