"""Projections: read models built from integration events.

A :class:`Projection` is pure: given an envelope and a way to read the current documents, it
returns the guarded changes to make. The :class:`ProjectionRunner` feeds it from two sources:

- the service's own event log, from the start, when a projection version has never been built
  (first start, or after its version was bumped: a rebuild into new collections); batches of
  changes are applied with the checkpoint in one call;
- the bus, live, under a consumer group named after the projection's version; each effect is
  guarded per document, so redeliveries and replays are harmless.

``wait_for(position)`` gives read-your-writes: it finds which stream the event at that commit
position belongs to and waits until the view has applied that stream up to that event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from opentelemetry import trace

from crm_shared import observability
from crm_shared.bus.port import Bus, Message, Subscription
from crm_shared.eventstore.port import EventStore
from crm_shared.integration import Envelope
from crm_shared.readstore.port import Change, Document, Index, Put, ReadStore
from crm_shared.relay import Translate

log = logging.getLogger(__name__)

GetDocument = Callable[[str, str], Awaitable[Document | None]]


class Projection(Protocol):
    """A read model: which collections it owns and how an event changes them."""

    name: str
    version: int
    topics: Sequence[str]
    collections: Mapping[str, Sequence[Index]]

    async def changes(self, event: Envelope, get: GetDocument, collection: Callable[[str], str]) -> list[Change]:
        """The changes ``event`` makes; ``collection(base)`` gives the versioned collection name."""
        ...


@runtime_checkable
class Prefetching(Protocol):
    """A projection that can say which documents a batch of events will read (optional)."""

    def prefetch(self, events: Sequence[Envelope]) -> Mapping[str, Sequence[str]]:
        """Ids per base collection that ``changes`` will ``get`` for ``events``."""
        ...


class ViewNotReady(Exception):
    """The view did not catch up with the asked position in time."""


class ProjectionRunner:
    """Runs one projection against one read store."""

    def __init__(self, projection: Projection, views: ReadStore, *, service: str) -> None:
        self.projection = projection
        self._views = views
        self._service = service
        self._subscription: Subscription | None = None
        self.applied = 0
        self._lag = observability.meter().create_histogram(
            "crm.projection.lag", unit="ms", description="From the event's occurrence to its effect in the view"
        )

    def collection(self, base: str) -> str:
        """The collection of this projection version that holds ``base``."""
        return f"{base}_v{self.projection.version}"

    @property
    def _streams(self) -> str:
        return self.collection(f"{self.projection.name}_streams")

    @property
    def checkpoint_name(self) -> str:
        """The checkpoint of the rebuild from the event log."""
        return f"projection:{self._service}.{self.projection.name}:v{self.projection.version}"

    @property
    def group(self) -> str:
        """The consumer group of the live feed."""
        return f"{self._service}.{self.projection.name}.v{self.projection.version}"

    async def prepare(self) -> None:
        """Create the versioned collections' indexes, unless this version is still to be built: then
        :meth:`rebuild_if_needed` creates them after loading, which is much faster than keeping every
        index up to date row by row."""
        if await self._views.checkpoint(self._built_marker) is not None:
            await self._ensure_indexes()

    async def _ensure_indexes(self) -> None:
        for base, indexes in self.projection.collections.items():
            await self._views.ensure_indexes(self.collection(base), indexes)

    @property
    def _built_marker(self) -> str:
        return f"{self.checkpoint_name}:built"

    async def rebuild_if_needed(self, store: EventStore, translate: Translate, *, batch_size: int = 5000) -> int:
        """Build this version from the event log unless it was built; returns events applied.

        A rebuild interrupted by a crash resumes from its last batch on the next start: only the
        marker written at the end says the version is complete.
        """
        built = self._built_marker
        if await self._views.checkpoint(built) is not None:
            return 0
        start = await self._views.checkpoint(self.checkpoint_name) or 0
        count = await self.catch_up(store, translate, after=start, batch_size=batch_size)
        await self._ensure_indexes()
        await self._views.apply([], checkpoint=(built, await self._views.checkpoint(self.checkpoint_name) or 0))
        await self._drop_older_versions()
        return count

    async def catch_up(self, store: EventStore, translate: Translate, *, after: int, batch_size: int = 5000) -> int:
        """Apply the log after ``after`` up to its current head, in batches with the checkpoint."""
        position, count = after, 0
        head = await store.head_position()
        while position < head:
            events = await store.read_all(after=position, limit=batch_size)
            if not events:
                break
            # The log holds every stream of the service; this view takes only its own topics.
            topics = set(self.projection.topics)
            envelopes = [e for recorded in events for e in translate(recorded) if e.topic in topics]
            # No per-stream tracking here: the checkpoint, stored with the batch, answers wait_for.
            await self._apply(envelopes, checkpoint=events[-1].position, track=False)
            position = events[-1].position
            count += len(envelopes)
        if position == after:
            await self._views.apply([], checkpoint=(self.checkpoint_name, position))
        return count

    async def _drop_older_versions(self) -> None:
        for version in range(max(1, self.projection.version - 3), self.projection.version):
            for base in [*self.projection.collections, f"{self.projection.name}_streams"]:
                await self._views.drop(f"{base}_v{version}")

    async def follow(self, bus: Bus) -> None:
        """Consume the projection's topics live."""
        self._subscription = await bus.subscribe(self.projection.topics, self.group, self.handle)

    async def stop(self) -> None:
        """Stop the live feed."""
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None

    async def handle(self, message: Message) -> None:
        """Bus handler: decode (poison on failure) and apply with guards, in the producer's trace."""
        envelope = Envelope.from_message(message)
        with observability.tracer().start_as_current_span(
            f"project {self.projection.name}",
            context=observability.context_from(message.headers),
            kind=trace.SpanKind.CONSUMER,
        ):
            await self._apply([envelope], checkpoint=None, track=True)
        lag_ms = (datetime.now(UTC) - envelope.time).total_seconds() * 1000
        self._lag.record(lag_ms, {"projection": self.projection.name})

    async def _apply(self, envelopes: Sequence[Envelope], checkpoint: int | None, *, track: bool) -> None:
        overlay: dict[tuple[str, str], Document | None] = {}
        # Only a document's last change in the batch is written: each change already builds on the
        # one before it (through the overlay), so the earlier ones would be overwritten anyway.
        final: dict[tuple[str, str], Change] = {}
        latest: dict[str, Envelope] = {}

        async def get(collection: str, id: str) -> Document | None:
            if (collection, id) in overlay:
                return overlay[(collection, id)]
            return await self._views.get(collection, id)

        # One read per collection for the whole batch instead of one per event.
        if isinstance(self.projection, Prefetching) and len(envelopes) > 1:
            for base, ids in self.projection.prefetch(envelopes).items():
                collection = self.collection(base)
                found = await self._views.get_many(collection, ids)
                overlay.update(((collection, id), found.get(id)) for id in ids)

        for envelope in envelopes:
            for change in await self.projection.changes(envelope, get, self.collection):
                if isinstance(change, Put):
                    key = (change.collection, str(change.document["_id"]))
                    overlay[key] = change.document
                else:
                    key = (change.collection, change.id)
                    overlay[key] = None
                final.pop(key, None)
                final[key] = change
            if track and envelope.stream:
                latest[envelope.stream] = envelope
        changes = list(final.values())
        # Tracking comes last so that, without transactions, it is written only after the effect.
        changes.extend(
            Put(self._streams, {"_id": s, "_version": e.stream_version, "position": e.position})
            for s, e in latest.items()
        )
        ckpt = None if checkpoint is None else (self.checkpoint_name, checkpoint)
        await self._views.apply(changes, checkpoint=ckpt)
        self.applied += len(envelopes)

    async def wait_for(
        self, store: EventStore, position: int, *, translate: Translate | None = None, timeout: float = 5.0
    ) -> None:
        """Wait until the view reflects the event committed at ``position`` (read-your-writes).

        With ``translate``, an event that has no public form on this view's topics (so no effect on
        it) needs no wait.
        """
        if position <= 0:
            return
        found = await store.read_all(after=position - 1, limit=1)
        if not found or found[0].position != position:
            return
        target = found[0]
        if translate is not None and not any(e.topic in self.projection.topics for e in translate(target)):
            return
        deadline = asyncio.get_running_loop().time() + timeout
        delay = 0.005
        while True:
            rebuilt_to = await self._views.checkpoint(self.checkpoint_name)
            if rebuilt_to is not None and rebuilt_to >= position:
                return
            tracked = await self._views.get(self._streams, target.stream)
            if tracked is not None and int(tracked["_version"]) >= target.stream_version:
                return
            if asyncio.get_running_loop().time() >= deadline:
                raise ViewNotReady(f"view {self.projection.name} has not reached position {position}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
