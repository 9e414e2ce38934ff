"""Time travel over one record: its state as of any past moment, and its change history.

Both read the record's own event stream (the log is the history) through the aggregate's command
handler, so they decode it and decide who sees it exactly as commands do: access follows the record
as it is now, so a record moved out of a caller's reach is out of it at every date too, and a record
the caller may not see answers as one that does not exist (None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from crm_shared.commands import CommandHandler, CommandResult, Loaded
from crm_shared.errors import Forbidden
from crm_shared.events import DomainEvent
from crm_shared.identity import Caller, Permission

C = TypeVar("C")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change: its version, when it was committed, by whom, which event, and what it set."""

    version: int
    at: datetime
    event: str
    actor: str | None
    changes: dict[str, Any]


def changed_fields(event: DomainEvent) -> dict[str, Any]:
    """What an event set: its fields as JSON (the default of :class:`History`)."""
    return event.model_dump(mode="json")


class History(Generic[C, T]):
    """Reads of one aggregate's past, for callers with the ``read`` permission."""

    def __init__(
        self,
        handler: CommandHandler[C, T],
        stream_of: Callable[[str], str],
        read: Permission,
        *,
        changes_of: Callable[[DomainEvent], dict[str, Any]] = changed_fields,
    ) -> None:
        self._handler = handler
        self._stream_of = stream_of
        self._read = read
        self._changes_of = changes_of

    async def _visible(self, record_id: str, caller: Caller) -> Loaded[T] | None:
        if not caller.can(self._read):
            raise Forbidden(f"your roles do not allow reading {self._handler.decider.name} records")
        loaded = await self._handler.load(self._stream_of(record_id))
        if loaded.state is None or not await self._handler.visible(loaded.state, caller):
            return None
        return loaded

    async def as_of(self, record_id: str, at: datetime, caller: Caller) -> CommandResult[T] | None:
        """The record as committed at ``at`` (None if it did not exist then or is not visible)."""
        loaded = await self._visible(record_id, caller)
        if loaded is None:
            return None
        shown = [i for i, recorded in enumerate(loaded.events) if recorded.recorded_at <= at]
        if not shown:
            return None
        last = loaded.events[shown[-1]]
        state = self._handler.decider.fold(loaded.decoded[: shown[-1] + 1])
        return None if state is None else CommandResult(state, last.stream_version, last.position)

    async def changes(self, record_id: str, caller: Caller) -> list[HistoryEntry] | None:
        """Every change, oldest first (None if the record is unknown or not visible)."""
        loaded = await self._visible(record_id, caller)
        if loaded is None:
            return None
        entries = []
        for recorded, event in zip(loaded.events, loaded.decoded, strict=True):
            actor = recorded.metadata.get("actor")
            entries.append(
                HistoryEntry(
                    version=recorded.stream_version,
                    at=recorded.recorded_at,
                    event=recorded.type.split(".", 1)[-1],
                    actor=None if actor is None else str(actor),
                    changes=self._changes_of(event),
                )
            )
        return entries
