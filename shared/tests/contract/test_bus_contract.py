"""The bus contract: every adapter passes these tests (the embedded log always, Kafka on a real broker)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from crm_shared.bus import (
    HEADER_DLT_GROUP,
    HEADER_DLT_REASON,
    HEADER_DLT_TOPIC,
    Bus,
    Message,
    PoisonMessage,
    dead_letter_topic,
)
from crm_shared.bus.embedded import EmbeddedBus

Factory = Callable[[], Awaitable[Bus]]


@pytest.fixture(params=["embedded", "kafka"])
async def make_bus(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    """Makes started buses on one backing log; several of them act as separate processes."""
    buses: list[Bus] = []

    async def make() -> Bus:
        if request.param == "embedded":
            bus: Bus = EmbeddedBus(tmp_path / "bus.db")
        else:
            from crm_shared.bus.kafka import KafkaBus

            bus = KafkaBus(request.getfixturevalue("kafka_bootstrap"))
        await bus.start()
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.stop()


def topic_name() -> str:
    return f"contract.test.{uuid.uuid4().hex[:12]}"


def group_name() -> str:
    return f"contract-{uuid.uuid4().hex[:12]}"


async def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def msg(topic: str, key: str, n: int, **headers: str) -> Message:
    return Message(topic, key, f'{{"n": {n}}}'.encode(), {"ce_id": str(uuid.uuid4()), **headers})


async def test_published_messages_reach_the_group_in_order_per_key_with_headers(make_bus: Factory) -> None:
    bus = await make_bus()
    topic = topic_name()
    await bus.publish([msg(topic, f"k{i % 3}", i, traceparent="00-abc-def-01") for i in range(30)])
    got: list[Message] = []

    async def handle(m: Message) -> None:
        got.append(m)

    await bus.subscribe([topic], group_name(), handle)
    await wait_until(lambda: len(got) == 30)
    for key in ("k0", "k1", "k2"):
        numbers = [int(m.value.decode().split(":")[1].strip(" }")) for m in got if m.key == key]
        assert numbers == sorted(numbers) and len(numbers) == 10
    assert all(m.topic == topic and m.headers["traceparent"] == "00-abc-def-01" for m in got)
    assert all("ce_id" in m.headers for m in got)


async def test_messages_published_after_subscribing_arrive_live(make_bus: Factory) -> None:
    bus = await make_bus()
    topic = topic_name()
    got: list[str] = []

    async def handle(m: Message) -> None:
        got.append(m.key)

    await bus.subscribe([topic], group_name(), handle)
    for i in range(5):
        await bus.publish([msg(topic, f"live{i}", i)])
    await wait_until(lambda: len(got) == 5)
    # Order is promised per key only: these keys may sit on different partitions.
    assert sorted(got) == [f"live{i}" for i in range(5)]


async def test_a_group_resumes_after_its_committed_offset(make_bus: Factory) -> None:
    topic, group = topic_name(), group_name()
    first_bus = await make_bus()
    await first_bus.publish([msg(topic, "k", i) for i in range(5)])
    first: list[Message] = []

    async def handle_first(m: Message) -> None:
        first.append(m)

    subscription = await first_bus.subscribe([topic], group, handle_first)
    await wait_until(lambda: len(first) == 5)
    await subscription.stop()
    await first_bus.stop()

    await first_bus_publisher(make_bus, topic)
    second: list[Message] = []

    async def handle_second(m: Message) -> None:
        second.append(m)

    second_bus = await make_bus()
    await second_bus.subscribe([topic], group, handle_second)
    await wait_until(lambda: len(second) == 3)
    await asyncio.sleep(0.5)
    assert [m.value for m in second] == [msg(topic, "k", i).value for i in (5, 6, 7)]


async def first_bus_publisher(make_bus: Factory, topic: str) -> None:
    publisher = await make_bus()
    await publisher.publish([msg(topic, "k", i) for i in (5, 6, 7)])


async def test_a_failing_handler_is_retried_and_its_message_not_skipped(make_bus: Factory) -> None:
    bus = await make_bus()
    topic = topic_name()
    attempts: list[int] = []
    done: list[int] = []

    async def handle(m: Message) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("effect store briefly unavailable")
        done.append(1)

    await bus.subscribe([topic], group_name(), handle, max_attempts=5)
    await bus.publish([msg(topic, "k", 1)])
    await wait_until(lambda: len(done) == 1)
    assert len(attempts) == 3


async def test_poison_and_persistently_failing_messages_go_to_the_dead_letter_topic(make_bus: Factory) -> None:
    bus = await make_bus()
    topic, group = topic_name(), group_name()
    handled: list[str] = []

    async def handle(m: Message) -> None:
        if m.key == "poison":
            raise PoisonMessage("not JSON: line 1 column 1")
        if m.key == "broken":
            raise ValueError("always fails")
        handled.append(m.key)

    dead: list[Message] = []

    async def collect(m: Message) -> None:
        dead.append(m)

    await bus.subscribe([topic], group, handle, max_attempts=2)
    await bus.subscribe([dead_letter_topic(topic)], group_name(), collect)
    await bus.publish([msg(topic, "poison", 1), msg(topic, "broken", 2), msg(topic, "fine", 3)])
    await wait_until(lambda: handled == ["fine"] and len(dead) == 2)
    by_key = {m.key: m for m in dead}
    assert "not JSON" in by_key["poison"].headers[HEADER_DLT_REASON]
    assert "always fails" in by_key["broken"].headers[HEADER_DLT_REASON]
    assert by_key["poison"].headers[HEADER_DLT_TOPIC] == topic
    assert by_key["poison"].headers[HEADER_DLT_GROUP] == group
    assert by_key["poison"].value == msg(topic, "poison", 1).value


async def test_each_dead_letter_is_logged_without_personal_data_and_counted_by_topic_and_group(
    make_bus: Factory, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from crm_shared.bus import port

    reader = InMemoryMetricReader()
    counter = MeterProvider(metric_readers=[reader]).get_meter("test").create_counter("crm.bus.dead_letters")
    monkeypatch.setattr(port, "DEAD_LETTERS", counter)
    bus = await make_bus()
    topic, group = topic_name(), group_name()

    async def handle(m: Message) -> None:
        raise PoisonMessage(f"bad e-mail in {m.value.decode()}")

    await bus.subscribe([topic], group, handle)
    secret = "ivana.petrova@example.bg"
    letters = [Message(topic, f"k{i}", f'{{"email": "{secret}"}}'.encode(), {"ce_id": f"event-{i}"}) for i in range(3)]
    with caplog.at_level("WARNING", logger="crm_shared.bus.port"):
        await bus.publish(letters)

        def counted() -> int:
            data = reader.get_metrics_data()
            points = [
                p
                for rm in (data.resource_metrics if data else [])
                for sm in rm.scope_metrics
                for metric in sm.metrics
                if metric.name == "crm.bus.dead_letters"
                for p in metric.data.data_points
            ]
            return sum(int(p.value) for p in points if dict(p.attributes) == {"topic": topic, "group": group})

        await wait_until(lambda: counted() == 3)
    logged = [r.getMessage() for r in caplog.records if "dead letter" in r.getMessage()]
    assert len(logged) == 3
    assert all(topic in line and group in line for line in logged)
    assert {f"event-{i}" for i in range(3)} == {line.split("event ")[1].split(")")[0] for line in logged}
    assert not [line for line in logged if secret in line], "a log line quoted the payload"


async def test_a_handler_interrupted_before_returning_gets_the_message_again(make_bus: Factory) -> None:
    topic, group = topic_name(), group_name()
    bus = await make_bus()
    await bus.publish([msg(topic, "k", 1)])
    started = asyncio.Event()

    async def hang(m: Message) -> None:
        started.set()
        await asyncio.sleep(3600)

    subscription = await bus.subscribe([topic], group, hang)
    await asyncio.wait_for(started.wait(), timeout=30)
    await subscription.stop()
    await bus.stop()

    again: list[Message] = []

    async def handle(m: Message) -> None:
        again.append(m)

    other = await make_bus()
    await other.subscribe([topic], group, handle)
    await wait_until(lambda: len(again) == 1)


async def test_groups_are_independent(make_bus: Factory) -> None:
    bus = await make_bus()
    topic = topic_name()
    a: list[str] = []
    b: list[str] = []

    async def to_a(m: Message) -> None:
        a.append(m.key)

    async def to_b(m: Message) -> None:
        b.append(m.key)

    await bus.publish([msg(topic, "x", 1), msg(topic, "y", 2)])
    await bus.subscribe([topic], group_name(), to_a)
    await bus.subscribe([topic], group_name(), to_b)
    await wait_until(lambda: len(a) == 2 and len(b) == 2)


async def test_a_batch_subscription_gets_what_was_fetched_at_once_in_order_and_resumes(make_bus: Factory) -> None:
    bus = await make_bus()
    topic, group = topic_name(), group_name()
    await bus.publish([msg(topic, "k", i) for i in range(20)])
    batches: list[list[int]] = []

    async def handle(messages: Sequence[Message]) -> None:
        batches.append([int(m.value.decode().split(":")[1].strip(" }")) for m in messages])

    subscription = await bus.subscribe_batches([topic], group, handle)
    await wait_until(lambda: sum(len(b) for b in batches) == 20)
    assert [n for b in batches for n in b] == list(range(20))
    assert any(len(b) > 1 for b in batches)  # fetched together, handed over together
    await subscription.stop()
    # Committed after each batch returned: the group resumes after them.
    await bus.publish([msg(topic, "k", 20)])
    await bus.subscribe_batches([topic], group, handle)
    await wait_until(lambda: sum(len(b) for b in batches) == 21)
    assert batches[-1] == [20]


async def test_a_failing_batch_is_handed_over_one_message_at_a_time(make_bus: Factory) -> None:
    """One bad message: the others take effect, it alone is dead-lettered (or retried)."""
    bus = await make_bus()
    topic, group = topic_name(), group_name()
    await bus.publish([msg(topic, "fine", 1), msg(topic, "poison", 2), msg(topic, "fine", 3)])
    calls: list[list[str]] = []
    handled: list[int] = []

    async def handle(messages: Sequence[Message]) -> None:
        calls.append([m.key for m in messages])
        if any(m.key == "poison" for m in messages):
            raise PoisonMessage("not a contract")
        handled.extend(int(m.value.decode().split(":")[1].strip(" }")) for m in messages)

    dead: list[Message] = []

    async def collect(m: Message) -> None:
        dead.append(m)

    await bus.subscribe([dead_letter_topic(topic)], group_name(), collect)
    await bus.subscribe_batches([topic], group, handle, max_attempts=2)
    await wait_until(lambda: sorted(handled) == [1, 3] and len(dead) == 1)
    assert dead[0].key == "poison"
    assert "not a contract" in dead[0].headers[HEADER_DLT_REASON]
    assert ["poison"] in calls  # it was handed over alone


async def test_a_batch_interrupted_before_its_handler_returned_is_delivered_again(make_bus: Factory) -> None:
    topic, group = topic_name(), group_name()
    bus = await make_bus()
    await bus.publish([msg(topic, "k", 1), msg(topic, "k", 2)])
    started = asyncio.Event()

    async def hang(messages: Sequence[Message]) -> None:
        started.set()
        await asyncio.sleep(3600)

    subscription = await bus.subscribe_batches([topic], group, hang)
    await asyncio.wait_for(started.wait(), timeout=30)
    await subscription.stop()
    await bus.stop()

    again: list[Message] = []

    async def handle(messages: Sequence[Message]) -> None:
        again.extend(messages)

    other = await make_bus()
    await other.subscribe_batches([topic], group, handle)
    await wait_until(lambda: len(again) == 2)
