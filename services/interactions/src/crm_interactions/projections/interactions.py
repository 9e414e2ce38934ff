"""The interaction lists and the calendar, built from ``crm.interactions.interaction.v1``.

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

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from crm_shared.contracts import interactions as public
from crm_shared.integration import Envelope
from crm_shared.projections import GetDocument
from crm_shared.readstore import Change, Document, Index, Put

COLLECTION = "interactions"
CALENDAR = "calendar"
_OPENED = ("crm.interactions.InteractionPlanned", "crm.interactions.InteractionRecorded")
_FACTS = tuple(public.interaction.InteractionFacts.model_fields)
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


class InteractionsView:
    """Projection of the interactions topic into ``interactions`` and ``calendar``."""

    name = "interactions"
    version = 1
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

    def prefetch(self, events: Sequence[Envelope]) -> Mapping[str, Sequence[str]]:
        """The interaction documents a batch reads: one per subject."""
        return {COLLECTION: [e.subject for e in events]}

    async def changes(self, event: Envelope, get: GetDocument, collection: Callable[[str], str]) -> list[Change]:
        """Planned and Recorded create the document; the others update what they carry."""
        contract = public.EVENT_TYPES.get(event.type)
        if contract is None:
            return []
        data = contract.model_validate(event.data).model_dump(mode="json")
        target = collection(COLLECTION)
        iid = str(data["interaction_id"])
        before = await get(target, iid)
        if before is not None and int(before["_version"]) >= event.stream_version:
            return []  # redelivered
        if event.type in _OPENED:
            document: Document = {
                "_id": iid,
                "outcome": "",
                "outcome_code": None,
                "completed_at": data["created_at"] if data["state"] == "completed" else None,
                "cancel_reason": "",
                "cancelled_at": None,
                "source_on": data["start"][:10] if data.get("source") else None,
                **data,
            }
        elif before is None:
            return []  # the first event was not seen yet: it comes first on its key
        else:
            document = _updated(dict(before), event.type, data)
        document["_version"] = event.stream_version
        document["start_key"] = start_key(document["start"])
        document["start_rkey"] = reverse_key(document["start_key"])
        document["updated_at"] = event.time.isoformat()
        return [Put(target, document), *_calendar(collection(CALENDAR), before, document, event.stream_version)]


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
