"""Projections: read models built from integration events, all declared in one shape.

**Declaring a view.** A projection is a :class:`View`: a class with

- ``name`` and ``version``: its collections are ``<collection>_v<version>``; bumping the version
  rebuilds the view from the event log into new collections on the next start;
- ``topics``: the public topics it follows (a rebuild takes only their events from the log);
- ``collections``: each base collection and its indexes;
- ``contracts``: event type → the typed contract the kernel parses the event's data into (a live
  message whose data does not fit its contract is dead-lettered; an event of the service's own log
  comes with the contract its translation validated, which is taken as it is);
  :meth:`View.parse` can be overridden for a view fed by something else (the gateway decodes its
  own domain events);
- ``handlers``: event type → the :class:`On` effects it has, in order. An :class:`On` names the
  collection and the id of *one* document, the version that guards it (the source stream's
  version by default) and a pure ``apply(before, fact)`` returning the document after the event
  (or None: no change). ``_id`` and ``_version`` are set by the kernel. ``before`` is a shallow
  copy: change its top-level fields freely, never a nested list or dict in place;
- ``tracks_streams`` (default True): False for a view of another service's events, which nobody
  can wait for by a position of their own log (so no tracking rows are written for it);
- ``log_data_is_contract`` (default True): a rebuild takes the data the service's translation
  made from its log as the contract's JSON form without dumping the contract again;
- ``derived`` (optional): base collection → a function of a document's versions in a *batch*
  (before it, after it, and those in between) that returns the changes of the collections kept
  from it (search lookups, calendar entries, name entries), so those are worked out once per
  document and batch, and written once.

For example (the reference-data view of contacts)::

    def entry_id(fact: Fact[Any]) -> str:
        return f"{fact.data['catalog']}:{fact.data['code']}"

    def retired(before: Document | None, fact: Fact[Any]) -> Document | None:
        if before is None:
            return None  # its definition was not seen yet: the redelivery brings it
        return {**before, "retired": fact.envelope.type.endswith("Retired")}

    class ReferenceView(View):
        name, version = "reference", 1
        topics = (reference.TOPIC,)
        collections = {"reference": (Index(("catalog", "name_key")),)}
        contracts = reference.EVENT_TYPES
        handlers = {
            "crm.contacts.ReferenceEntryDefined": (On("reference", entry_id, defined),),
            "crm.contacts.ReferenceEntryRetired": (On("reference", entry_id, retired),),
            ...
        }

A handler sees :class:`Fact`: the typed ``contract``, its JSON form ``data`` (what documents
copy), the ``envelope`` (time, stream, position, headers) and ``read`` for the other documents of
the batch it declared in ``On.reads``. ``apply`` may be async (the persons view folds the person's
stream from the event store).

The kernel parses and guards: an event whose document already has the same or a newer
``_version`` is skipped (redelivery, replay), and every write is guarded per document by the
read store as well, so the effects are idempotent.

**Applying a batch** (:class:`ProjectionRunner`, the same code for the rebuild and the live feed):
the documents the batch reads are fetched with one ``ReadStore.get_many`` per collection, the
handlers run in memory over them, each document's last version is kept, the derived collections
are worked out, and everything is written with one ``ReadStore.apply`` (one bulk write per
collection): derived collections first, then the documents, then the per-stream tracking rows, so
a store without transactions that fails half-way redelivers into the same result.

The runner feeds a view from one of two sources, by whose events it shows:

- **a service's own views follow its own event log** (:meth:`ProjectionRunner.follow_log`), never
  its public topics: from the start when a projection version has never been built (first start,
  or after its version was bumped), then live, tailing the log from the view's checkpoint. Batches
  are applied with the checkpoint in one call, and the next batch is read while the current one is
  applied. Only events the service committed itself can reach its views: a message someone else
  produced onto its public topic changes nothing (ADR 14);
- **a local copy of another service's records follows the bus** (:meth:`ProjectionRunner.follow`),
  under a consumer group named after the projection's version, in the batches the bus fetched
  (:meth:`~crm_shared.bus.port.Bus.subscribe_batches`); a batch that fails (say, one undecodable
  message) is handed over again one message at a time, so only that message is retried or
  dead-lettered.

``wait_for(position)`` gives read-your-writes: it finds which stream the event at that commit
position belongs to and waits until the view has applied that stream up to that event.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar

from opentelemetry import trace
from pydantic import BaseModel, ValidationError

from crm_shared import observability
from crm_shared.bus.port import Bus, Message, PoisonMessage, Subscription
from crm_shared.collector import fewer_collections
from crm_shared.eventstore.port import EventStore, RecordedEvent
from crm_shared.integration import Envelope
from crm_shared.readstore.port import Change, Delete, Document, Index, Put, ReadStore
from crm_shared.relay import Translate
from crm_shared.settings import KernelSettings

log = logging.getLogger(__name__)

C = TypeVar("C", bound=BaseModel)

Read = Callable[[str, str], "Document | None"]
"""A document of the batch, by base collection and id, as the batch has changed it so far. Only
documents the batch fetched can be read: those of each :class:`On` and of its ``reads``."""


@dataclass(frozen=True, slots=True)
class Fact(Generic[C]):
    """One event as a handler sees it: the typed contract, its JSON form, the envelope."""

    contract: C
    data: dict[str, Any]
    """The contract as JSON (``model_dump(mode="json")``): what documents copy."""
    envelope: Envelope
    read: Read


def stream_version(event: Envelope) -> int:
    """The default guard of a document: the version of the source stream the event is in."""
    return event.stream_version


@dataclass(frozen=True, slots=True)
class On:
    """What an event does to one document.

    ``key`` gives the document's id (None: this event leaves the collection alone); ``apply`` the
    document after the event from the one before (None: no change; may be async); ``version`` the
    guard (the document's ``_version`` after it); ``reads`` further documents ``apply`` reads
    through :attr:`Fact.read`, fetched with the batch.
    """

    collection: str
    key: Callable[[Fact[Any]], str | None]
    apply: Callable[[Document | None, Fact[Any]], Document | Awaitable[Document | None] | None]
    version: Callable[[Envelope], int] = stream_version
    reads: Callable[[Fact[Any]], Iterable[tuple[str, str]]] | None = None


Derive = Callable[[str, Sequence["Document | None"], Callable[[str], str]], list[Change]]
"""``(id, versions, collection)`` → changes of the collections kept from a document, given its
versions in a batch: ``versions[0]`` as stored before the batch, ``versions[-1]`` after it, and
between them each one the batch made; ``collection(base)`` names a versioned collection. The
changes must touch each of their documents once."""


class Projection(Protocol):
    """The shape every view has (see the module docstring); :class:`View` is its base class."""

    name: str
    version: int
    topics: Sequence[str]
    collections: Mapping[str, Sequence[Index]]
    handlers: Mapping[str, Sequence[On]]
    derived: Mapping[str, Derive]
    log_data_is_contract: bool
    tracks_streams: bool

    def parse(self, event: Envelope) -> BaseModel | None:
        """The event's typed contract, or None when this view does not take it."""
        ...


class View:
    """Base of every view: subclasses set the class attributes and write the handlers."""

    name: str
    version: int
    topics: Sequence[str]
    collections: Mapping[str, Sequence[Index]]
    contracts: Mapping[str, type[BaseModel]] = MappingProxyType({})
    handlers: Mapping[str, Sequence[On]] = MappingProxyType({})
    derived: Mapping[str, Derive] = MappingProxyType({})
    tracks_streams: bool = True
    """Whether the live feed writes a per-stream tracking row for :meth:`ProjectionRunner.wait_for`
    (read-your-writes). A view of *another* service's events says False: positions of its own log
    say nothing about them, so nobody can wait for one, and the rows would only cost writes."""
    log_data_is_contract: bool = True
    """The data of events the service's translation makes from its own log is the contract's JSON
    form (``model_validate(...).model_dump(mode="json")``, the platform's convention), so a rebuild
    takes it as it is; a view whose translation passes stored data on says False."""

    def parse(self, event: Envelope) -> BaseModel | None:
        """The event's contract, validated (a :class:`pydantic.ValidationError` when it does not fit).

        An envelope the service's own translation made carries the contract it validated
        (:attr:`Envelope.contract`): that one is taken as it is when it is of this view's contract
        class, so events of the service's own log are not validated twice (their stored data was
        validated when written, and the translation upcast and validated it again)."""
        contract = self.contracts.get(event.type)
        if contract is None:
            return None
        carried = event.contract
        if carried is not None and type(carried) is contract:
            return carried
        return contract.model_validate(event.data)


class ViewNotReady(Exception):
    """The view did not catch up with the asked position in time."""


_MISSING: Any = object()


class _Batch:
    """The documents one batch reads and writes, in memory."""

    def __init__(self, runner: ProjectionRunner) -> None:
        self._runner = runner
        self.start: dict[tuple[str, str], Document | None] = {}
        """Each fetched document as stored before the batch (by base collection and id)."""
        self.now: dict[tuple[str, str], Document | None] = {}
        self.changed: dict[tuple[str, str], list[Document | None]] = {}
        """Documents the batch changed, in order of their first change, with their versions."""

    def read(self, collection: str, id: str) -> Document | None:
        found = self.now.get((collection, id), _MISSING)
        if found is _MISSING:
            raise LookupError(f"{collection}/{id} was not fetched with the batch: declare it in On.reads")
        return found  # type: ignore[no-any-return]

    async def fetch(
        self, wanted: Mapping[str, Iterable[str]], carried: Mapping[tuple[str, str], Document | None]
    ) -> None:
        """One ``get_many`` per collection; documents in ``carried`` (written by the batch before,
        maybe not stored yet) are taken from there."""
        for base, ids in wanted.items():
            missing = [id for id in dict.fromkeys(ids) if (base, id) not in carried]
            for id in dict.fromkeys(ids):
                if (base, id) in carried:
                    self.start[(base, id)] = carried[(base, id)]
            if missing:
                found = await self._runner._views.get_many(self._runner.collection(base), missing)
                for id in missing:
                    self.start[(base, id)] = found.get(id)
        self.now.update(self.start)


class ProjectionRunner:
    """Runs one projection against one read store."""

    def __init__(
        self, projection: Projection, views: ReadStore, *, service: str, read_wait: float | None = None
    ) -> None:
        self.projection = projection
        self.read_wait = KernelSettings().read_wait_seconds if read_wait is None else read_wait
        """How long :meth:`wait_for` waits by default (``CRM_READ_WAIT_SECONDS``)."""
        self._views = views
        self._service = service
        self._subscription: Subscription | None = None
        self._tail: asyncio.Task[None] | None = None
        self._syncing = asyncio.Lock()
        self._synced = 0
        """A position of the log this runner has seen the view reach (its checkpoint is at least that)."""
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
        """Apply the log after ``after`` up to its current head, in batches with the checkpoint.

        Pipelined: the next batch is read while this one is worked out, and this one is written
        while the next one is worked out. The documents a batch wrote are carried into the next,
        so it never reads a document whose write is still in flight.
        """
        # Bulk work for the collector (collector.fewer_collections): a rebuild, and a live view
        # catching up with a backlog, keep two batches of events, facts, documents and rows alive at
        # a time, which young collections at the server's threshold walked over and over.
        with fewer_collections():
            return await self._catch_up(store, translate, after=after, batch_size=batch_size)

    async def _catch_up(self, store: EventStore, translate: Translate, *, after: int, batch_size: int) -> int:
        position, count = after, 0
        head = await store.head_position()
        topics = set(self.projection.topics)
        reading: asyncio.Task[list[RecordedEvent]] | None = None
        writing: asyncio.Task[int] | None = None
        carried: dict[tuple[str, str], Document | None] = {}
        try:
            if position < head:
                reading = asyncio.ensure_future(store.read_all(after=position, limit=batch_size))
            while reading is not None:
                events = await reading
                reading = None
                if not events:
                    break
                position = events[-1].position
                if position < head:
                    reading = asyncio.ensure_future(store.read_all(after=position, limit=batch_size))
                # The log holds every stream of the service; this view takes only its own topics.
                envelopes = [e for recorded in events for e in translate(recorded) if e.topic in topics]
                batch = await self._work_out(envelopes, carried, from_log=True)
                # No per-stream tracking here: the checkpoint, stored with the batch, answers wait_for.
                changes = self._changes(batch, envelopes, track=False)
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(self._views.apply(changes, checkpoint=(self.checkpoint_name, position)))
                carried = {key: batch.now[key] for key in batch.changed}
                count += len(envelopes)
                self.applied += len(envelopes)
            if writing is not None:
                await writing
                writing = None
        finally:
            for task in (reading, writing):
                if task is not None and not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
        if position == after:
            await self._views.apply([], checkpoint=(self.checkpoint_name, position))
        return count

    async def _drop_older_versions(self) -> None:
        for version in range(max(1, self.projection.version - 3), self.projection.version):
            for base in [*self.projection.collections, f"{self.projection.name}_streams"]:
                await self._views.drop(f"{base}_v{version}")

    async def follow(self, bus: Bus) -> None:
        """Consume the projection's topics live, a fetched batch at a time (a local copy of another
        service's records)."""
        self._subscription = await bus.subscribe_batches(self.projection.topics, self.group, self.handle_batch)

    async def follow_log(self, store: EventStore, translate: Translate, *, poll_interval: float = 0.01) -> None:
        """Build the view if this version never was, then keep it following the service's own
        event log in the background (from its checkpoint, in batches) until :meth:`stop`."""
        if built := await self.rebuild_if_needed(store, translate):
            log.info(
                "%s: built view %s v%d from %d events",
                self._service,
                self.projection.name,
                self.projection.version,
                built,
            )
        self._tail = asyncio.create_task(self._follow_log(store, translate, poll_interval), name=self.group)

    async def sync(self, store: EventStore, translate: Translate) -> int:
        """Apply whatever the log has beyond the view's checkpoint, now; returns events applied.
        Serialised in this process (a stretch applied twice elsewhere is harmless: writes are guarded)."""
        async with self._syncing:
            head = await store.head_position()
            if head <= self._synced:  # nothing new: no read of the checkpoint (followers poll 100 times a second)
                return 0
            after = await self._views.checkpoint(self.checkpoint_name) or 0
            count = 0 if head <= after else await self.catch_up(store, translate, after=after)
            self._synced = max(head, after)  # catch_up applied the log up to a head read after this one
            return count

    async def _follow_log(self, store: EventStore, translate: Translate, poll_interval: float) -> None:
        backoff = poll_interval
        while True:
            try:
                if await self.sync(store, translate):
                    backoff = poll_interval
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                # An event of our own log that the view cannot take is a bug to fix, not a message
                # to drop: stay on it (it is retried, with backoff) and say so.
                log.exception("view %s is stuck after its checkpoint", self.projection.name)
                backoff = min(max(backoff * 2, 0.1), 5.0)
            await asyncio.sleep(backoff)

    async def stop(self) -> None:
        """Stop the live feed."""
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None
        if self._tail is not None:
            self._tail.cancel()
            await asyncio.gather(self._tail, return_exceptions=True)
            self._tail = None

    async def handle(self, message: Message) -> None:
        """Bus handler of one message (see :meth:`handle_batch`)."""
        await self.handle_batch([message])

    async def handle_batch(self, messages: Sequence[Message]) -> None:
        """Bus handler: decode (poison on failure) and apply with guards, in the producer's trace.

        Returns only when the batch's effects are stored, so the bus commits after them.
        """
        envelopes = [Envelope.from_message(message) for message in messages]
        if not envelopes:
            return
        with observability.span(
            f"project {self.projection.name}",
            context=observability.context_from(messages[0].headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.batch.message_count": len(envelopes)},
        ):
            try:
                batch = await self._work_out(envelopes, {}, from_log=False)
            except ValidationError as exc:
                raise PoisonMessage(f"data does not fit its contract: {exc}") from exc
            await self._views.apply(self._changes(batch, envelopes, track=self.projection.tracks_streams))
            self.applied += len(envelopes)
        now = datetime.now(UTC)
        for envelope in envelopes:
            self._lag.record((now - envelope.time).total_seconds() * 1000, {"projection": self.projection.name})

    async def _work_out(
        self, envelopes: Sequence[Envelope], carried: Mapping[tuple[str, str], Document | None], *, from_log: bool
    ) -> _Batch:
        """Fetch what the batch reads and run its handlers in memory.

        Envelopes ``from_log`` were made by the service's own translation in this process: their
        data is taken as it is when the view says it is the contract's JSON form; a message from
        the bus may come from an older producer (without fields added since), so its contract
        gives the data.
        """
        projection = self.projection
        batch = _Batch(self)
        read = batch.read
        as_is = from_log and projection.log_data_is_contract
        work: list[tuple[Fact[Any], list[tuple[On, str]]]] = []
        wanted: dict[str, list[str]] = {}
        for envelope in envelopes:
            ons = projection.handlers.get(envelope.type)
            if not ons:
                continue
            contract = projection.parse(envelope)
            if contract is None:
                continue
            fact = Fact(contract, dict(envelope.data) if as_is else contract.model_dump(mode="json"), envelope, read)
            targets: list[tuple[On, str]] = []
            for on in ons:
                id = on.key(fact)
                if id is not None:
                    targets.append((on, id))
                    wanted.setdefault(on.collection, []).append(id)
                if on.reads is not None:
                    for base, other in on.reads(fact):
                        wanted.setdefault(base, []).append(other)
            work.append((fact, targets))
        await batch.fetch(wanted, carried)
        now, changed = batch.now, batch.changed
        for fact, targets in work:
            envelope = fact.envelope
            for on, id in targets:
                key = (on.collection, id)
                before = now[key]
                version = on.version(envelope)
                if before is not None and before["_version"] >= version:
                    continue  # applied already: a redelivery or a replay
                after = on.apply(None if before is None else dict(before), fact)
                if type(after) is not dict and inspect.isawaitable(after):  # dict: the usual, checked cheaply
                    after = await after
                if after is None:
                    continue
                after["_id"] = id
                after["_version"] = version
                now[key] = after
                versions = changed.get(key)
                if versions is None:
                    changed[key] = [before, after]
                else:
                    versions.append(after)
        return batch

    def _changes(self, batch: _Batch, envelopes: Sequence[Envelope], *, track: bool) -> list[Change]:
        """The batch's writes: derived collections, then documents by collection, then tracking."""
        derived = self.projection.derived
        first: list[Change] = []
        by_collection: dict[str, list[Change]] = {}
        names: dict[str, str] = {}
        for (base, id), versions in batch.changed.items():
            derive = derived.get(base)
            if derive is not None:
                first.extend(derive(id, versions, self.collection))
            target = names.get(base)
            if target is None:
                target = names[base] = self.collection(base)
            after = versions[-1]
            if after is not None:  # handlers return documents: always
                by_collection.setdefault(target, []).append(Put(target, after))
        changes = _by_collection(first)
        for run in by_collection.values():
            changes.extend(run)
        if track:
            latest: dict[str, Envelope] = {}
            for envelope in envelopes:
                if envelope.stream:
                    latest[envelope.stream] = envelope
            # Tracking comes last so that, without transactions, it is written only after the effect.
            changes.extend(
                Put(self._streams, {"_id": s, "_version": e.stream_version, "position": e.position})
                for s, e in latest.items()
            )
        return changes

    async def wait_for(
        self, store: EventStore, position: int, *, translate: Translate | None = None, timeout: float | None = None
    ) -> None:
        """Wait until the view reflects the event committed at ``position`` (read-your-writes), at
        most ``timeout`` seconds (default :attr:`read_wait`); then :class:`ViewNotReady`.

        A position beyond the store's head (a write this store has not committed, or not yet) is
        waited for the same bounded time. With ``translate``, an event that has no public form on this
        view's topics (so no effect on it) needs no wait.
        """
        if position <= 0:
            return
        if not self.projection.tracks_streams:
            raise TypeError(f"view {self.projection.name} follows another service's events: no position to wait for")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.read_wait if timeout is None else timeout)
        delay = 0.005
        while not (found := await store.read_all(after=position - 1, limit=1)):
            if loop.time() >= deadline:
                raise ViewNotReady(f"view {self.projection.name} has not reached position {position}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
        if found[0].position != position:
            return
        target = found[0]
        if translate is not None and not any(e.topic in self.projection.topics for e in translate(target)):
            return
        delay = 0.005
        while True:
            rebuilt_to = await self._views.checkpoint(self.checkpoint_name)
            if rebuilt_to is not None and rebuilt_to >= position:
                return
            tracked = await self._views.get(self._streams, target.stream)
            if tracked is not None and int(tracked["_version"]) >= target.stream_version:
                return
            if loop.time() >= deadline:
                raise ViewNotReady(f"view {self.projection.name} has not reached position {position}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)


def _by_collection(changes: list[Change]) -> list[Change]:
    """The changes grouped by collection and kind (puts, deletes), so each gets one bulk write.

    Order between groups does not matter: derived changes touch each document once per batch.
    """
    if not changes:
        return changes
    collections = {change.collection for change in changes}
    if len(collections) == 1:
        deletes = [change for change in changes if type(change) is Delete]
        if not deletes:
            return changes
        return [*deletes, *(change for change in changes if type(change) is not Delete)]
    grouped: dict[tuple[str, bool], list[Change]] = {}
    for change in changes:
        grouped.setdefault((change.collection, type(change) is Put), []).append(change)
    return [change for run in grouped.values() for change in run]


__all__ = [
    "Delete",
    "Derive",
    "Fact",
    "On",
    "Projection",
    "ProjectionRunner",
    "Put",
    "Read",
    "View",
    "ViewNotReady",
    "stream_version",
]
