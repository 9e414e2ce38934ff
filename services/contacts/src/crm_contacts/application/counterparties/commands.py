"""Counterparty commands through the kernel command path (crm_shared.commands).

What differs from the kernel's order is named in the hooks: the permissions (merging needs its own),
visibility by access group, the move to another access group, the checks that need other data
(``validate``: reference codes, the head counterparty), and the reservations of the tax id and the
external codes taken before the append and released when the append fails or the key is given up.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from crm_contacts.application.counterparties.uniqueness import EXTERNAL_CODE, TAX_ID, KeyRegistry
from crm_contacts.domain import counterparty as cp
from crm_shared.commands import CommandHandler, CommandResult, Decider, Loaded
from crm_shared.errors import Forbidden
from crm_shared.events import DomainEvent, new_record_id
from crm_shared.eventstore import AppendResult, EventStore, NewEvent
from crm_shared.identity import Caller, Permission

_ID_NAMESPACE = uuid.UUID("0d5f3a52-6c2e-4c1b-8f0e-2b7d9f4a1c63")

DECIDER: Decider[cp.Command, cp.Counterparty] = Decider(
    name="counterparty",
    catalog=cp.catalog,
    stream=lambda command: cp.stream_of(command.counterparty_id),
    decide=cp.decide,
    evolve=cp.evolve,
)

Result = CommandResult[cp.Counterparty]

Validate = Callable[[cp.Command, cp.State, Caller], Awaitable[None]]
"""Checks that need more than the stream: reference codes, the head counterparty (raises DomainError)."""


def _target_group(command: cp.Command) -> str | None:
    if isinstance(command, cp.RegisterCounterparty):
        return command.access_group
    if isinstance(command, cp.UpdateCounterparty):
        group = command.changes.get("access_group")
        return None if group is None else str(group)
    return None


HiddenDuplicate = Callable[[str, str, str, str, Caller], Awaitable[None]]
"""(counterparty, the hidden one, field, key, caller): a pair for the duplicate review (ADR 0013)."""


def _group_after(state: cp.State, decided: Sequence[DomainEvent]) -> str:
    """The access group the counterparty is in once ``decided`` is applied."""
    group = cp.DEFAULT_ACCESS_GROUP if state is None else state.access_group
    for event in decided:
        if isinstance(event, cp.CounterpartyRegistered | cp.CounterpartyAccessGroupChanged):
            group = event.access_group
    return group


def new_counterparty_id(idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the idempotency key so a retried registration finds itself."""
    return new_record_id(_ID_NAMESPACE, "register", idempotency_key)


class CounterpartyCommands(CommandHandler[cp.Command, cp.Counterparty]):
    """Handles counterparty commands against an event store."""

    def __init__(
        self,
        store: EventStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        unique_tax_id: bool = True,
        validate: Validate | None = None,
    ) -> None:
        super().__init__(store, DECIDER, clock)
        self.validate = validate
        self.tax_ids = KeyRegistry(store, TAX_ID, enabled=unique_tax_id)
        self.external_codes = KeyRegistry(store, EXTERNAL_CODE, enabled=True)
        self.on_hidden_duplicate: HiddenDuplicate | None = None
        """Told of a counterparty that carries a key (a tax id, an external code) of one its caller cannot
        see, for review."""

    async def load_state(self, counterparty_id: str) -> cp.State:
        """The current state."""
        return (await self.load(cp.stream_of(counterparty_id))).state

    async def authorize(self, command: cp.Command, caller: Caller) -> None:
        if not caller.can(Permission.COUNTERPARTY_WRITE):
            raise Forbidden("your roles do not allow changing counterparties")
        if isinstance(command, cp.MarkMerged | cp.Absorb) and not caller.can(Permission.COUNTERPARTY_MERGE):
            raise Forbidden("your roles do not allow merging counterparties")

    async def visible(self, state: cp.Counterparty, caller: Caller, command: cp.Command | None = None) -> bool:
        return caller.sees_group(state.access_group)

    def creates(self, command: cp.Command) -> bool:
        return isinstance(command, cp.RegisterCounterparty)

    async def prepare(self, command: cp.Command, loaded: Loaded[cp.Counterparty], caller: Caller) -> cp.Command:
        target_group = _target_group(command)
        if target_group is not None and not caller.sees_group(target_group):
            raise Forbidden(f"you have no access to the access group {target_group!r}", field="access_group")
        if self.validate is not None:
            await self.validate(command, loaded.state, caller)
        return command

    async def append(
        self,
        loaded: Loaded[cp.Counterparty],
        events: Sequence[NewEvent],
        decided: Sequence[DomainEvent],
        caller: Caller,
    ) -> AppendResult:
        """Reserve each tax id and external code claimed before appending; release them if the append
        fails, and release the old ones once really given up (not merely written differently)."""
        counterparty_id = loaded.stream.removeprefix(cp.stream_of(""))
        claimed = [e.tax_id for e in decided if isinstance(e, cp.CounterpartyRegistered | cp.CounterpartyTaxIdChanged)]
        claimed_ids = [t for t in claimed if t is not None]
        before = () if loaded.state is None else loaded.state.external_codes
        after = _codes_after(loaded.state, decided)
        wanted: list[tuple[KeyRegistry, str, str]] = [(self.tax_ids, t, "tax_id") for t in claimed_ids]
        wanted += [
            (self.external_codes, code.key, f"external_codes[{i}].code")
            for i, code in enumerate(after)
            if code not in before
        ]
        group = _group_after(loaded.state, decided)
        hidden_holders: list[tuple[KeyRegistry, str, str]] = []
        reserved: list[tuple[KeyRegistry, str]] = []
        try:
            for registry, key, field in wanted:
                holder = await registry.reserve(
                    key, counterparty_id, caller.user_id, access_group=group, sees=caller.sees_group, field=field
                )
                reserved.append((registry, key))
                if holder is not None:
                    hidden_holders.append((registry, holder, key))
            result = await super().append(loaded, events, decided, caller)
        except BaseException:
            for registry, key in reserved:
                await registry.release(key, counterparty_id, caller.user_id)
            raise
        if self.on_hidden_duplicate is not None:
            for registry, holder, key in hidden_holders:
                kind = registry.kind
                await self.on_hidden_duplicate(counterparty_id, holder, kind.review_field, kind.normalise(key), caller)
        old_tax_id = None if loaded.state is None else loaded.state.tax_id
        kept = {cp.normalise_tax_id(t) for t in claimed_ids}
        if claimed and old_tax_id is not None and cp.normalise_tax_id(old_tax_id) not in kept:
            await self.tax_ids.release(old_tax_id, counterparty_id, caller.user_id)
        for code in before:
            if code not in after:
                await self.external_codes.release(code.key, counterparty_id, caller.user_id)
        return result


def _codes_after(state: cp.State, decided: Sequence[DomainEvent]) -> tuple[cp.ExternalCode, ...]:
    """The external codes the counterparty carries once ``decided`` is applied."""
    codes = () if state is None else state.external_codes
    for event in decided:
        if isinstance(event, cp.CounterpartyExternalCodesChanged):
            codes = tuple(cp.ExternalCode(c["system"], c["code"]) for c in event.external_codes)
    return codes
