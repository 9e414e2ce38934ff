"""What the embedded bus reads when it is woken: a publish makes each subscription read the topics it
published to, not all of its topics; an idle bus reads no topic; what another process publishes
still arrives by polling."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from crm_shared.bus import Message
from crm_shared.bus.embedded import EmbeddedBus

T = TypeVar("T")


class CountedReads(EmbeddedBus):
    """The embedded bus, counting its reads of each topic and its trips to its threads."""

    def __init__(self, path: Path, *, poll_interval: float) -> None:
        super().__init__(path, poll_interval=poll_interval)
        self.reads: dict[str, int] = {}
        self.trips = 0

    async def _fetch(self, topic: str, after: int) -> list[tuple[int, Message]]:
        self.reads[topic] = self.reads.get(topic, 0) + 1
        return await super()._fetch(topic, after)

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        self.trips += 1
        return await super()._run(work)


def _msg(topic: str, n: int) -> Message:
    return Message(topic, "k", f'{{"n": {n}}}'.encode(), {"ce_id": str(uuid.uuid4())})


async def _until(got: list[Message], count: int, within: float) -> float:
    started = asyncio.get_running_loop().time()
    while len(got) < count:
        assert asyncio.get_running_loop().time() - started < within, f"{len(got)} of {count} after {within} s"
        await asyncio.sleep(0.005)
    return asyncio.get_running_loop().time() - started


async def test_a_publish_makes_subscribers_read_its_topic_only(tmp_path: Path) -> None:
    bus = CountedReads(tmp_path / "bus.db", poll_interval=0.2)
    await bus.start()
    busy, quiet = "test.busy", "test.quiet"
    got: list[Message] = []

    async def handler(messages: Sequence[Message]) -> None:
        got.extend(messages)

    subscription = await bus.subscribe_batches([busy, quiet], "g", handler)
    try:
        await asyncio.sleep(0.05)
        before = dict(bus.reads)
        started = asyncio.get_running_loop().time()
        for n in range(40):
            await bus.publish([_msg(busy, n)])
            await _until(got, n + 1, 5.0)  # each one arrives at once, without waiting for a poll
        took = asyncio.get_running_loop().time() - started
        await bus.publish([_msg(quiet, 99)])
        await _until(got, 41, 1.0)
    finally:
        await subscription.stop()
        await bus.stop()
    assert [m.value for m in got] == [f'{{"n": {n}}}'.encode() for n in (*range(40), 99)]
    quiet_reads = bus.reads[quiet] - before.get(quiet, 0)
    # Woken 40 times by the busy topic, the quiet one is read only when its poll is due (and for its message).
    assert quiet_reads <= 3 + took / (0.9 * 0.2), (quiet_reads, took)
    assert bus.reads[busy] - before.get(busy, 0) >= 40


async def test_what_another_process_publishes_arrives_by_polling_while_this_one_publishes_elsewhere(
    tmp_path: Path,
) -> None:
    here = EmbeddedBus(tmp_path / "bus.db", poll_interval=0.05)
    there = EmbeddedBus(tmp_path / "bus.db", poll_interval=0.05)  # another process on the same file
    await here.start()
    await there.start()
    got: list[Message] = []

    async def handler(messages: Sequence[Message]) -> None:
        got.extend(m for m in messages if m.topic == "test.remote")

    subscription = await here.subscribe_batches(["test.local", "test.remote"], "g", handler)
    stop = asyncio.Event()

    async def chatter() -> None:  # keeps waking the subscription with publishes of this process
        n = 0
        while not stop.is_set():
            await here.publish([_msg("test.local", n)])
            n += 1
            await asyncio.sleep(0.01)

    talking = asyncio.create_task(chatter())
    try:
        await asyncio.sleep(0.1)
        for n in range(5):
            await there.publish([_msg("test.remote", n)])
            took = await _until(got, n + 1, 1.0)
            assert took < 0.5, took  # within a few polls of 50 ms
    finally:
        stop.set()
        await talking
        await subscription.stop()
        await here.stop()
        await there.stop()


async def test_an_idle_bus_reads_no_topic_and_still_sees_another_processs_message(tmp_path: Path) -> None:
    here = CountedReads(tmp_path / "bus.db", poll_interval=0.05)
    there = EmbeddedBus(tmp_path / "bus.db", poll_interval=0.05)  # another process on the same file
    await here.start()
    await there.start()
    topics = [f"test.idle.{n}" for n in range(6)]
    got: list[Message] = []

    async def handler(messages: Sequence[Message]) -> None:
        got.extend(messages)

    subscriptions = [await here.subscribe_batches(topics, f"g{n}", handler) for n in range(3)]
    try:
        await asyncio.sleep(0.2)  # each topic read once at the start
        before, trips = sum(here.reads.values()), here.trips
        await asyncio.sleep(1.0)  # 20 polls of 18 (group, topic) pairs
        idle_reads = sum(here.reads.values()) - before
        idle_trips = here.trips - trips  # the log's last offset is looked up on the loop's thread
        await there.publish([_msg(topics[4], 1)])
        took = await _until(got, 3, 1.0)  # each group has it within a few polls
    finally:
        for subscription in subscriptions:
            await subscription.stop()
        await here.stop()
        await there.stop()
    assert idle_reads == 0, idle_reads
    assert idle_trips == 0, idle_trips
    assert took < 0.5, took


async def test_a_subscription_outlives_a_commit_refused_by_a_busy_file_and_commits_it_later(tmp_path: Path) -> None:
    path = tmp_path / "bus.db"
    bus = EmbeddedBus(path, poll_interval=0.02, busy_timeout_ms=50)
    await bus.start()
    got: list[Message] = []

    async def handler(messages: Sequence[Message]) -> None:
        got.extend(messages)

    subscription = await bus.subscribe_batches(["test.busy"], "g", handler)
    other = sqlite3.connect(path, isolation_level=None)  # another process, writing for a long while
    try:
        await bus.publish([_msg("test.busy", 1)])
        other.execute("BEGIN IMMEDIATE")
        await _until(got, 1, 2.0)
        await asyncio.sleep(0.3)  # the group's commit waits 50 ms for the file, and fails, again and again
        other.execute("ROLLBACK")
        await asyncio.sleep(0.2)
        # The refused commit is made once the file is free, before anything new comes.
        committed = other.execute("SELECT offset FROM group_offsets WHERE grp = 'g'").fetchone()[0]
        assert committed == other.execute("SELECT max(offset) FROM messages").fetchone()[0]
        await bus.publish([_msg("test.busy", 2)])
        await _until(got, 2, 2.0)
    finally:
        other.close()
        await subscription.stop()  # the subscription did not die (stopping it would raise what killed it)
        await bus.stop()
    assert [m.value for m in got] == [b'{"n": 1}', b'{"n": 2}']

    # The group, started again, gets nothing twice.
    restarted = EmbeddedBus(path, poll_interval=0.02)
    await restarted.start()
    again: list[Message] = []

    async def later(messages: Sequence[Message]) -> None:
        again.extend(messages)

    subscription = await restarted.subscribe_batches(["test.busy"], "g", later)
    await asyncio.sleep(0.2)
    await subscription.stop()
    await restarted.stop()
    assert again == []
