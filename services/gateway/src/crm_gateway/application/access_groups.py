"""Access-group commands (through the kernel command path) and the check that grants name groups of
the catalogue.

Who may change the catalogue is checked by the routes (administrators); every change records its
actor and client address in the event metadata, so the audit trail shows it like any grant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from crm_gateway.application.users import Actor
from crm_gateway.domain import access_group as g
from crm_shared.commands import CommandHandler, CommandResult, Decider, Loaded
from crm_shared.contracts.identity.access_group import DEFAULT_CODE
from crm_shared.errors import DomainError
from crm_shared.eventstore import EventStore, WrongExpectedVersion
from crm_shared.identity import Caller

Result = CommandResult[g.AccessGroup]

DECIDER: Decider[g.Command, g.AccessGroup] = Decider(
    name="access group",
    catalog=g.catalog,
    stream=lambda command: g.stream_of(command.code),
    decide=g.decide,
    evolve=g.evolve,
)

DEFAULT_NAMES = {DEFAULT_CODE: "General"}


class AccessGroupCommands(CommandHandler[g.Command, g.AccessGroup]):
    """Defines, renames, retires and restores access groups in the gateway's event store."""

    def __init__(
        self,
        store: EventStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        after_append: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(store, DECIDER, clock)
        self._after_append = after_append

    async def after(
        self, command: g.Command, loaded: Loaded[g.AccessGroup], state: g.AccessGroup, caller: Caller
    ) -> None:
        # Brings the views up to date after each change, so this process reads its own writes.
        if self._after_append is not None:
            await self._after_append()

    async def apply(self, command: g.Command, actor: Actor, *, if_match: int | None = None) -> Result:
        """Decide on the group's stream and append (409 on a concurrent change, 412 on a stale ``if_match``)."""
        return await self.handle(command, actor.caller(), if_match=if_match, metadata=actor.metadata())

    async def get(self, code: str) -> tuple[g.AccessGroup, int] | None:
        """A group and its stream version, or None."""
        loaded = await self.load(g.stream_of(code))
        return None if loaded.state is None or loaded.version is None else (loaded.state, loaded.version)

    async def seed(self, granted: Iterable[str], actor: Actor) -> None:
        """Define ``general`` and adopt every group already granted (idempotent, safe beside another
        process doing the same: a concurrent definition is a conflict that means it is there)."""
        wanted: list[g.Command] = [g.DefineGroup(DEFAULT_CODE, DEFAULT_NAMES[DEFAULT_CODE])]
        wanted += [g.AdoptGroup(code) for code in sorted(set(granted) - {DEFAULT_CODE})]
        for command in wanted:
            if await self.get(command.code) is not None:
                continue
            try:
                await self.apply(command, actor)
            except WrongExpectedVersion:
                continue
            except DomainError:
                continue  # a code no grant could have had: nothing to keep working

    async def require_active(self, groups: Iterable[str], *, field: str = "groups", kept: Iterable[str] = ()) -> None:
        """Every group exists in the catalogue and is not retired (a retired one in ``kept``, already
        granted, may stay); else 422 naming ``field`` and the first group refused."""
        allowed_retired = set(kept)
        for code in sorted(set(groups)):
            found = await self.get(code)
            if found is None:
                raise DomainError(f"no access group {code!r}", field=field)
            if found[0].retired and code not in allowed_retired:
                raise DomainError(f"the access group {code!r} is retired", field=field)
