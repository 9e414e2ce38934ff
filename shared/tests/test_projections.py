"""The projection kernel on the embedded bus and read store: a view declared in the kernel's shape
follows the bus in batches, dead-letters what it cannot decode, and redelivery changes nothing."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from crm_shared.bus import HEADER_DLT_REASON, Message, dead_letter_topic
from crm_shared.bus.embedded import EmbeddedBus
from crm_shared.collector import YOUNG_OBJECTS
from crm_shared.eventstore import NO_STREAM, NewEvent, RecordedEvent
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.integration import Envelope, IntegrationEvent
from crm_shared.projections import Fact, On, ProjectionRunner, View
from crm_shared.readstore import Document, Index
from crm_shared.readstore.sqlite import SqliteReadStore

TOPIC = "crm.test.counter.v1"


class Counted(IntegrationEvent):
    counter_id: str
    by: int


def _counter(fact: Fact[Any]) -> str:
    return str(fact.data["counter_id"])


def _count(before: Document | None, fact: Fact[Any]) -> Document:
    return {"total": (before or {}).get("total", 0) + fact.data["by"]}


class Counters(View):
    name = "counters"
    version = 1
    topics: Sequence[str] = (TOPIC,)
    collections: Mapping[str, Sequence[Index]] = {"counters": ()}
    contracts = {"crm.test.Counted": Counted}
    handlers: Mapping[str, Sequence[On]] = {"crm.test.Counted": (On("counters", _counter, _count),)}


async def until(done: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def counted(counter: str, version: int, by: Any) -> Message:
    return Envelope(
        id=str(uuid.uuid4()),
        type="crm.test.Counted",
        source="crm/test",
        subject=counter,
        time=datetime.now(UTC),
        topic=TOPIC,
        data={"counter_id": counter, "by": by},
        stream=f"counter-{counter}",
        stream_version=version,
        position=version + 1,
    ).to_message()


async def test_the_live_feed_applies_batches_dead_letters_what_it_cannot_decode_and_ignores_redelivery(
    tmp_path: Path,
) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    await bus.start()
    views = await SqliteReadStore.open(tmp_path / "views.db")
    dead: list[Message] = []

    async def collect(message: Message) -> None:
        dead.append(message)

    try:
        runner = ProjectionRunner(Counters(), views, service="test")
        await runner.prepare()
        await bus.subscribe([dead_letter_topic(TOPIC)], "dead", collect)
        good = [counted("a", v, 1) for v in range(5)]
        not_json = Message(TOPIC, "a", b"{not json", good[0].headers)
        wrong_contract = counted("a", 5, "many")
        await bus.publish([*good[:3], not_json, wrong_contract, *good[3:], *good])  # then all again
        await runner.follow(bus)
        await until(lambda: len(dead) == 2 and runner.applied == 10)
        document = await views.get(runner.collection("counters"), "a")
        assert document is not None
        assert (document["total"], document["_version"]) == (5, 4)  # each version once
        reasons = sorted(m.headers[HEADER_DLT_REASON] for m in dead)
        assert "not JSON" in reasons[1] and "contract" in reasons[0]
        tracked = await views.get(runner.collection("counters_streams"), "counter-a")
        assert tracked is not None and tracked["_version"] == 4
    finally:
        await bus.stop()
        await views.close()


class OtherCounted(IntegrationEvent):
    counter_id: str
    by: str


def test_a_view_takes_the_contract_its_own_translation_validated_and_validates_everything_else() -> None:
    """Events of the service's own log carry the contract their translation validated: a view takes
    it as it is. A message from the bus (the contract is never sent), or an envelope carrying a
    contract of another class, is validated from its data, so data that does not fit is refused."""
    view = Counters()
    validated = Counted(counter_id="a", by=1)
    own = replace(Envelope.from_message(counted("a", 0, 1)), contract=validated)
    assert view.parse(own) is validated
    from_bus = Envelope.from_message(own.to_message())
    assert from_bus.contract is None and from_bus == own
    parsed = view.parse(from_bus)
    assert parsed == validated and parsed is not validated
    assert view.parse(replace(own, contract=OtherCounted(counter_id="a", by="x"))) == validated
    with pytest.raises(ValidationError):
        view.parse(Envelope.from_message(counted("a", 0, "many")))


def _translate(recorded: RecordedEvent) -> list[Envelope]:
    data = dict(recorded.data)
    subject = Counted.model_validate(data).counter_id
    return [Envelope.of(recorded, type=recorded.type, source="crm/test", subject=subject, topic=TOPIC, data=data)]


async def _count_on(store: SqliteEventStore, counter: str, expected: int) -> None:
    event = NewEvent(uuid.uuid4(), "crm.test.Counted", {"counter_id": counter, "by": 1})
    await store.append(f"counter-{counter}", [event], expected)


async def test_a_follower_of_the_log_reads_its_checkpoint_only_when_the_log_has_grown(tmp_path: Path) -> None:
    """Followers poll the log a hundred times a second: an idle one asks the event store's head only,
    and a new event is still applied."""

    class Counting(SqliteReadStore):
        checkpoints = 0

        async def checkpoint(self, name: str) -> int | None:
            Counting.checkpoints += 1
            return await super().checkpoint(name)

    store = await SqliteEventStore.open(tmp_path / "events.db")
    views = await Counting.open(tmp_path / "views.db")
    runner = ProjectionRunner(Counters(), views, service="test")
    try:
        await _count_on(store, "a", NO_STREAM)
        await runner.prepare()
        await runner.follow_log(store, _translate)
        await _count_on(store, "a", 0)
        await until(lambda: runner.applied == 2)
        await asyncio.sleep(0.05)
        idle = Counting.checkpoints
        await asyncio.sleep(0.3)  # ~30 polls
        assert Counting.checkpoints == idle
        await _count_on(store, "b", NO_STREAM)
        await until(lambda: runner.applied == 3)
        assert (await views.get("counters_v1", "a"))["total"] == 2  # type: ignore[index]
    finally:
        await runner.stop()
        await views.close()
        await store.close()


async def test_a_view_collects_garbage_less_often_while_it_loads_the_log_and_the_setting_comes_back(
    tmp_path: Path,
) -> None:
    """A rebuild, and a live view catching up with the log, load it with the bulk work's threshold of the
    cyclic collector (its passes over the batches' live objects were a third of the background process's
    CPU during an import, bench P2); the threshold from before comes back after each."""
    seen: list[int] = []

    def noting(before: Document | None, fact: Fact[Any]) -> Document:
        seen.append(gc.get_threshold()[0])
        return _count(before, fact)

    class Noting(Counters):
        handlers: Mapping[str, Sequence[On]] = {"crm.test.Counted": (On("counters", _counter, noting),)}

    store = await SqliteEventStore.open(tmp_path / "events.db")
    views = await SqliteReadStore.open(tmp_path / "views.db")
    before = gc.get_threshold()
    try:
        for counter in ("a", "b", "c"):
            await _count_on(store, counter, NO_STREAM)
        runner = ProjectionRunner(Noting(), views, service="test")
        await runner.prepare()
        assert await runner.rebuild_if_needed(store, _translate, batch_size=2) == 3
        assert seen == [max(before[0], YOUNG_OBJECTS)] * 3
        assert gc.get_threshold() == before
        await _count_on(store, "d", NO_STREAM)
        assert await runner.sync(store, _translate) == 1
        assert seen[3:] == [max(before[0], YOUNG_OBJECTS)]
        assert gc.get_threshold() == before
        assert (await views.get("counters_v1", "b")) == {"_id": "b", "_version": 0, "total": 1}
    finally:
        await views.close()
        await store.close()
