"""The relay: the event store is the outbox.

A relay reads its service's own event store from a persisted checkpoint, turns domain events into
integration messages (a service-given translation; events with no public meaning give none),
publishes them, and only then moves the checkpoint. A crash between the two republishes a batch:
consumers see the same ``ce_id`` again and their guards make that harmless. A broker outage stops
the relay, never the commands; it retries with backoff and resumes where it stopped, and so does
a failure of its own stores.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from crm_shared import observability
from crm_shared.bus.port import Bus, BusUnavailable, Message
from crm_shared.eventstore.port import EventStore, RecordedEvent
from crm_shared.integration import Envelope
from crm_shared.readstore.port import ReadStore

log = logging.getLogger(__name__)

Translate = Callable[[RecordedEvent], Sequence[Envelope]]


class Relay:
    """Publishes one service's integration events, at least once and in log order."""

    def __init__(
        self,
        name: str,
        store: EventStore,
        bus: Bus,
        checkpoints: ReadStore,
        translate: Translate,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.02,
        max_backoff: float = 5.0,
    ) -> None:
        self.name = name
        self._store = store
        self._bus = bus
        self._checkpoints = checkpoints
        self._translate = translate
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self.position = 0
        self.published = 0
        self._published_counter = observability.meter().create_counter(
            "crm.relay.published", description="Integration events handed to the bus"
        )
        self._lag = observability.meter().create_histogram(
            "crm.relay.lag", unit="ms", description="From commit to publication"
        )

    @property
    def checkpoint_name(self) -> str:
        """Where the relay's position is stored."""
        return f"relay:{self.name}"

    async def run(self) -> None:
        """Relay forever (cancel to stop). A failure of the stores (a file busy beyond its timeout, a
        server away) or of the translation stops it where it is, says so and tries again with
        backoff: it never skips an event, and never ends."""
        backoff = self._poll_interval
        started = False
        while True:
            try:
                if not started:
                    self.position = await self._checkpoints.checkpoint(self.checkpoint_name) or 0
                    started = True
                relayed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # its message may hold an event's data: the type is logged
                log.warning("relay %s failed (%s), retrying in %.2fs", self.name, type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(max(backoff * 2, 0.1), self._max_backoff)
                continue
            backoff = self._poll_interval
            if not relayed:
                await asyncio.sleep(self._poll_interval)

    async def run_once(self) -> bool:
        """Relay one batch; False when there was nothing to relay."""
        events = await self._store.read_all(after=self.position, limit=self._batch_size)
        if not events:
            return False
        messages = [envelope.to_message() for event in events for envelope in self._translate(event)]
        await self._publish(messages)
        self.position = events[-1].position
        await self._checkpoints.apply([], checkpoint=(self.checkpoint_name, self.position))
        self.published += len(messages)
        self._published_counter.add(len(messages), {"relay": self.name})
        lag_ms = (datetime.now(UTC) - events[-1].recorded_at).total_seconds() * 1000
        self._lag.record(lag_ms, {"relay": self.name})
        return True

    async def republish(self, *, after: int = 0, on_progress: Callable[[int, int, int], None] | None = None) -> int:
        """Publish the service's history again, from log position ``after`` up to the head as it is
        now, for a consumer that starts late (operators: ``crm republish <service>``). Messages are
        the same as the first time (same ``ce_id``, key and headers), so a consumer that dedupes by
        ``ce_id`` or by ``crm_stream_version`` takes nothing twice; the live relay and its
        checkpoint are untouched. ``on_progress(position, head, published)`` follows each batch.
        Returns how many messages were published."""
        return await self.replay(self._publish, after=after, on_progress=on_progress)

    async def replay(
        self,
        sink: Callable[[list[Message]], Awaitable[None]],
        *,
        after: int = 0,
        on_progress: Callable[[int, int, int], None] | None = None,
    ) -> int:
        """Hand the service's history, from log position ``after`` up to the head as it is now, to
        ``sink`` a batch at a time as the messages the relay publishes (a consumer rebuilding what it
        keeps from them in process: ``crm analytics rebuild``); :meth:`republish` sends them to the bus.
        Returns how many messages were handed over."""
        head = await self._store.head_position()
        position, published = after, 0
        while position < head:
            events = [
                e for e in await self._store.read_all(after=position, limit=self._batch_size) if e.position <= head
            ]
            if not events:
                break
            messages = [envelope.to_message() for event in events for envelope in self._translate(event)]
            await sink(messages)
            position, published = events[-1].position, published + len(messages)
            if on_progress is not None:
                on_progress(position, head, published)
        return published

    async def _publish(self, messages: list[Message]) -> None:
        backoff = 0.1
        while True:
            try:
                await self._bus.publish(messages)
                return
            except BusUnavailable as exc:
                log.warning("relay %s: bus unavailable, retrying in %.1fs: %s", self.name, backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
