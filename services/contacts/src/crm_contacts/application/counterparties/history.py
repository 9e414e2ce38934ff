"""Time travel over a counterparty (the kernel's :class:`~crm_shared.history.History`): its card as of
any past moment and its change history, from its own stream, under the command path's access rule."""

from __future__ import annotations

from typing import Any

from crm_contacts.application.counterparties.commands import CounterpartyCommands
from crm_contacts.domain import counterparty as cp
from crm_shared.events import DomainEvent
from crm_shared.history import History
from crm_shared.identity import Permission

CounterpartyHistory = History[cp.Command, cp.Counterparty]


def _changes(event: DomainEvent) -> dict[str, Any]:
    fields = event.model_dump(mode="json")
    fields.pop("counterparty_id", None)
    return fields["changes"] if isinstance(event, cp.CounterpartyDetailsChanged) else fields


def counterparty_history(commands: CounterpartyCommands) -> CounterpartyHistory:
    """The history reads of counterparties, for whoever may read them."""
    return History(commands, cp.stream_of, Permission.COUNTERPARTY_READ, changes_of=_changes)
