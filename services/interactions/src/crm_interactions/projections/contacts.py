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
from crm_shared.projections import Fact, On, View
from crm_shared.readstore import Document, Index

COUNTERPARTIES = "counterparties"
SOURCES = "sources"
PERSONS = "persons"
_PREFIX = "crm.contacts."


Build = Callable[[Document | None, str, dict[str, Any]], Document | None]


def _on(collection: str, field: str, build: Build) -> On:
    """The effect of one topic's events on its collection: ``build`` from the short event type."""

    def apply(before: Document | None, fact: Fact[Any]) -> Document | None:
        document = build(before, fact.envelope.type.removeprefix(_PREFIX), fact.data)
        if document is not None:
            document["updated_at"] = fact.envelope.time.isoformat()
        return document

    return On(collection, lambda fact: str(fact.data[field]), apply)


def _sources_only(on: On) -> On:
    """``on`` for the entries of the ``sources`` catalog only."""
    return On(on.collection, lambda fact: on.key(fact) if fact.data.get("catalog") == "sources" else None, on.apply)


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
        return {"owner": data["owner"], "private": data["private"], "erased": False, "counterparty_ids": []}
    if doc is None:
        return None
    if short == "PersonPrivacyChanged":
        doc["private"] = data["private"]
        return doc
    if short == "PersonErased":
        doc["erased"] = True
        return doc
    linked = list(doc.get("counterparty_ids", []))
    if short == "PersonLinkedToCounterparty" and data["counterparty_id"] not in linked:
        doc["counterparty_ids"] = [*linked, data["counterparty_id"]]
        return doc
    if short == "PersonUnlinkedFromCounterparty" and data["counterparty_id"] in linked:
        doc["counterparty_ids"] = [c for c in linked if c != data["counterparty_id"]]
        return doc
    return None


class ContactsView(View):
    """Projection of contacts' public topics into ``counterparties``, ``sources`` and ``persons``."""

    name = "contacts"
    version = 1
    topics: Sequence[str] = (public.COUNTERPARTY_TOPIC, reference.TOPIC, person.TOPIC)
    # The home page lists a manager's counterparties (an index added later is built on the next start).
    collections: Mapping[str, Sequence[Index]] = {
        COUNTERPARTIES: (Index(("main_manager",)),),
        SOURCES: (),
        PERSONS: (),
    }
    contracts = public.EVENT_TYPES
    tracks_streams = False  # contacts' events: positions of this service's log never point at them
    handlers: Mapping[str, Sequence[On]] = {
        **{t: (_on(COUNTERPARTIES, "counterparty_id", _counterparty),) for t in public.counterparty.EVENT_TYPES},
        **{t: (_sources_only(_on(SOURCES, "code", _source)),) for t in reference.EVENT_TYPES},
        **{t: (_on(PERSONS, "person_id", _person),) for t in person.EVENT_TYPES},
    }
