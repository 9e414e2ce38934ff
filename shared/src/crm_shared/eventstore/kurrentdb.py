"""KurrentDB event store: the server-backed adapter, built on kurrentdbclient's asyncio client.

KurrentDB already follows the port's rules (it is where they come from): one stream per atomic
append, expected versions, a global ``$all`` log ordered by commit position, catch-up subscriptions
and idempotent re-appends by event id. This adapter translates names and types, and covers three
gaps in what the client hands back:

* ``append_to_stream`` returns only the commit position of the last appended event, not its stream
  revision. With ``NO_STREAM`` or an exact revision the new revision follows arithmetically; with
  ``ANY`` or ``STREAM_EXISTS`` it is read back from the stream by the last event's id.
* An idempotent re-append is answered with the log position of the original last event, which for
  ordinary appends is its commit position, so the first result comes back unchanged. When the server
  has no position to give (the client then reports 0) the original event is looked up by id instead.
* The ``$all`` log also holds the server's own events; they are filtered out server-side with the
  client's ``DEFAULT_EXCLUDE_FILTER`` (``$``-types, ``PersistentConfig<n>``, projection ``Result``).

Differences from the SQLite adapter that the port leaves open: an event id is unique per stream, not
across the store (KurrentDB accepts the same id in another stream), and idempotency of re-appends
with ``ANY`` / ``STREAM_EXISTS`` rests on the server's bounded cache of recent event ids, so it is
reliable for prompt retries; with ``NO_STREAM`` or an exact revision it is always checked against
the stream itself.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from kurrentdbclient import DEFAULT_EXCLUDE_FILTER, AsyncKurrentDBClient
from kurrentdbclient import NewEvent as KdbNewEvent
from kurrentdbclient import RecordedEvent as KdbRecordedEvent
from kurrentdbclient import StreamState as KdbStreamState
from kurrentdbclient.exceptions import (
    AbortedByServerError,
    CancelledByClientError,
    DeadlineExceededError,
    DiscoveryFailedError,
    GrpcError,
    KurrentDBClientError,
    NodeIsNotLeaderError,
    NotFoundError,
    ProgrammingError,
    StreamIsDeletedError,
    WrongCurrentVersionError,
)

from crm_shared import jsoncodec
from crm_shared.eventstore.port import (
    AppendResult,
    EventStoreUnavailable,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamAppend,
    StreamState,
    WrongExpectedVersion,
)

_DEFAULT_TIMEOUT = 10.0
"""Seconds a unary call may take when neither the caller nor the URI's DefaultDeadline says."""

_RESUBSCRIBE_ATTEMPTS = 5
"""Consecutive failed (re)subscriptions before :meth:`KurrentDbEventStore.subscribe_all` gives up."""

_EPOCH = datetime.fromtimestamp(0, UTC)

# Errors that mean "the server could not be reached, did not answer in time, or is between leaders":
# transient, and retrying (with the same event ids) is safe. GrpcError covers UNAVAILABLE (and TLS
# failures), gRPC deadlines, server-side cancellation and internal errors; DeadlineExceededError adds
# the server's own append timeout; AbortedByServerError covers "consumer too slow" drops.
_UNAVAILABLE: tuple[type[Exception], ...] = (
    GrpcError,
    DeadlineExceededError,
    DiscoveryFailedError,
    NodeIsNotLeaderError,
    AbortedByServerError,
)


def _is_unavailable(exc: BaseException) -> bool:
    # The client raises the bare base class for replies it has no type for, such as the server's
    # "Server Is Not Ready" / "Server Is Busy" answers to an append: transient as well. Its subclasses
    # that are not listed above (access denied, bad request, ...) are real errors and stay as they are.
    return isinstance(exc, _UNAVAILABLE) or type(exc) is KurrentDBClientError


@contextmanager
def _unavailable_on_failure(action: str) -> Iterator[None]:
    """Turn the client's transport-level failures into the port's :class:`EventStoreUnavailable`."""
    try:
        yield
    except KurrentDBClientError as exc:
        if _is_unavailable(exc):
            raise EventStoreUnavailable(f"KurrentDB {action} failed: {exc!r}") from exc
        raise


def _current_version(expected: ExpectedVersion) -> int | KdbStreamState:
    """The client's ``current_version`` argument for a port expectation."""
    if expected is StreamState.NO_STREAM:
        return KdbStreamState.NO_STREAM
    if expected is StreamState.ANY:
        return KdbStreamState.ANY
    if expected is StreamState.STREAM_EXISTS:
        return KdbStreamState.EXISTS
    assert isinstance(expected, int)
    # -1 is accepted as "no stream" because the SQLite adapter accepts it; the client rejects it.
    if expected == -1:
        return KdbStreamState.NO_STREAM
    if expected < -1:
        raise ValueError(f"expected version must be a StreamState or a revision >= 0, got {expected}")
    return expected


def _to_new_event(event: NewEvent) -> KdbNewEvent:
    return KdbNewEvent(
        type=event.type,
        data=jsoncodec.dumps(dict(event.data)),
        metadata=jsoncodec.dumps(dict(event.metadata)),
        content_type="application/json",
        id=event.id,
    )


def _decode(raw: bytes) -> Mapping[str, Any]:
    # Events written by other tools may carry no metadata at all; treat that as an empty object.
    if not raw:
        return {}
    decoded: Mapping[str, Any] = jsoncodec.loads(raw)
    return decoded


def _to_recorded(recorded: KdbRecordedEvent) -> RecordedEvent:
    return RecordedEvent(
        id=recorded.id,
        stream=recorded.stream_name,
        type=recorded.type,
        data=_decode(recorded.data),
        metadata=_decode(recorded.metadata),
        stream_version=recorded.stream_position,
        position=recorded.commit_position,
        # The server always sends the "created" timestamp; the client yields None only if it cannot
        # parse it. The epoch is an unmistakable placeholder rather than a made-up "now".
        recorded_at=recorded.recorded_at if recorded.recorded_at is not None else _EPOCH,
    )


class KurrentDbEventStore:
    """The event store on a KurrentDB server (or cluster). Create it with :meth:`open`."""

    def __init__(self, client: AsyncKurrentDBClient, *, call_timeout: float | None = None) -> None:
        """Wrap a connected client; ``call_timeout`` bounds each append and read, not subscriptions."""
        self._client = client
        if call_timeout is None:
            deadline = client.connection_spec.options.default_deadline
            call_timeout = float(deadline) if deadline is not None else _DEFAULT_TIMEOUT
        self._timeout = call_timeout
        self._closed = False

    @classmethod
    async def open(cls, uri: str, *, call_timeout: float | None = None) -> KurrentDbEventStore:
        """Connect to the server at ``uri`` (``kurrentdb://``, ``kurrentdb+discover://``, ``esdb://``).

        ``call_timeout`` is the per-call deadline in seconds for appends and reads; it defaults to the
        URI's ``DefaultDeadline``, else 10 s. A single-node URI connects lazily, so an unreachable
        server shows up on the first call; a discovery URI asks the cluster's gossip here.
        """
        client = AsyncKurrentDBClient(uri)
        with _unavailable_on_failure("connect"):
            await client.connect()
        return cls(client, call_timeout=call_timeout)

    def _check_open(self) -> None:
        if self._closed:
            raise EventStoreUnavailable("the event store is closed")

    # -- appends -------------------------------------------------------------------------------

    async def append(self, stream: str, events: Sequence[NewEvent], expected: ExpectedVersion) -> AppendResult:
        """Append ``events`` to ``stream`` atomically if the stream is at ``expected``.

        Raises :class:`WrongExpectedVersion` on a conflict and :class:`EventStoreUnavailable` when the
        server cannot be reached in time. Re-appending events whose ids are already the stream's
        events at the expected place changes nothing and returns the first result.
        """
        if not events:
            raise ValueError("append needs at least one event")
        self._check_open()
        current_version = _current_version(expected)
        try:
            with _unavailable_on_failure("append"):
                position = await self._client.append_to_stream(
                    stream,
                    events=[_to_new_event(e) for e in events],
                    current_version=current_version,
                    timeout=self._timeout,
                )
        except WrongCurrentVersionError as exc:
            actual = exc.actual_version if isinstance(exc.actual_version, int) else None
            raise WrongExpectedVersion(stream, expected, actual) from exc

        if isinstance(current_version, int):
            base: int | None = current_version
        else:
            base = -1 if current_version is KdbStreamState.NO_STREAM else None
        if base is not None and position > 0:
            # The server accepted the events right after the expected revision (or recognised them
            # there, for an idempotent retry), so the last one's revision follows arithmetically.
            return AppendResult(stream_version=base + len(events), position=position)
        # ANY / STREAM_EXISTS give no revision, and a position of 0 means the server had none to give
        # (it answers an idempotent retry with "no position" when it cannot read the original event's
        # log position back): ask the stream itself.
        return await self._locate(stream, events[-1].id, position)

    async def append_many(self, batch: Sequence[StreamAppend]) -> list[AppendResult]:
        """Each item in order with :meth:`append` (KurrentDB has no multi-stream transaction): a
        failure stops the loop and leaves the earlier items appended; sending the batch again is safe."""
        if any(not events for _, events, _ in batch):
            raise ValueError("append needs at least one event")
        return [await self.append(stream, events, expected) for stream, events, expected in batch]

    async def _locate(self, stream: str, event_id: UUID, position_hint: int) -> AppendResult:
        """Find an appended event by id, scanning the stream backwards from its end.

        Other writers may have appended after it (with ``ANY``), so the newest event is not enough;
        the commit position from the append response bounds the scan when it is known.
        """
        with _unavailable_on_failure("read-back after append"):
            response = await self._client.read_stream(stream, backwards=True, timeout=self._timeout)
            try:
                async for recorded in response:
                    if recorded.id == event_id:
                        return AppendResult(stream_version=recorded.stream_position, position=recorded.commit_position)
                    if position_hint > 0 and recorded.commit_position < position_hint:
                        break
            finally:
                await response.stop()
        # The server acknowledged the append, so this would be a server or client defect.
        raise RuntimeError(f"event {event_id} was appended to {stream!r} but cannot be read back")

    # -- reads ---------------------------------------------------------------------------------

    async def read_stream(self, stream: str, from_version: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """Events of one stream in order, from ``from_version`` (inclusive); empty if none."""
        self._check_open()
        if limit is not None and limit <= 0:
            return []
        try:
            with _unavailable_on_failure("read_stream"):
                recorded = await self._client.get_stream(
                    stream,
                    stream_position=max(from_version, 0),
                    limit=sys.maxsize if limit is None else limit,
                    timeout=self._timeout,
                )
        except (NotFoundError, StreamIsDeletedError):
            # Never written, soft-deleted or tombstoned: the stream has no events to show.
            return []
        return [_to_recorded(e) for e in recorded]

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Events of the global log with a commit position greater than ``after``, in order.

        The server's own events are left out, so ``limit`` counts application events only.
        """
        self._check_open()
        if limit <= 0:
            return []
        start = after if after > 0 else None
        with _unavailable_on_failure("read_all"):
            response = await self._client.read_all(
                commit_position=start,
                filter_exclude=DEFAULT_EXCLUDE_FILTER,
                # Reading from a position includes the event at that position; one extra makes up
                # for dropping it below.
                limit=limit if start is None else limit + 1,
                timeout=self._timeout,
            )
            recorded = [e async for e in response]
        return [_to_recorded(e) for e in recorded if e.commit_position > after][:limit]

    async def head_position(self) -> int:
        """The commit position of the last application event in the store (0 when empty)."""
        self._check_open()
        with _unavailable_on_failure("head_position"):
            return await self._client.get_commit_position(filter_exclude=DEFAULT_EXCLUDE_FILTER, timeout=self._timeout)

    async def subscribe_all(self, after: int = 0) -> AsyncIterator[RecordedEvent]:
        """Catch-up subscription: every event after ``after``, then new ones as they are committed.

        A dropped subscription (leader change, restart, "consumer too slow") is resumed from the last
        event yielded, so nothing is skipped or repeated. After several consecutive failures to
        resubscribe it raises :class:`EventStoreUnavailable`. It ends when the store is closed.
        """
        self._check_open()
        position = after
        failures = 0
        while not self._closed:
            try:
                subscription = await self._client.subscribe_to_all(
                    commit_position=position if position > 0 else None,
                    filter_exclude=DEFAULT_EXCLUDE_FILTER,
                )
            except KurrentDBClientError as exc:
                if self._closed:
                    return
                if not _is_unavailable(exc):
                    raise
                failures += 1
                if failures >= _RESUBSCRIBE_ATTEMPTS:
                    raise EventStoreUnavailable(f"KurrentDB subscription failed: {exc!r}") from exc
                await asyncio.sleep(0.2 * 2**failures)
                continue
            failures = 0
            try:
                async for recorded in subscription:
                    # Whether the server starts at or just after the given position, an event at or
                    # before the last one yielded is a repeat.
                    if recorded.commit_position <= position:
                        continue
                    position = recorded.commit_position
                    yield _to_recorded(recorded)
            except CancelledByClientError:
                # close() stops every open subscription; anything else is the caller's own cancel.
                if self._closed:
                    return
                raise
            except KurrentDBClientError as exc:
                if self._closed:
                    return
                if not _is_unavailable(exc):
                    raise
            finally:
                with suppress(KurrentDBClientError):
                    await subscription.stop()
            # Dropped by the server or the network (or, unexpectedly, ended): resubscribe from the
            # last event yielded, after a pause so a flapping server is not hammered.
            if not self._closed:
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        """Close the connection; open subscriptions end, and further calls raise EventStoreUnavailable."""
        if self._closed:
            return
        self._closed = True
        # A client that never connected has nothing to close and says so with ProgrammingError.
        with suppress(ProgrammingError):
            await self._client.close()
