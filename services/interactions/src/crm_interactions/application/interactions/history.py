"""The change history of an interaction, read from its own event stream (the log is the history).
Access follows the visibility rule as it is now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_interactions.application.contacts import LocalContacts
from crm_interactions.application.interactions.commands import involvement
from crm_interactions.domain import interaction as it
from crm_shared.errors import Forbidden
from crm_shared.eventstore import EventStore
from crm_shared.identity import Caller, Permission

_RESCHEDULED = ("start", "end", "reminder", "reminder_at", "previous_start")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change: which, when, by whom, and the fields it set."""

    version: int
    at: datetime
    event: str
    actor: str | None
    changes: dict[str, Any]


class InteractionHistory:
    """Reads of an interaction's past."""

    def __init__(self, store: EventStore, contacts: LocalContacts) -> None:
        self._store = store
        self._contacts = contacts

    async def changes(self, interaction_id: str, caller: Caller) -> list[HistoryEntry] | None:
        """Every change, oldest first (None if the interaction is unknown or not visible)."""
        if not caller.can(Permission.INTERACTION_READ):
            raise Forbidden("your roles do not allow reading interactions")
        events = await self._store.read_stream(it.stream_of(interaction_id))
        decoded = [it.catalog.decode(e) for e in events]
        state: it.State = None
        for event in decoded:
            state = it.evolve(state, event)
        if state is None or not await self._contacts.visible(caller, involvement(state)):
            return None
        entries = []
        for recorded, event in zip(events, decoded, strict=True):
            fields = event.model_dump(mode="json")
            if isinstance(event, it.InteractionDetailsChanged):
                fields = fields["changes"]
            elif isinstance(event, it.InteractionRescheduled):
                fields = {k: fields[k] for k in _RESCHEDULED}
            elif not isinstance(event, it.InteractionPlanned | it.InteractionRecorded):
                # The facts every event carries are not what it changed.
                fields = {k: v for k, v in fields.items() if k not in it.FACT_FIELDS}
            actor = recorded.metadata.get("actor")
            entries.append(
                HistoryEntry(
                    version=recorded.stream_version,
                    at=recorded.recorded_at,
                    event=recorded.type.removeprefix("interactions."),
                    actor=None if actor is None else str(actor),
                    changes=fields,
                )
            )
        return entries
