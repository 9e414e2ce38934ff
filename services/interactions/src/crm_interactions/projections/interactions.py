"""The interaction lists and the calendar, built from this service's own events as stored (the
private translation ``publishing.stored``: the public events withhold the texts, ADR 15). Texts of an
interaction that names a contact person are kept sealed here, as in the events, and opened when read.

- ``interactions``: one document per interaction with every field, plus ``start_key`` (the start in
  UTC as 20 digits, which sort like the times) and ``start_rkey`` (the same digits inverted: newest
  first), so lists filter by equality and page by start in either order from an index;
- ``calendar``: one document per interaction and user taking part (the responsible user and each
  participant): ``<interaction>|<user>`` with the user, the state and ``start_key``. A user who no
  longer takes part keeps a document with state ``left`` (never deleted, so taking part again later
  is not blocked by a tombstone's version).

Names and access groups of counterparties are not copied here: queries read them from the local
contacts view, so a rename or a new access group in contacts shows at once on every interaction.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from crm_interactions.domain import interaction as it
from crm_shared.contracts import interactions as public
from crm_shared.projections import Derive, Fact, On, View
from crm_shared.readstore import Change, Document, Index, Put

COLLECTION = "interactions"
CALENDAR = "calendar"
_OPENED = ("crm.interactions.InteractionPlanned", "crm.interactions.InteractionRecorded")
_FACTS = tuple(sorted(it.FACT_FIELDS))
CONTRACTS = {"crm." + name: it.catalog.class_of(name) for name in it.catalog.names()}
"""What the view takes: the domain events as stored, under the public type they go by."""
_INVERT = str.maketrans("0123456789", "9876543210")
LEFT = "left"
"""Calendar state of a user who no longer takes part."""


def start_key(moment: datetime | str) -> str:
    """The sortable form of a time: UTC, ``YYYYMMDDhhmmssffffff``."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")


def reverse_key(key: str) -> str:
    """A :func:`start_key` whose order is reversed (newest first)."""
    return key.translate(_INVERT)


def _updated(document: Document, event_type: str, data: dict[str, Any]) -> Document:
    document.update({k: data[k] for k in _FACTS if k in data})
    match event_type.removeprefix("crm.interactions."):
        case "InteractionCompleted":
            document.update(
                outcome=data["outcome"], outcome_code=data["outcome_code"], completed_at=data["completed_at"]
            )
        case "InteractionCancelled":
            document.update(cancel_reason=data["reason"], cancelled_at=data["cancelled_at"])
        case "InteractionDetailsChanged":
            document.update(data["changes"])
        case "InformationSourceProvided":
            document.update(source=data["source"], source_on=data["on"])
    return document


def _attendees(document: Document | None) -> set[str]:
    if document is None:
        return set()
    return {str(document["responsible"]), *(str(p) for p in document.get("participants") or ())}


def _calendar(target: str, before: Document | None, after: Document, version: int) -> list[Change]:
    now, earlier = _attendees(after), _attendees(before)
    unchanged = (
        before is not None and before["state"] == after["state"] and before.get("start_key") == after["start_key"]
    )
    users = (now ^ earlier) if unchanged else (now | earlier)
    iid = str(after["_id"])
    return [
        Put(
            target,
            {
                "_id": f"{iid}|{user}",
                "_version": version,
                "interaction_id": iid,
                "user": user,
                "state": after["state"] if user in now else LEFT,
                "start_key": after["start_key"],
            },
        )
        for user in sorted(users)
    ]


def _interaction(fact: Fact[Any]) -> str:
    return str(fact.data["interaction_id"])


def _opened(before: Document | None, fact: Fact[Any]) -> Document:
    """Planned and Recorded create the document."""
    data = fact.data
    document: Document = {
        "outcome": "",
        "outcome_code": None,
        "completed_at": data["created_at"] if data["state"] == "completed" else None,
        "cancel_reason": "",
        "cancelled_at": None,
        "source_on": data["start"][:10] if data.get("source") else None,
        **data,
    }
    return _finished(document, fact)


def _changed(before: Document | None, fact: Fact[Any]) -> Document | None:
    """The others update what they carry."""
    if before is None:
        return None  # the first event was not seen yet: it comes first on its key
    return _finished(_updated(before, fact.envelope.type, fact.data), fact)


def _finished(document: Document, fact: Fact[Any]) -> Document:
    document["start_key"] = start_key(document["start"])
    document["start_rkey"] = reverse_key(document["start_key"])
    document["updated_at"] = fact.envelope.time.isoformat()
    return document


def _calendar_of(iid: str, versions: Sequence[Document | None], collection: Callable[[str], str]) -> list[Change]:
    """The calendar entries of an interaction, change by change through a batch (a user who took
    part only in between still keeps an entry, ``left``), each entry written once."""
    target = collection(CALENDAR)
    entries: dict[str, Change] = {}
    for before, after in itertools.pairwise(versions):
        if after is not None:
            for change in _calendar(target, before, after, int(after["_version"])):
                if isinstance(change, Put):
                    entries[str(change.document["_id"])] = change
    return list(entries.values())


class InteractionsView(View):
    """Projection of the interactions topic into ``interactions`` and ``calendar``."""

    name = "interactions"
    version = 2  # 2: from the events as stored, texts sealed (ADR 15)
    topics: Sequence[str] = (public.INTERACTION_TOPIC,)
    collections: Mapping[str, Sequence[Index]] = {
        COLLECTION: (
            Index(("start_key",)),
            Index(("start_rkey",)),
            Index(("counterparty_id", "start_key")),
            Index(("counterparty_id", "start_rkey")),
            Index(("counterparty_id", "state", "start_key")),
            Index(("counterparty_id", "state", "start_rkey")),
            Index(("counterparty_id", "kind")),
            Index(("contact_person_id", "start_key")),
            Index(("responsible", "start_key")),
            Index(("responsible", "state", "start_key")),
            Index(("state", "start_key")),
            Index(("kind", "start_key")),
            Index(("thread_id", "start_key")),
        ),
        CALENDAR: (Index(("user", "state", "start_key")),),
    }
    contracts = CONTRACTS
    handlers: Mapping[str, Sequence[On]] = {
        t: (On(COLLECTION, _interaction, _opened if t in _OPENED else _changed),) for t in CONTRACTS
    }
    derived: Mapping[str, Derive] = {COLLECTION: _calendar_of}
