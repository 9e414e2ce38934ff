"""SQLite event store: the embedded default.

One file in WAL mode with ``synchronous=FULL``, so an acknowledged append survives power loss.
Optimistic concurrency is enforced by the storage key ``UNIQUE(stream, version)`` and a check of
the expected version inside the write transaction. Concurrent appends are group-committed: one
writer thread takes every append waiting at that moment, applies each under its own savepoint and
commits them with one fsync, which keeps single-event appends fast under load without weakening
durability; there is no window to wait for, so a lone append is written at once. Readers use their
own connections (WAL lets them run beside the writer): a command's stream reads on threads apart
from the catch-up reads of the whole log (relay, projectors). Other processes on the same file are
seen through polling ``PRAGMA data_version``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

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
from crm_shared.sqlite import ThreadConnections, connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT    NOT NULL UNIQUE,
    stream      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    metadata    BLOB    NOT NULL,
    recorded_at TEXT    NOT NULL,
    UNIQUE (stream, version)
);
"""

_COLUMNS = "position, event_id, stream, version, type, data, metadata, recorded_at"
_INSERT = (
    "INSERT INTO events (event_id, stream, version, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


@dataclass
class _Append:
    stream: str
    events: Sequence[NewEvent]
    expected: ExpectedVersion
    future: asyncio.Future[AppendResult] = field(repr=False)


@dataclass
class _AppendMany:
    """A bulk append: its items commit together or not at all."""

    items: list[_Append]
    future: asyncio.Future[list[AppendResult]] = field(repr=False)


def _row(event: NewEvent, stream: str, version: int, now: str) -> tuple[object, ...]:
    return (
        str(event.id),
        stream,
        version,
        event.type,
        jsoncodec.dumps_mapping(event.data),
        jsoncodec.dumps_mapping(event.metadata),
        now,
    )


def _settle(request: _Append | _AppendMany, outcome: AppendResult | list[AppendResult] | BaseException) -> None:
    if request.future.done():
        return
    if isinstance(outcome, BaseException):
        request.future.set_exception(outcome)
    elif isinstance(request, _AppendMany):
        assert isinstance(outcome, list)
        request.future.set_result(outcome)
    else:
        assert isinstance(outcome, AppendResult)
        request.future.set_result(outcome)


def _to_recorded(row: tuple[object, ...]) -> RecordedEvent:
    position, event_id, stream, version, type_, data, metadata, recorded_at = row
    return RecordedEvent(
        id=UUID(str(event_id)),
        stream=str(stream),
        type=str(type_),
        data=jsoncodec.loads(data),  # type: ignore[arg-type]
        metadata=jsoncodec.loads(metadata),  # type: ignore[arg-type]
        stream_version=int(version),  # type: ignore[call-overload]
        position=int(position),  # type: ignore[call-overload]
        recorded_at=datetime.fromisoformat(str(recorded_at)),
    )


class SqliteEventStore:
    """The embedded event store. Create it with :meth:`open`."""

    def __init__(self, path: str | Path, *, poll_interval: float = 0.05, busy_timeout_ms: int = 2000) -> None:
        self._path = str(path)
        self._poll_interval = poll_interval
        self._busy_timeout_ms = busy_timeout_ms
        self._writer_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="es-writer")
        # Commands' reads (one stream) have threads of their own, so they never queue behind the
        # relay's and the projectors' catch-up reads of the log (read_all), which have theirs.
        self._reader_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="es-reader")
        self._log_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="es-log-reader")
        self._writer: sqlite3.Connection | None = None
        self._readers = ThreadConnections(self._path, synchronous="FULL", busy_timeout_ms=busy_timeout_ms)
        self._pending: list[_Append | _AppendMany] = []
        self._flushing = False
        self._flush_task: asyncio.Task[None] | None = None
        self._committed = asyncio.Event()
        self._closed = False

    @classmethod
    async def open(cls, path: str | Path, **options: float | int) -> SqliteEventStore:
        """Open (and create if missing) the store at ``path``."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        store = cls(path, **options)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(store._writer_pool, store._open_writer)
        return store

    def _open_writer(self) -> None:
        self._writer = connect(self._path, synchronous="FULL", busy_timeout_ms=self._busy_timeout_ms)
        self._writer.executescript(_SCHEMA)

    # -- appends -------------------------------------------------------------------------------

    async def append(self, stream: str, events: Sequence[NewEvent], expected: ExpectedVersion) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        if self._closed:
            raise EventStoreUnavailable("the event store is closed")
        request = _Append(stream, list(events), expected, asyncio.get_running_loop().create_future())
        self._enqueue(request)
        return await request.future

    async def append_many(self, batch: Sequence[StreamAppend]) -> list[AppendResult]:
        """Every item in one transaction, all or nothing (group-committed with concurrent appends)."""
        if any(not events for _, events, _ in batch):
            raise ValueError("append needs at least one event")
        if self._closed:
            raise EventStoreUnavailable("the event store is closed")
        if not batch:
            return []
        loop = asyncio.get_running_loop()
        items = [_Append(stream, list(events), expected, loop.create_future()) for stream, events, expected in batch]
        request = _AppendMany(items, loop.create_future())
        self._enqueue(request)
        return await request.future

    def _enqueue(self, request: _Append | _AppendMany) -> None:
        self._pending.append(request)
        if not self._flushing:
            self._flushing = True
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    outcomes = await loop.run_in_executor(self._writer_pool, self._write_batch, batch)
                except sqlite3.Error as exc:
                    error = EventStoreUnavailable(f"event store write failed: {exc}")
                    for request in batch:
                        if not request.future.done():
                            request.future.set_exception(error)
                    continue
                for request, outcome in zip(batch, outcomes, strict=True):
                    _settle(request, outcome)
                self._committed.set()
                self._committed = asyncio.Event()
        finally:
            self._flushing = False

    def _write_batch(
        self, batch: list[_Append | _AppendMany]
    ) -> list[AppendResult | list[AppendResult] | BaseException]:
        conn = self._writer
        assert conn is not None, "store not opened"
        outcomes: list[AppendResult | list[AppendResult] | BaseException] = []
        now = datetime.now(UTC).isoformat()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for request in batch:
                conn.execute("SAVEPOINT one_append")
                try:
                    if isinstance(request, _AppendMany):
                        outcomes.append([self._append_new(conn, item, now) for item in request.items])
                    else:
                        outcomes.append(self._append_one(conn, request, now))
                    conn.execute("RELEASE one_append")
                except (WrongExpectedVersion, ValueError) as exc:
                    conn.execute("ROLLBACK TO one_append")
                    conn.execute("RELEASE one_append")
                    outcomes.append(exc)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes

    @staticmethod
    def _append_one(conn: sqlite3.Connection, request: _Append, now: str) -> AppendResult:
        stream, events, expected = request.stream, request.events, request.expected
        row = conn.execute("SELECT max(version) FROM events WHERE stream = ?", (stream,)).fetchone()
        current: int | None = row[0]

        existing = conn.execute(
            "SELECT stream, version, position FROM events WHERE event_id = ?", (str(events[0].id),)
        ).fetchone()
        if existing is not None:
            return SqliteEventStore._idempotent_result(conn, request, existing, current)

        if expected is StreamState.NO_STREAM and current is not None:
            raise WrongExpectedVersion(stream, expected, current)
        if expected is StreamState.STREAM_EXISTS and current is None:
            raise WrongExpectedVersion(stream, expected, current)
        if isinstance(expected, int) and expected != (-1 if current is None else current):
            raise WrongExpectedVersion(stream, expected, current)

        return SqliteEventStore._insert(conn, stream, events, -1 if current is None else current, now)

    @staticmethod
    def _append_new(conn: sqlite3.Connection, request: _Append, now: str) -> AppendResult:
        """An item of ``append_many``. Most are new streams (an import), so a ``NO_STREAM`` item is
        inserted at once and the storage keys find a clash; only then come the full checks."""
        if request.expected is not StreamState.NO_STREAM:
            return SqliteEventStore._append_one(conn, request, now)
        first, *rest = request.events
        try:
            cursor = conn.execute(_INSERT, _row(first, request.stream, 0, now))
        except sqlite3.IntegrityError:  # the stream exists, or these ids were appended before
            return SqliteEventStore._append_one(conn, request, now)
        if not rest:
            return AppendResult(stream_version=0, position=int(cursor.lastrowid or 0))
        return SqliteEventStore._insert(conn, request.stream, rest, 0, now)

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, stream: str, events: Sequence[NewEvent], version: int, now: str
    ) -> AppendResult:
        """Insert ``events`` after ``version``; an id stored elsewhere is a ValueError."""
        position = 0
        for event in events:
            version += 1
            try:
                cursor = conn.execute(_INSERT, _row(event, stream, version, now))
            except sqlite3.IntegrityError as exc:
                raise ValueError(f"event id {event.id} is already stored elsewhere") from exc
            position = int(cursor.lastrowid or 0)
        return AppendResult(stream_version=version, position=position)

    @staticmethod
    def _idempotent_result(
        conn: sqlite3.Connection, request: _Append, existing: tuple[str, int, int], current: int | None
    ) -> AppendResult:
        """EventStoreDB's idempotency: the same ids at the same place return the first result."""
        stream, first_version, _ = existing
        expected = request.expected
        place_matches = (
            expected in (StreamState.ANY, StreamState.STREAM_EXISTS)
            or (expected is StreamState.NO_STREAM and first_version == 0)
            or (isinstance(expected, int) and expected == first_version - 1)
        )
        ids = [str(e.id) for e in request.events]
        rows = conn.execute(
            "SELECT event_id, version, position FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?",
            (stream, first_version, len(ids)),
        ).fetchall()
        same = stream == request.stream and [r[0] for r in rows] == ids
        if not (same and place_matches):
            raise WrongExpectedVersion(request.stream, expected, current)
        return AppendResult(stream_version=int(rows[-1][1]), position=int(rows[-1][2]))

    # -- reads ---------------------------------------------------------------------------------

    async def _read(
        self, sql: str, params: tuple[object, ...], pool: ThreadPoolExecutor | None = None
    ) -> list[RecordedEvent]:
        if self._closed:
            raise EventStoreUnavailable("the event store is closed")

        def run() -> list[RecordedEvent]:
            return [_to_recorded(r) for r in self._readers.get().execute(sql, params).fetchall()]

        try:
            return await asyncio.get_running_loop().run_in_executor(pool or self._reader_pool, run)
        except sqlite3.Error as exc:
            raise EventStoreUnavailable(f"event store read failed: {exc}") from exc

    async def read_stream(self, stream: str, from_version: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        return await self._read(
            f"SELECT {_COLUMNS} FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?",
            (stream, from_version, -1 if limit is None else limit),
        )

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        return await self._read(
            f"SELECT {_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?",
            (after, limit),
            self._log_pool,
        )

    async def head_position(self) -> int:
        def run() -> int:
            row = self._readers.get().execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
            return int(row[0])

        return await asyncio.get_running_loop().run_in_executor(self._reader_pool, run)

    async def subscribe_all(self, after: int = 0) -> AsyncIterator[RecordedEvent]:
        position = after
        while not self._closed:
            batch = await self.read_all(after=position, limit=500)
            for event in batch:
                position = event.position
                yield event
            if len(batch) < 500:
                # Woken by an append in this process, or by polling for other processes' appends.
                committed = self._committed
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_interval):  # not wait_for: on 3.11 it can swallow a cancel
                        await committed.wait()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._flush_task is not None:
            # Appends already accepted finish before the files close.
            await asyncio.gather(self._flush_task, return_exceptions=True)
        loop = asyncio.get_running_loop()
        if self._writer is not None:
            await loop.run_in_executor(self._writer_pool, self._writer.close)
        self._writer_pool.shutdown(wait=True)
        self._reader_pool.shutdown(wait=True)
        self._log_pool.shutdown(wait=True)
        self._readers.close_all()
