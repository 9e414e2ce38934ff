"""The change history of an interaction (the kernel's :class:`~crm_shared.history.History`), read
from its own stream under the command path's visibility rule, with what each event changed."""

from __future__ import annotations

from typing import Any

from crm_interactions.application.interactions.commands import InteractionCommands
from crm_interactions.domain import interaction as it
from crm_shared.events import DomainEvent
from crm_shared.history import History
from crm_shared.identity import Permission

_RESCHEDULED = ("start", "end", "reminder", "reminder_at", "previous_start")

InteractionHistory = History[it.Command, it.Interaction]


def _changes(event: DomainEvent) -> dict[str, Any]:
    fields = event.model_dump(mode="json")
    if isinstance(event, it.InteractionDetailsChanged):
        return dict(fields["changes"])
    if isinstance(event, it.InteractionRescheduled):
        return {k: fields[k] for k in _RESCHEDULED}
    if isinstance(event, it.InteractionPlanned | it.InteractionRecorded):
        return fields
    # The facts every event carries are not what it changed.
    return {k: v for k, v in fields.items() if k not in it.FACT_FIELDS}


def interaction_history(commands: InteractionCommands) -> InteractionHistory:
    """The history reads of interactions, for whoever may read them."""
    return History(commands, it.stream_of, Permission.INTERACTION_READ, changes_of=_changes)
