"""The kernel command path (crm_shared.commands) on the embedded event store, with a small counter
aggregate: the order of the checks, idempotency, If-Match, visibility and the hooks around the append."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crm_shared.commands import CommandHandler, Decider, Loaded, fingerprint
from crm_shared.errors import DomainError, Forbidden, NotFound, PreconditionFailed
from crm_shared.events import DomainEvent, EventCatalog
from crm_shared.eventstore import AppendResult, NewEvent, WrongExpectedVersion
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.identity import Caller, Permission, caller_of

catalog = EventCatalog()


@catalog.register("test.Opened")
class Opened(DomainEvent):
    counter_id: str
    group: str


@catalog.register("test.Added")
class Added(DomainEvent):
    counter_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class Counter:
    id: str
    group: str
    total: int = 0


@dataclass(frozen=True, slots=True)
class Open:
    counter_id: str
    group: str = "general"


@dataclass(frozen=True, slots=True)
class Add:
    counter_id: str
    amount: int


Command = Open | Add


def decide(command: Command, state: Counter | None) -> list[DomainEvent]:
    if isinstance(command, Open):
        if state is not None:
            raise DomainError("already open", field="counter_id")
        return [Opened(counter_id=command.counter_id, group=command.group)]
    if state is None:
        raise NotFound(f"no counter {command.counter_id}")
    if command.amount < 0:
        raise DomainError("only additions", field="amount")
    return [] if command.amount == 0 else [Added(counter_id=command.counter_id, amount=command.amount)]


def evolve(state: Counter | None, event: DomainEvent) -> Counter | None:
    if isinstance(event, Opened):
        return Counter(event.counter_id, event.group)
    assert state is not None and isinstance(event, Added)
    return Counter(state.id, state.group, state.total + event.amount)


DECIDER: Decider[Command, Counter] = Decider(
    name="counter",
    catalog=catalog,
    stream=lambda command: f"counter-{command.counter_id}",
    decide=decide,
    evolve=evolve,
)


class Counters(CommandHandler[Command, Counter]):
    """Hooks as a service would write them, recording what ran."""

    def __init__(self, store: SqliteEventStore) -> None:
        super().__init__(store, DECIDER)
        self.calls: list[str] = []
        self.fail_append = False

    async def authorize(self, command: Command, caller: Caller) -> None:
        self.calls.append("authorize")
        if not caller.can(Permission.COUNTERPARTY_WRITE):
            raise Forbidden("no")

    async def visible(self, state: Counter, caller: Caller, command: Command | None = None) -> bool:
        return caller.sees_group(state.group)

    async def prepare(self, command: Command, loaded: Loaded[Counter], caller: Caller) -> Command:
        self.calls.append("prepare")
        return command

    def guard(
        self, command: Command, loaded: Loaded[Counter], caller: Caller
    ) -> contextlib.AbstractAsyncContextManager[None]:
        @contextlib.asynccontextmanager
        async def held() -> AsyncIterator[None]:
            self.calls.append("guard in")
            try:
                yield
            finally:
                self.calls.append("guard out")

        return held()

    async def append(
        self, loaded: Loaded[Counter], events: Sequence[NewEvent], decided: Sequence[DomainEvent], caller: Caller
    ) -> AppendResult:
        self.calls.append("append")
        if self.fail_append:
            raise RuntimeError("the store went away")
        return await super().append(loaded, events, decided, caller)

    async def after(self, command: Command, loaded: Loaded[Counter], state: Counter, caller: Caller) -> None:
        self.calls.append("after")


WRITER = caller_of("ana", ["sales_manager"], ["general"])
OTHER_GROUP = caller_of("boris", ["sales_manager"], ["north"])
READER = caller_of("vera", ["read_only"], ["general"])


@pytest.fixture
async def counters(tmp_path: Path) -> AsyncIterator[Counters]:
    store = await SqliteEventStore.open(tmp_path / "events.db")
    try:
        yield Counters(store)
    finally:
        await store.close()


async def test_a_command_runs_the_hooks_in_order_and_answers_state_version_and_position(counters: Counters) -> None:
    opened = await counters.handle(Open("c1"), WRITER)
    added = await counters.handle(Add("c1", 5), WRITER)
    assert (opened.version, added.version) == (0, 1) and added.position > opened.position
    assert added.state == Counter("c1", "general", 5)
    assert counters.calls[-6:] == ["authorize", "guard in", "prepare", "append", "guard out", "after"]
    [_, recorded] = await counters.store.read_stream("counter-c1")
    assert recorded.metadata["actor"] == "ana"


async def test_the_permission_is_checked_before_anything_is_read(counters: Counters) -> None:
    with pytest.raises(Forbidden):
        await counters.handle(Add("nobody", 1), READER)
    assert counters.calls == ["authorize"]


async def test_a_record_in_another_group_answers_as_one_that_does_not_exist(counters: Counters) -> None:
    await counters.handle(Open("c1"), WRITER)
    with pytest.raises(NotFound) as hidden:
        await counters.handle(Add("c1", 1), OTHER_GROUP, if_match=0)
    with pytest.raises(NotFound) as missing:
        await counters.handle(Add("c2", 1), WRITER, if_match=0)
    assert str(hidden.value) == "counter c1 does not exist"
    assert str(missing.value) == "counter c2 does not exist"


async def test_if_match_must_name_the_loaded_version(counters: Counters) -> None:
    await counters.handle(Open("c1"), WRITER)
    await counters.handle(Add("c1", 1), WRITER, if_match=0)
    with pytest.raises(PreconditionFailed) as stale:
        await counters.handle(Add("c1", 1), WRITER, if_match=0)
    assert stale.value.actual == 1 and stale.value.field == "If-Match"


async def test_a_retried_command_answers_its_first_result_and_appends_nothing(counters: Counters) -> None:
    await counters.handle(Open("c1"), WRITER)
    request = fingerprint({"amount": 3})
    first = await counters.handle(Add("c1", 3), WRITER, idempotency_key="k1", request=request)
    await counters.handle(Add("c1", 4), WRITER)
    again = await counters.handle(Add("c1", 3), WRITER, idempotency_key="k1", request=request)
    assert (again.state, again.version, again.position) == (first.state, first.version, first.position)
    assert len(await counters.store.read_stream("counter-c1")) == 3
    with pytest.raises(DomainError, match="another request") as reused:
        await counters.handle(Add("c1", 9), WRITER, idempotency_key="k1", request=fingerprint({"amount": 9}))
    assert reused.value.status == 422 and reused.value.field == "Idempotency-Key"


async def test_a_concurrent_change_is_a_conflict_on_the_version_decided_on(counters: Counters) -> None:
    await counters.handle(Open("c1"), WRITER)
    stale = await counters.load("counter-c1")
    await counters.handle(Add("c1", 1), WRITER)
    event = catalog.encode(Added(counter_id="c1", amount=2))
    with pytest.raises(WrongExpectedVersion):
        await counters.append(stale, [event], [], WRITER)


async def test_nothing_decided_answers_the_current_state_and_a_failed_append_skips_after(counters: Counters) -> None:
    await counters.handle(Open("c1"), WRITER)
    unchanged = await counters.handle(Add("c1", 0), WRITER)
    assert unchanged.version == 0 and "after" not in counters.calls[-3:]
    counters.fail_append = True
    counters.calls.clear()
    with pytest.raises(RuntimeError):
        await counters.handle(Add("c1", 1), WRITER)
    assert counters.calls == ["authorize", "guard in", "prepare", "append", "guard out"]


async def test_a_new_stream_is_not_read_and_an_existing_one_is_still_a_conflict(counters: Counters) -> None:
    reads: list[str] = []
    read_stream = counters.store.read_stream

    async def counting(stream: str, from_version: int = 0, limit: int | None = None) -> list[Any]:
        reads.append(stream)
        return await read_stream(stream, from_version, limit)

    counters.store.read_stream = counting  # type: ignore[method-assign]
    opened = await counters.handle(Open("c1"), WRITER, new_stream=True)
    assert opened.version == 0 and reads == []
    with pytest.raises(WrongExpectedVersion):  # were the id not new after all: never an overwrite
        await counters.handle(Open("c1"), WRITER, new_stream=True)
    # A retry under an Idempotency-Key must find its first result: the stream is read.
    request = fingerprint({"open": "c2"})
    first = await counters.handle(Open("c2"), WRITER, idempotency_key="k", request=request, new_stream=True)
    again = await counters.handle(Open("c2"), WRITER, idempotency_key="k", request=request, new_stream=True)
    assert (again.version, again.position) == (first.version, first.position) and reads == ["counter-c2"] * 2
    assert len(await read_stream("counter-c1")) == 1


def test_a_fingerprint_ignores_key_order_and_tells_values_apart() -> None:
    body: dict[str, Any] = {"a": 1, "b": [1, 2]}
    assert fingerprint(body) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint(body) != fingerprint({"a": 1, "b": [2, 1]})
