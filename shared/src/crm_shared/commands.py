"""The one command path every service uses: load, check, decide, append, answer.

A service describes an aggregate once as a :class:`Decider` (its stream, event catalog, ``decide``,
``evolve``) and handles its commands with a :class:`CommandHandler`. The handler does, in this order:

1. ``authorize`` — the caller's roles allow this command at all (before any read, so a caller without
   the permission learns nothing about the records);
2. load the stream and fold it (``open`` may fetch what decoding needs, e.g. a person's key);
3. ``visible`` — a record the caller may not see answers 404, exactly as one that does not exist;
4. a retried command (same ``Idempotency-Key``) answers its first result and appends nothing; the
   same key with another request (another fingerprint) is refused with 422;
5. ``If-Match`` must name the loaded version (412); on a record that does not exist it answers 404;
6. ``prepare`` — checks that need other data (references, reference codes), may complete the command;
7. ``decide``; nothing decided answers the current state (``unchanged``);
8. ``encode`` with deterministic event ids (from the idempotency key), the actor, the key and the
   trace in the metadata; ``append`` with the version the decision was made on (a concurrent change
   is :class:`WrongExpectedVersion`, 409) — services wrap ``append`` for work around it, such as a
   reservation taken before and released on failure;
9. ``after`` the append (e.g. deleting an erased person's key), then the state, version and position.

``guard`` wraps steps 6–8 in an async context (e.g. a lease that must be held while deciding).
Everything a service overrides is a named hook above; the order itself is never copied.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from crm_shared.errors import DomainError, NotFound, PreconditionFailed
from crm_shared.events import DomainEvent, EventCatalog, deterministic_event_id, end_of_earlier_command
from crm_shared.eventstore import NO_STREAM, AppendResult, EventStore, NewEvent, RecordedEvent
from crm_shared.identity import Caller
from crm_shared.observability import current_traceparent

C = TypeVar("C")
T = TypeVar("T")

_NO_GUARD: contextlib.AbstractAsyncContextManager[None] = contextlib.nullcontext()
"""The default guard: holds nothing (stateless, so one serves every command)."""

IDEMPOTENCY_KEY = "idempotency_key"
REQUEST_FINGERPRINT = "request_fingerprint"


@dataclass(frozen=True, slots=True)
class Decider(Generic[C, T]):
    """A pure aggregate: which stream a command addresses, and how commands become events and events a
    state (``None`` before the first event)."""

    name: str
    """What the aggregate is called in messages ("counterparty")."""
    catalog: EventCatalog
    stream: Callable[[C], str]
    decide: Callable[[C, T | None], Sequence[DomainEvent]]
    evolve: Callable[[T | None, DomainEvent], T | None]

    def fold(self, events: Sequence[DomainEvent], state: T | None = None) -> T | None:
        """The state after ``events``."""
        for event in events:
            state = self.evolve(state, event)
        return state


@dataclass(frozen=True, slots=True)
class CommandResult(Generic[T]):
    """The state after a command, its stream version (the ETag) and the commit position of its last
    event (for ``?min_position=``)."""

    state: T
    version: int
    position: int


@dataclass(slots=True)
class Loaded(Generic[T]):
    """A stream as loaded for one command: its events, the state folded from them, and whatever the
    handler's ``open`` hook fetched to decode them (e.g. a key)."""

    stream: str
    events: list[RecordedEvent]
    state: T | None
    opened: Any = None
    decoded: list[DomainEvent] = field(default_factory=list)

    @property
    def version(self) -> int | None:
        """The version of the stream's last event; None when the stream does not exist."""
        return self.events[-1].stream_version if self.events else None

    def current(self) -> CommandResult[T]:
        """The loaded state as a result (a command that changed nothing)."""
        assert self.state is not None and self.events
        return CommandResult(self.state, self.events[-1].stream_version, self.events[-1].position)


def fingerprint(request: Any) -> str:
    """A stable digest of a request, to tell a retried request from another one under the same key."""
    text = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class CommandHandler(Generic[C, T]):
    """Handles one aggregate's commands against an event store; see the module docstring."""

    def __init__(
        self,
        store: EventStore,
        decider: Decider[C, T],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.decider = decider
        self._clock = clock

    def now(self) -> datetime:
        """The service clock (injected in tests)."""
        return self._clock()

    # -- hooks ----------------------------------------------------------------------------------------

    async def authorize(self, command: C, caller: Caller) -> None:
        """Raise :class:`Forbidden` when the caller's roles do not allow ``command`` at all."""

    async def open(self, stream: str, events: Sequence[RecordedEvent]) -> Any:
        """What decoding the stream needs besides the events (default: nothing)."""
        return None

    def decode(self, recorded: RecordedEvent, opened: Any) -> DomainEvent:
        """A stored event as a domain event."""
        return self.decider.catalog.decode(recorded)

    async def visible(self, state: T, caller: Caller, command: C | None = None) -> bool:
        """Whether the caller may see the record (default: yes); ``command`` when one is handled."""
        return True

    async def prepare(self, command: C, loaded: Loaded[T], caller: Caller) -> C:
        """Checks that need other data; may return a completed command (raise DomainError to refuse)."""
        return command

    def creates(self, command: C) -> bool:
        """Whether ``command`` may start its record's stream (default: any may; the decider refuses
        the others). A handler that names its creating commands has every other command on a missing
        record answered 404 before :meth:`prepare` checks anything else, exactly as on a hidden one
        (ADR 9): otherwise a bad reference in the command would be refused (422) for a random id but
        not for a hidden one, and the difference would tell that the hidden one exists."""
        return True

    def guard(self, command: C, loaded: Loaded[T], caller: Caller) -> contextlib.AbstractAsyncContextManager[None]:
        """An async context held while preparing, deciding and appending (default: none)."""
        return _NO_GUARD

    async def unchanged(self, command: C, loaded: Loaded[T], caller: Caller) -> CommandResult[T]:
        """The answer when ``decide`` gave no events: the current state, or 404 when there is none."""
        if loaded.state is None:
            raise self.not_found(loaded.stream)
        return loaded.current()

    def encode(self, event: DomainEvent, loaded: Loaded[T], *, event_id: Any, metadata: Mapping[str, Any]) -> NewEvent:
        """A domain event ready to append."""
        return self.decider.catalog.encode(event, event_id=event_id, metadata=metadata)

    async def append(
        self, loaded: Loaded[T], events: Sequence[NewEvent], decided: Sequence[DomainEvent], caller: Caller
    ) -> AppendResult:
        """Append with the version the decision was made on; override to do work around it."""
        expected = NO_STREAM if loaded.version is None else loaded.version
        return await self.store.append(loaded.stream, events, expected)

    async def after(self, command: C, loaded: Loaded[T], state: T, caller: Caller) -> None:
        """Work after a successful append (default: none)."""

    def not_found(self, stream: str) -> NotFound:
        """The 404 of a record that does not exist or that the caller may not see (the same answer)."""
        return NotFound(f"{self.decider.name} {stream.split('-', 1)[-1]} does not exist")

    # -- the path -------------------------------------------------------------------------------------

    async def load(self, stream: str) -> Loaded[T]:
        """A stream, folded."""
        events = await self.store.read_stream(stream)
        opened = await self.open(stream, events) if events else None
        decoded = [self.decode(recorded, opened) for recorded in events]
        return Loaded(stream, events, self.decider.fold(decoded), opened, decoded)

    async def current(self, stream: str, caller: Caller) -> CommandResult[T] | None:
        """The record as its own stream has it now, if the caller may see it (else None, as for a
        record that does not exist): what a read by id answers while its view has not caught up yet,
        so a client that reads the ``Location`` of a record it just created finds it."""
        loaded = await self.load(stream)
        if loaded.state is None or not await self.visible(loaded.state, caller):
            return None
        return loaded.current()

    async def handle(
        self,
        command: C,
        caller: Caller,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        request: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        new_stream: bool = False,
    ) -> CommandResult[T]:
        """Decide and append; see the module docstring. ``request`` is the fingerprint of what was asked
        (e.g. :func:`fingerprint` of the body), so a key reused for another request is refused.

        ``new_stream``: the command's stream id was just made at random for it (a new record's
        UUID), so the stream cannot exist yet and is not read; the append still expects no stream, so
        were it there after all, the answer is a conflict, never an overwrite. Ignored with an
        ``idempotency_key`` (a retry must find its first result)."""
        await self.authorize(command, caller)
        stream = self.decider.stream(command)
        if new_stream and idempotency_key is None:
            loaded: Loaded[T] = Loaded(stream, [], None)
        else:
            loaded = await self.load(stream)
        if loaded.state is not None and not await self.visible(loaded.state, caller, command):
            # Not 403: a record outside the caller's access must not even be seen to exist.
            raise self.not_found(loaded.stream)
        if idempotency_key is not None:
            earlier = self._earlier_result(loaded, idempotency_key, request)
            if earlier is not None:
                return earlier
        if if_match is not None and if_match != loaded.version:
            if loaded.state is None:
                raise self.not_found(loaded.stream)
            raise PreconditionFailed(if_match, loaded.version)
        if loaded.state is None and not self.creates(command):
            raise self.not_found(loaded.stream)

        async with self.guard(command, loaded, caller):
            command = await self.prepare(command, loaded, caller)
            decided = list(self.decider.decide(command, loaded.state))
            if not decided:
                return await self.unchanged(command, loaded, caller)
            meta = {
                **current_traceparent(),
                **(metadata or {}),
                "actor": caller.user_id,
                **({IDEMPOTENCY_KEY: idempotency_key} if idempotency_key else {}),
                **({REQUEST_FINGERPRINT: request} if idempotency_key and request else {}),
            }
            new_events = [
                self.encode(
                    event,
                    loaded,
                    event_id=None
                    if idempotency_key is None
                    else deterministic_event_id(f"{loaded.stream}:{idempotency_key}", i),
                    metadata=meta,
                )
                for i, event in enumerate(decided)
            ]
            result = await self.append(loaded, new_events, decided, caller)
        state = self.decider.fold(decided, loaded.state)
        assert state is not None
        await self.after(command, loaded, state, caller)
        return CommandResult(state, result.stream_version, result.position)

    def _earlier_result(self, loaded: Loaded[T], key: str, request: str | None) -> CommandResult[T] | None:
        last = end_of_earlier_command(loaded.events, loaded.stream, key)
        if last is None:
            return None
        first = loaded.events[last].metadata.get(REQUEST_FINGERPRINT)
        if request is not None and first is not None and first != request:
            raise DomainError(
                "this Idempotency-Key was already used for another request; use a new key",
                field="Idempotency-Key",
            )
        state = self.decider.fold(loaded.decoded[: last + 1])
        assert state is not None
        return CommandResult(state, loaded.events[last].stream_version, loaded.events[last].position)
