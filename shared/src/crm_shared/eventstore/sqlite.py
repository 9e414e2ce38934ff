"""SQLite event store: the embedded default.

One file in WAL mode with ``synchronous=FULL``, so an acknowledged append survives power loss.
Optimistic concurrency is enforced by the storage key ``UNIQUE(stream, version)`` and a check of
the expected version inside the write transaction. The appends of one turn of the event loop are
written together when it ends: a command's lone append, with nothing else being written, on the
loop's thread at once (a trip to a thread and back costs more than the write); appends that come
together or while others are written go to a writer thread of the store's own, which takes every
append waiting at that moment, applies each under its own savepoint and commits them with one
fsync. That keeps single-event appends fast alone and under load without weakening durability;
there is no window to wait for (a lone append has no savepoint; a new stream's first event is
inserted at once and the storage keys find a clash, the full checks coming only then). The writer
hands the outcomes back to the event loop in one call, with no executor or task in between, and it
runs the WAL's checkpoints, so the loop never waits for a busy file or a checkpoint. Readers use
their own connections (WAL lets them run beside the writer): a command's stream reads on threads
apart from the catch-up reads of the whole log (relay, projectors). The polls of those followers
ask the head of the log first, on the event loop's thread (an index lookup of microseconds,
cheaper than a trip to a thread), and go to a thread only when there is something to read; the
rows they read are decoded once for all of them (a ring of recently decoded events, by position),
and a follower whose next events the ring holds takes them there without a query.
Other processes' appends to the same file are seen by the next read or poll.

Positions are the table's row ids: one more than the largest so far (events are never deleted).
Files made before keep ``AUTOINCREMENT``, which does the same with one more write per append.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
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
    position    INTEGER PRIMARY KEY,
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


_Request = _Append | _AppendMany
_Outcome = AppendResult | list[AppendResult] | BaseException


def _settle_all(batch: list[_Request], outcomes: Sequence[_Outcome]) -> None:
    for request, outcome in zip(batch, outcomes, strict=True):
        _settle(request, outcome)


def _settle(request: _Request, outcome: _Outcome) -> None:
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


class _Decoded:
    """The log's recently decoded events, shared by its followers.

    The relay and each view of a service read the same rows of the log, one after the other; the
    first to read a row decodes it (two JSON documents, an id, a time: most of a read's CPU) and the
    others take that event. A stored row never changes, so an event is found by its position alone;
    a ring of slots (:data:`_DECODED` by default), one per position modulo its size, bounds the memory
    and needs no lock (the log readers' threads may write a slot at once: with the same event).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._slots: list[RecordedEvent | None] = [None] * size

    def following(self, after: int, limit: int) -> list[RecordedEvent]:
        """The events at ``after + 1``, ``after + 2``... that the ring holds, up to ``limit``: the log's
        next events, with no query (no event can lie between two consecutive positions). The walk
        stops at the first position it does not hold; positions are dense, so that is the head, or
        an event decoded too long ago."""
        slots, size = self._slots, self._size
        events: list[RecordedEvent] = []
        for position in range(after + 1, after + 1 + min(limit, size)):
            event = slots[position % size]
            if event is None or event.position != position:
                break
            events.append(event)
        return events

    def rows(self, rows: list[tuple[object, ...]]) -> list[RecordedEvent]:
        slots, size = self._slots, self._size
        events: list[RecordedEvent] = []
        for row in rows:
            position = row[0]
            assert isinstance(position, int)
            slot = position % size
            event = slots[slot]
            if event is None or event.position != position:
                event = slots[slot] = _to_recorded(row)
            events.append(event)
        return events


_CHECKPOINT = object()
"""Asks the writer thread for a passive checkpoint of the WAL."""

_CHECKPOINT_EVERY = 250
"""Commits on the loop's thread between two checkpoints: ~1,000 pages of WAL, SQLite's own default."""

_HERE_EVENTS = 16
"""The most events of an append written on the loop's thread (a command's; an import's go to the writer)."""

_HERE_MAX_SECONDS = 0.002
"""Lone writes slower than this of late (a slow fsync) go to the writer thread: the loop must not wait."""

_DECODED = 16_384
"""Slots of :class:`_Decoded`: a few batches of the followers' reads (the views read up to 5,000
events at a time, contacts' relay 2,000; followers further apart than this decode for themselves)."""


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

    def __init__(
        self, path: str | Path, *, poll_interval: float = 0.05, busy_timeout_ms: int = 2000, decoded: int = _DECODED
    ) -> None:
        self._path = str(path)
        self._poll_interval = poll_interval
        self._busy_timeout_ms = busy_timeout_ms
        # The writer thread takes groups of requests from this queue, or _CHECKPOINT; None asks it to
        # finish and stop.
        self._requests: queue.SimpleQueue[list[_Request] | object | None] = queue.SimpleQueue()
        self._pending: list[_Request] = []
        """Appends of this turn of the loop, written together after it (:meth:`_flush`)."""
        self._in_flight = 0
        """Appends (and checkpoints) handed to the writer thread and not done yet."""
        self._here: sqlite3.Connection | None = None
        """The loop thread's writer connection (:meth:`_flush`): no busy wait, no automatic checkpoint."""
        self._here_commits = 0
        """Commits on the loop's thread since the writer thread was last asked for a checkpoint."""
        self._lone_write = 0.0
        """Seconds a lone append's write takes, on either thread (a moving average)."""
        self._writer_thread: threading.Thread | None = None
        self._stopped: asyncio.Future[None] | None = None
        # Commands' reads (one stream) have threads of their own, so they never queue behind the
        # relay's and the projectors' catch-up reads of the log (read_all), which have theirs.
        self._reader_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="es-reader")
        self._log_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="es-log-reader")
        self._readers = ThreadConnections(self._path, synchronous="FULL", busy_timeout_ms=busy_timeout_ms)
        self._probe: sqlite3.Connection | None = None
        """Used on the event loop's thread only, for :meth:`_head_here`."""
        self._decoded = _Decoded(decoded)
        self._committed = asyncio.Event()
        self._closed = False

    @classmethod
    async def open(cls, path: str | Path, **options: float | int) -> SqliteEventStore:
        """Open (and create if missing) the store at ``path``."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        store = cls(path, **options)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[None] = loop.create_future()
        store._stopped = loop.create_future()
        store._writer_thread = threading.Thread(
            target=store._writer_main, args=(loop, opened, store._stopped), name="es-writer", daemon=True
        )
        store._writer_thread.start()
        await opened
        # No busy wait on the loop's thread: a busy file sends the probe's question, or the append,
        # to a thread.
        store._probe = connect(store._path, synchronous="FULL", busy_timeout_ms=0)
        store._here = connect(store._path, synchronous="FULL", busy_timeout_ms=0, pragmas=("wal_autocheckpoint=0",))
        return store

    # -- the writer thread ---------------------------------------------------------------------

    def _writer_main(
        self, loop: asyncio.AbstractEventLoop, opened: asyncio.Future[None], stopped: asyncio.Future[None]
    ) -> None:
        """Open the writer connection, then write every batch of waiting requests until asked to stop
        (the requests accepted before that are written first); outcomes go back to the loop."""
        try:
            writer = connect(self._path, synchronous="FULL", busy_timeout_ms=self._busy_timeout_ms)
            writer.executescript(_SCHEMA)
        except BaseException as exc:
            _call_soon(loop, _fail, opened, exc)
            _call_soon(loop, _done, stopped)
            return
        _call_soon(loop, _done, opened)
        requests = self._requests
        stopping = False
        try:
            while not stopping:
                first = requests.get()
                if first is None:
                    break
                if first is _CHECKPOINT:
                    # The WAL of the loop thread's commits, with no write beside it (appends wait
                    # for it here, as they would for an automatic checkpoint), so that all of it
                    # is copied and the next write starts the WAL over instead of growing the file.
                    with contextlib.suppress(sqlite3.Error):
                        writer.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    _call_soon(loop, self._checkpointed)
                    continue
                assert isinstance(first, list)
                batch: list[_Request] = first
                while True:  # every group waiting now joins this group commit
                    try:
                        more = requests.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stopping = True
                        break
                    if isinstance(more, list):
                        batch.extend(more)
                    else:  # a checkpoint asked meanwhile: this commit's automatic one does it
                        _call_soon(loop, self._checkpointed)
                began = time.perf_counter()
                outcomes = self._write_guarded(writer, batch)
                _call_soon(loop, self._settled, batch, outcomes, time.perf_counter() - began)
        finally:
            writer.close()
            _call_soon(loop, _done, stopped)

    def _write_guarded(
        self, conn: sqlite3.Connection, batch: list[_Request], *, begun: bool = False
    ) -> Sequence[_Outcome]:
        """Write a group (``begun``: in the write transaction the caller began); a failure of the
        file fails its appends, and so does a bug: none waits for ever."""
        try:
            return self._write_batch(conn, batch, begun=begun)
        except sqlite3.Error as exc:
            return [EventStoreUnavailable(f"event store write failed: {exc}")] * len(batch)
        except Exception as exc:
            return [exc] * len(batch)

    def _settled(self, batch: list[_Request], outcomes: Sequence[_Outcome], spent: float) -> None:
        """On the loop: answer a written batch's requests and wake the subscribers."""
        self._in_flight -= len(batch)
        if len(batch) == 1:
            self._lone_took(spent)
        self._answer(batch, outcomes)

    def _lone_took(self, spent: float) -> None:
        """A lone append's write took ``spent`` seconds (on either thread): the moving average moves."""
        self._lone_write += (spent - self._lone_write) * 0.2

    def _checkpointed(self) -> None:
        """On the loop: the checkpoint asked by :meth:`_flush` is done."""
        self._in_flight -= 1

    def _answer(self, batch: list[_Request], outcomes: Sequence[_Outcome]) -> None:
        _settle_all(batch, outcomes)
        self._committed.set()
        self._committed = asyncio.Event()

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

    def _enqueue(self, request: _Request) -> None:
        """Take an append; it is written when this turn of the loop ends, with the others of the turn."""
        self._pending.append(request)
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Write the appends of a turn of the loop.

        A command's lone append while the writer thread is idle (a user's command, or commands one
        after another) is written here on the loop's thread: the trip to the thread and back, two
        wake-ups, cost more than the write (P0: 0.34 against 0.45 ms a command, a quarter less
        CPU). Appends that come together or while the thread writes, and bulk appends, go to the
        thread, which group-commits whatever waits: under load the loop does not wait for the disk.
        So does an append that finds the file busy (another process writing), and the thread waits
        for it; the WAL of the commits made here is checkpointed there too, with no write beside it.
        On a disk whose fsync is slow (lone writes over :data:`_HERE_MAX_SECONDS` of late) every
        append goes to the thread, as the loop must not wait that long."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        here = self._here
        if (
            here is not None
            and len(batch) == 1
            and type(batch[0]) is _Append
            and len(batch[0].events) <= _HERE_EVENTS
            and not self._in_flight
            and not self._closed
            and self._lone_write < _HERE_MAX_SECONDS
        ):
            try:
                here.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                pass  # busy: the thread waits for the file
            else:
                began = time.perf_counter()
                outcomes = self._write_guarded(here, batch, begun=True)
                self._lone_took(time.perf_counter() - began)
                self._answer(batch, outcomes)
                self._here_commits += 1
                if self._here_commits >= _CHECKPOINT_EVERY:
                    self._here_commits = 0
                    self._in_flight += 1
                    self._requests.put(_CHECKPOINT)
                return
        self._in_flight += len(batch)
        self._requests.put(batch)

    def _write_batch(self, conn: sqlite3.Connection, batch: list[_Request], *, begun: bool = False) -> list[_Outcome]:
        now = datetime.now(UTC).isoformat()
        if len(batch) == 1:
            return [self._write_alone(conn, batch[0], now, begun=begun)]
        outcomes: list[_Outcome] = []
        if not begun:
            conn.execute("BEGIN IMMEDIATE")
        try:
            for request in batch:
                conn.execute("SAVEPOINT one_append")
                try:
                    outcomes.append(self._apply(conn, request, now))
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

    def _write_alone(self, conn: sqlite3.Connection, request: _Request, now: str, *, begun: bool) -> _Outcome:
        """A request alone in its transaction: no savepoint, a refusal rolls the transaction back."""
        if not begun:
            conn.execute("BEGIN IMMEDIATE")
        try:
            outcome: _Outcome = self._apply(conn, request, now)
        except (WrongExpectedVersion, ValueError) as exc:
            conn.execute("ROLLBACK")
            return exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcome

    def _apply(self, conn: sqlite3.Connection, request: _Request, now: str) -> AppendResult | list[AppendResult]:
        if isinstance(request, _AppendMany):
            return [self._append_new(conn, item, now) for item in request.items]
        return self._append_new(conn, request, now)

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
        """An append, or an item of ``append_many``. A ``NO_STREAM`` one (a new record, an import) is
        inserted at once and the storage keys find a clash (the stream exists, or the ids were
        appended before); only then come the full checks."""
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
        self, sql: str, params: tuple[object, ...], pool: ThreadPoolExecutor | None = None, *, shared: bool = False
    ) -> list[RecordedEvent]:
        """The events of a query, on a reader thread; ``shared``: taken from and kept in the followers'
        ring of decoded events (:class:`_Decoded`)."""
        if self._closed:
            raise EventStoreUnavailable("the event store is closed")

        def run() -> list[RecordedEvent]:
            rows = self._readers.get().execute(sql, params).fetchall()
            return self._decoded.rows(rows) if shared else [_to_recorded(r) for r in rows]

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
        head = self._head_here()
        if head is not None and head <= after:
            return []  # a follower's poll with nothing new: no trip to a thread
        if self._closed:
            raise EventStoreUnavailable("the event store is closed")
        # What another follower has just read is taken from the ring, on this thread; the rest of
        # the batch, if any, is read after it.
        held = self._decoded.following(after, limit)
        if held:
            after, limit = held[-1].position, limit - len(held)
            if limit == 0 or (head is not None and head <= after):
                return held
        return held + await self._read(
            f"SELECT {_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?",
            (after, limit),
            self._log_pool,
            shared=True,
        )

    def _head_here(self) -> int | None:
        """The head of the log read on the caller's (the event loop's) thread: a lookup of the last
        row of the table, microseconds; None when the store is closed or the file busy (a checkpoint
        or a recovery), and then the caller asks on a thread as before."""
        probe = self._probe
        if probe is None or self._closed:
            return None
        try:
            row = probe.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
        except sqlite3.OperationalError:
            return None
        return int(row[0])

    async def head_position(self) -> int:
        head = self._head_here()
        if head is not None:
            return head

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
        if self._writer_thread is not None and self._stopped is not None:
            # Appends already accepted are written and answered before the files close.
            self._flush()
            self._requests.put(None)
            await self._stopped
            await asyncio.to_thread(self._writer_thread.join)
        for conn in (self._probe, self._here):
            if conn is not None:
                conn.close()
        self._probe = self._here = None
        self._reader_pool.shutdown(wait=True)
        self._log_pool.shutdown(wait=True)
        self._readers.close_all()


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: object) -> None:
    """Run ``callback`` on ``loop`` (from another thread); a loop closed meanwhile has nobody to answer."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


def _done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _fail(future: asyncio.Future[None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
