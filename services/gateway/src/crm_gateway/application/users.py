"""User commands: load the stream, decide on that state, append with that version.

Every append records in its metadata who did it (``actor``) and from where (``ip``), so the
audit trail can say who granted what, when. Username uniqueness and API-key ownership are kept
by reservation streams appended with NO_STREAM: the first append wins, the others get a conflict.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_gateway.domain import user as u
from crm_shared.commands import CommandHandler, CommandResult, Decider, Loaded
from crm_shared.errors import AlreadyExists, NotFound
from crm_shared.events import DomainEvent, new_uuid
from crm_shared.eventstore import (
    ANY,
    NO_STREAM,
    AppendResult,
    EventStore,
    ExpectedVersion,
    NewEvent,
    WrongExpectedVersion,
)
from crm_shared.identity import Caller, Role
from crm_shared.observability import current_traceparent

ORPHAN_AFTER = timedelta(minutes=5)
"""Age after which a username reservation without its user is taken over (wall-clock time)."""

SYSTEM_ACTOR = "system"
"""The actor of what the gateway does by itself (the initial administrator, lock-outs)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who causes a change, and from which client address."""

    id: str
    ip: str | None = None

    def caller(self) -> Caller:
        """The actor as the kernel's command path sees it (the routes checked the roles already)."""
        return Caller(self.id, frozenset(), frozenset())

    def metadata(self) -> dict[str, Any]:
        """Event metadata naming the actor (and the trace, for following a command)."""
        return {"actor": self.id, **({"ip": self.ip} if self.ip else {}), **current_traceparent()}


SYSTEM = Actor(SYSTEM_ACTOR)


Result = CommandResult[u.User]

DECIDER: Decider[u.Command, u.User] = Decider(
    name="user",
    catalog=u.catalog,
    stream=lambda command: u.stream_of(command.user_id),
    decide=u.decide,
    evolve=u.evolve,
)


class UserCommands(CommandHandler[u.Command, u.User]):
    """Handles user commands against the gateway's event store (through the kernel command path; who
    may do what is checked by the routes, before a command is made)."""

    def __init__(
        self,
        store: EventStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        after_append: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(store, DECIDER, clock)
        self._store = store
        # Brings the views up to date after each change, so this process reads its own writes.
        self._after_append = after_append

    async def _append(self, stream: str, events: list[NewEvent], expected: ExpectedVersion) -> AppendResult:
        result = await self._store.append(stream, events, expected)
        if self._after_append is not None:
            await self._after_append()
        return result

    async def after(self, command: u.Command, loaded: Loaded[u.User], state: u.User, caller: Caller) -> None:
        if self._after_append is not None:
            await self._after_append()

    async def apply(self, command: u.Command, actor: Actor, *, if_match: int | None = None) -> Result:
        """Decide on the loaded state and append with its version (409 on a concurrent change, 412 on a
        stale ``if_match``), recording the actor and the client address."""
        return await self.handle(command, actor.caller(), if_match=if_match, metadata=actor.metadata())

    async def get(self, user_id: str) -> tuple[u.User, int] | None:
        """A user and its stream version, or None."""
        loaded = await self.load(u.stream_of(user_id))
        return None if loaded.state is None or loaded.version is None else (loaded.state, loaded.version)

    async def user_id_of(self, username: str) -> str | None:
        """The id of the user holding ``username`` (any case), or None."""
        return await self._reservation(u.username_stream(username))

    async def owner_of_key(self, key_id: str) -> str | None:
        """The id of the user who owns API key ``key_id``, or None."""
        return await self._reservation(u.api_key_stream(key_id))

    async def _reservation(self, stream: str) -> str | None:
        events = await self._store.read_stream(stream)
        if not events:
            return None
        event = u.catalog.decode(events[-1])
        assert isinstance(event, u.UsernameReserved | u.ApiKeyReserved)
        return event.user_id

    async def create_user(
        self,
        *,
        username: str,
        name: str,
        password_hash: str,
        roles: Sequence[Role],
        groups: Sequence[str],
        language: u.Language,
        actor: Actor,
        user_id: str | None = None,
    ) -> Result:
        """Reserve the username, then create the user; 409 naming ``username`` when it is taken.

        A reservation whose user stream was never written (a crash or an outage between the two
        appends) is an orphan: once it is older than :data:`ORPHAN_AFTER` (so it cannot be a creation
        still in progress), a later creation takes it over, with the reservation's version as the
        expected one, so concurrent takers still cannot both win.
        """
        u.check_username(username)
        user_id = user_id or str(new_uuid())
        command = u.CreateUser(
            user_id=user_id,
            username=username,
            name=name,
            password_hash=password_hash,
            roles=frozenset(roles),
            groups=frozenset(groups),
            language=language,
            now=self.now(),
        )
        u.decide(command, None)  # validate before reserving, so a refused creation reserves nothing
        stream = u.username_stream(username)
        reservations = await self._store.read_stream(stream)
        version = reservations[-1].stream_version if reservations else None
        if reservations:
            owner = str(reservations[-1].data["user_id"])
            in_progress = datetime.now(UTC) - reservations[-1].recorded_at < ORPHAN_AFTER
            if in_progress or (await self.load(u.stream_of(owner))).state is not None:
                raise AlreadyExists("this username is taken", field="username")
        reserved = u.UsernameReserved(username=username, user_id=user_id)
        try:
            await self._store.append(
                stream,
                [u.catalog.encode(reserved, metadata=actor.metadata())],
                NO_STREAM if version is None else version,
            )
        except WrongExpectedVersion as exc:
            raise AlreadyExists("this username is taken", field="username") from exc
        return await self.apply(command, actor)

    async def issue_api_key(self, command: u.IssueApiKey, actor: Actor) -> Result:
        """Reserve the key id for its owner, then record the key in the owner's stream."""
        reserved = u.ApiKeyReserved(key_id=command.key_id, user_id=command.user_id)
        u.decide(command, (await self.load(u.stream_of(command.user_id))).state)  # refuse before reserving
        try:
            await self._store.append(
                u.api_key_stream(command.key_id), [u.catalog.encode(reserved, metadata=actor.metadata())], NO_STREAM
            )
        except WrongExpectedVersion as exc:
            raise AlreadyExists("this API key id is taken; retry") from exc
        return await self.apply(command, actor)

    async def record(self, event: DomainEvent, actor: Actor) -> int:
        """Append a sign-in event to the day's audit stream; returns its commit position."""
        result = await self._append(
            u.audit_stream(self.now()), [u.catalog.encode(event, metadata=actor.metadata())], ANY
        )
        return result.position


def require_user(found: tuple[u.User, int] | None, user_id: str) -> tuple[u.User, int]:
    """The user found, or :class:`NotFound`."""
    if found is None:
        raise NotFound(f"no user {user_id}")
    return found
