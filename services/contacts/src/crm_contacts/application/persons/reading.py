"""Reading a person's events: opened with the person's key, or shown as erased without it."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from crm_contacts.application.keys import PersonKeys
from crm_contacts.domain import person as pe
from crm_shared.events import DomainEvent, new_record_id
from crm_shared.eventstore import RecordedEvent

_ID_NAMESPACE = uuid.UUID("6f1c9a0e-52d4-4e3b-9a7f-3c8e1d2b4a90")


def new_person_id(idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the idempotency key so a retried registration finds itself."""
    return new_record_id(_ID_NAMESPACE, "register-person", idempotency_key)


def person_id_of(stream: str) -> str:
    """The person whose stream this is."""
    return stream.removeprefix("person-")


def has_erasure(events: Iterable[RecordedEvent]) -> bool:
    return any(e.type == pe.ERASED for e in events)


def decode(recorded: RecordedEvent, key: bytes | None) -> tuple[DomainEvent, list[str]]:
    """A stored person event with its personal fields opened (None and listed when erased)."""
    data, erased = pe.open_data(recorded.data, key, person_id_of(recorded.stream))
    return pe.catalog.decode(dataclasses.replace(recorded, data=data)), erased


def fold_open(events: Sequence[RecordedEvent], key: bytes | None) -> pe.State:
    """The person after ``events``, personal fields opened with ``key`` (None when erased)."""
    state: pe.State = None
    for recorded in events:
        state = pe.evolve(state, decode(recorded, key)[0])
    return state


async def reading_key(keys: PersonKeys, person_id: str, events: Sequence[RecordedEvent]) -> bytes | None:
    """The key to open the person's events with: none once the stream records an erasure, even if a
    restored backup brought the key back."""
    if not events or has_erasure(events):
        return None
    return await keys.key_of(person_id)


def present(fields: Mapping[str, Any], person_id: str, version: int, links: list[dict[str, Any]]) -> dict[str, Any]:
    """The card as the API shows it, from a view document or a state (personal fields opened)."""
    names = (fields.get("first_name"), fields.get("middle_name"), fields.get("last_name"))
    return {
        "id": person_id,
        "first_name": names[0],
        "middle_name": names[1],
        "last_name": names[2],
        "display_name": pe.display_name(*names),
        "birth_date": fields.get("birth_date"),
        "birthday_reminder_days": fields.get("birthday_reminder_days"),
        "gender": fields.get("gender"),
        "description": fields.get("description"),
        "contact_info": [
            {k: c.get(k) for k in ("kind", "type", "value", "main", "comment")} for c in fields.get("contact_info", [])
        ],
        "private": bool(fields.get("private")),
        "owner": fields.get("owner"),
        "links": links,
        "properties": dict(fields.get("properties") or {}),
        "categories": list(fields.get("categories") or []),
        "registered_at": fields.get("registered_at"),
        "erased": bool(fields.get("erased")),
        "erased_at": fields.get("erased_at"),
        "version": version,
    }


def history_entry(recorded: RecordedEvent, changes: dict[str, Any], erased: list[str]) -> dict[str, Any]:
    actor = recorded.metadata.get("actor")
    return {
        "version": recorded.stream_version,
        "at": recorded.recorded_at,
        "event": recorded.type.removeprefix("contacts."),
        "actor": None if actor is None else str(actor),
        "changes": changes,
        "erased_fields": erased,
    }
