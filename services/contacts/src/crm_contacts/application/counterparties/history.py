"""Time travel over a counterparty: its card as of any past moment, and its change history.

Both read the counterparty's own event stream, not a view: the log is the history. Access follows
the counterparty's access group as it is now, so a record moved out of a manager's groups is out of
their reach at every date too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_contacts.domain import counterparty as cp
from crm_shared.errors import Forbidden
from crm_shared.eventstore import EventStore, RecordedEvent
from crm_shared.identity import Caller, Permission


@dataclass(frozen=True, slots=True)
class PastState:
    """The card as it was, with the version it had then."""

    state: cp.Counterparty
    version: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change: which, when, by whom, and the fields it set."""

    version: int
    at: datetime
    event: str
    actor: str | None
    changes: dict[str, Any]


class CounterpartyHistory:
    """Reads of a counterparty's past."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def _visible_events(self, counterparty_id: str, caller: Caller) -> list[RecordedEvent]:
        if not caller.can(Permission.COUNTERPARTY_READ):
            raise Forbidden("your roles do not allow reading counterparties")
        events = await self._store.read_stream(cp.stream_of(counterparty_id))
        state: cp.State = None
        for recorded in events:
            state = cp.evolve(state, cp.catalog.decode(recorded))
        if state is None or not caller.sees_group(state.access_group):
            return []
        return events

    async def as_of(self, counterparty_id: str, at: datetime, caller: Caller) -> PastState | None:
        """The card as committed at ``at`` (None if it did not exist then or is not visible)."""
        state: cp.State = None
        version = -1
        for recorded in await self._visible_events(counterparty_id, caller):
            if recorded.recorded_at > at:
                break
            state = cp.evolve(state, cp.catalog.decode(recorded))
            version = recorded.stream_version
        return None if state is None else PastState(state, version)

    async def changes(self, counterparty_id: str, caller: Caller) -> list[HistoryEntry] | None:
        """Every change, oldest first (None if the counterparty is unknown or not visible)."""
        events = await self._visible_events(counterparty_id, caller)
        if not events:
            return None
        entries = []
        for recorded in events:
            event = cp.catalog.decode(recorded)
            fields = event.model_dump(mode="json")
            fields.pop("counterparty_id", None)
            if isinstance(event, cp.CounterpartyDetailsChanged):
                fields = fields["changes"]
            actor = recorded.metadata.get("actor")
            entries.append(
                HistoryEntry(
                    version=recorded.stream_version,
                    at=recorded.recorded_at,
                    event=recorded.type.removeprefix("contacts."),
                    actor=None if actor is None else str(actor),
                    changes=fields,
                )
            )
        return entries
