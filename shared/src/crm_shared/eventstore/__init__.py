"""The event store port and its adapters.

The port (:class:`EventStore`) follows EventStoreDB's rules: one stream per append, an expected
version (no stream / any / exact revision), a global commit position, catch-up subscriptions, and
idempotent re-appends of the same event ids.
"""

from crm_shared.eventstore.port import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    AppendResult,
    EventStore,
    EventStoreUnavailable,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamState,
    WrongExpectedVersion,
)

__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "AppendResult",
    "EventStore",
    "EventStoreUnavailable",
    "ExpectedVersion",
    "NewEvent",
    "RecordedEvent",
    "StreamState",
    "WrongExpectedVersion",
]
