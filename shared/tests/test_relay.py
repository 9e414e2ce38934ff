"""The relay: publishes every event once per successful batch, survives bus outages and restarts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from crm_shared.bus import BusUnavailable, Message
from crm_shared.bus.embedded import EmbeddedBus
from crm_shared.eventstore import NO_STREAM, NewEvent, RecordedEvent
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.integration import Envelope
from crm_shared.readstore.sqlite import SqliteReadStore
from crm_shared.relay import Relay


class FlakyBus(EmbeddedBus):
    """The embedded bus with an outage switch: a fault injector for our own port, not a mock."""

    down = False

    async def publish(self, messages: Sequence[Message]) -> None:
        if self.down:
            raise BusUnavailable("broker down (injected)")
        await super().publish(messages)


def translate(event: RecordedEvent) -> list[Envelope]:
    if event.type == "private":
        return []
    return [
        Envelope(
            id=str(event.id),
            type="crm.test.Happened",
            source="crm/test",
            subject=event.stream,
            time=datetime.now(UTC),
            topic="crm.test.v1",
            data=dict(event.data),
            stream=event.stream,
            stream_version=event.stream_version,
            position=event.position,
        )
    ]


async def published(bus: EmbeddedBus) -> list[Message]:
    seen: list[Message] = []

    async def collect(m: Message) -> None:
        seen.append(m)

    subscription = await bus.subscribe(["crm.test.v1"], f"g-{uuid.uuid4()}", collect)
    await asyncio.sleep(0.3)
    await subscription.stop()
    return seen


async def five_public_events(tmp_path: Path, bus: EmbeddedBus) -> tuple[SqliteEventStore, SqliteReadStore]:
    """An event store with five public events (``n`` 0 to 4), the relay's checkpoint store, and ``bus`` started."""
    store = await SqliteEventStore.open(tmp_path / "events.db")
    checkpoints = await SqliteReadStore.open(tmp_path / "views.db")
    await bus.start()
    for n in range(5):
        await store.append(f"s-{n}", [NewEvent(uuid.uuid4(), "public", {"n": n})], NO_STREAM)
    return store, checkpoints


async def test_relay_publishes_public_events_in_order_and_resumes_after_outage_and_restart(tmp_path: Path) -> None:
    bus = FlakyBus(tmp_path / "bus.db")
    store, checkpoints = await five_public_events(tmp_path, bus)
    await store.append("s-private", [NewEvent(uuid.uuid4(), "private", {})], NO_STREAM)

    relay = Relay("test", store, bus, checkpoints, translate, poll_interval=0.01, max_backoff=0.05)
    bus.down = True
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.3)
    assert relay.published == 0  # commands are unaffected; the relay waits for the bus
    bus.down = False
    for _ in range(200):
        if relay.published == 5:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert [int(m.value.decode().split(":")[1].strip(" }")) for m in await published(bus)] == list(range(5))
    assert await checkpoints.checkpoint(relay.checkpoint_name) == await store.head_position()

    # A new relay (a restart) resumes from the checkpoint: nothing already published goes out again.
    await store.append("s-9", [NewEvent(uuid.uuid4(), "public", {"n": 9})], NO_STREAM)
    restarted = Relay("test", store, bus, checkpoints, translate, poll_interval=0.01)
    task = asyncio.create_task(restarted.run())
    for _ in range(200):
        if restarted.published == 1:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert restarted.published == 1
    assert len(await published(bus)) == 6
    await bus.stop()
    await checkpoints.close()
    await store.close()


async def test_republishing_sends_the_history_again_with_the_same_ids_and_leaves_the_live_relay_alone(
    tmp_path: Path,
) -> None:
    store = await SqliteEventStore.open(tmp_path / "events.db")
    checkpoints = await SqliteReadStore.open(tmp_path / "views.db")
    bus = EmbeddedBus(tmp_path / "bus.db")
    await bus.start()
    for n in range(7):
        await store.append(f"s-{n}", [NewEvent(uuid.uuid4(), "public", {"n": n})], NO_STREAM)
    await store.append("s-private", [NewEvent(uuid.uuid4(), "private", {})], NO_STREAM)
    relay = Relay("test", store, bus, checkpoints, translate, batch_size=3)
    while await relay.run_once():
        pass
    first = await published(bus)
    assert len(first) == 7

    progress: list[tuple[int, int, int]] = []
    again = Relay("test", store, bus, checkpoints, translate, batch_size=3)
    assert await again.republish(on_progress=lambda *p: progress.append(p)) == 7
    head = await store.head_position()
    assert progress[-1] == (head, head, 7) and len(progress) == 3
    both = await published(bus)
    assert len(both) == 14
    ids = [m.headers["ce_id"] for m in both]
    assert ids[7:] == ids[:7], "the same events, in the same order, with the same ce_id"
    assert [m.key for m in both[7:]] == [m.key for m in first]
    assert await checkpoints.checkpoint(relay.checkpoint_name) == head, "the live relay's checkpoint is untouched"
    first_three = await store.read_all(after=0, limit=3)
    assert await again.republish(after=first_three[-1].position) == 4
    await bus.stop()
    await checkpoints.close()
    await store.close()


async def test_a_relay_whose_batch_fails_stays_on_it_and_relays_it_once_it_can(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    store, checkpoints = await five_public_events(tmp_path, bus)
    failures = 3

    def failing(event: RecordedEvent) -> list[Envelope]:
        """A translation that fails on the third event three times (a bug, then its fix)."""
        nonlocal failures
        if event.data["n"] == 2 and failures:
            failures -= 1
            raise RuntimeError("translation failed (injected)")
        return translate(event)

    relay = Relay("test", store, bus, checkpoints, failing, poll_interval=0.01, max_backoff=0.05)
    task = asyncio.create_task(relay.run())
    try:
        for _ in range(300):
            if relay.published == 5:
                break
            await asyncio.sleep(0.01)
        assert not task.done()  # it never ends by itself
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert failures == 0
    assert [int(m.value.decode().split(":")[1].strip(" }")) for m in await published(bus)] == list(range(5))
    assert await checkpoints.checkpoint(relay.checkpoint_name) == await store.head_position()
    await bus.stop()
    await checkpoints.close()
    await store.close()
