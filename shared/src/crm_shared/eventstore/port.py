"""The event store port: what every adapter promises.

Stream versions (revisions) start at 0 for the first event of a stream. Commit positions are
positive, strictly increasing across the whole store, and not necessarily contiguous (KurrentDB's
are byte offsets); position 0 means "before the first event".
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


class StreamState(enum.Enum):
    """Expected-version states that are not an exact revision."""

    NO_STREAM = "no_stream"
    ANY = "any"
    STREAM_EXISTS = "stream_exists"


NO_STREAM = StreamState.NO_STREAM
ANY = StreamState.ANY
STREAM_EXISTS = StreamState.STREAM_EXISTS

ExpectedVersion = StreamState | int
"""Either a :class:`StreamState` or the exact revision of the stream's last event."""


class WrongExpectedVersion(Exception):
    """The stream is not at the version the decision was made on (optimistic concurrency).

    Domain-neutral on purpose: the HTTP layer maps it to 409.
    """

    def __init__(self, stream: str, expected: ExpectedVersion, actual: int | None) -> None:
        shown = expected.value if isinstance(expected, StreamState) else expected
        super().__init__(f"stream {stream!r}: expected version {shown}, actual {actual}")
        self.stream = stream
        self.expected = expected
        self.actual = actual


class EventStoreUnavailable(Exception):
    """The store cannot be reached or did not answer in time; nothing was appended that we know of."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. ``id`` makes re-appends idempotent."""

    id: UUID
    type: str
    data: Mapping[str, Any]
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored, with its place in its stream and in the global log."""

    id: UUID
    stream: str
    type: str
    data: Mapping[str, Any]
    metadata: Mapping[str, Any]
    stream_version: int
    position: int
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where an append left the stream: its new version and the commit position of its last event."""

    stream_version: int
    position: int


StreamAppend = tuple[str, Sequence[NewEvent], ExpectedVersion]
"""One item of :meth:`EventStore.append_many`: a stream, its new events, the expected version."""


class EventStore(Protocol):
    """Durable, ordered storage of event streams with a global log."""

    async def append(self, stream: str, events: Sequence[NewEvent], expected: ExpectedVersion) -> AppendResult:
        """Append ``events`` to ``stream`` atomically if the stream is at ``expected``.

        Raises :class:`WrongExpectedVersion` otherwise. Appending events whose ids are already the
        stream's events at the expected place changes nothing and returns the first result.
        """
        ...

    async def append_many(self, batch: Sequence[StreamAppend]) -> list[AppendResult]:
        """Bulk path: ``append`` for each ``(stream, events, expected)`` in order, one result each.

        The SQLite adapter commits the whole batch in one transaction (all or nothing); KurrentDB
        appends item by item and stops at the first failure, so earlier items stay appended. Either
        way a conflict raises :class:`WrongExpectedVersion` naming its stream, and because re-appends
        of the same event ids are no-ops, the same batch can be sent again safely.
        """
        ...

    async def read_stream(self, stream: str, from_version: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """Events of one stream in order, from ``from_version`` (inclusive); empty if none."""
        ...

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Events of the global log with a commit position greater than ``after``, in order."""
        ...

    def subscribe_all(self, after: int = 0) -> AsyncIterator[RecordedEvent]:
        """Catch-up subscription: every event after ``after``, then new ones as they are committed."""
        ...

    async def head_position(self) -> int:
        """The commit position of the last event in the store (0 when empty)."""
        ...

    async def close(self) -> None:
        """Release connections and files."""
        ...
