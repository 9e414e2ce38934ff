"""A durable embedded log: the bus for one machine.

Topics live in one SQLite file (WAL, ``synchronous=FULL`` for publishes), each topic a single
ordered partition; consumer-group offsets sit beside them and are committed after the handler
returned, exactly as with Kafka (once per fetched batch, as Kafka consumers commit per poll). One
subscription per (group, topic) at a time: that is all one machine needs, and it keeps the order
total. Publishers in this process wake subscribers at once; other processes on the same file are
seen by polling. A batch subscription gets each fetched batch (up to ``batch_size`` messages of a
topic) in one call.

A publish wakes every subscription of this process, but each reads only the topics that may have
something new: one this process published to since its last read found it empty, one whose last
read brought messages (there may be more), or, once its poll is due (every ``poll_interval``), one
read empty before the log's last offset grew (what other processes publish: the last offset of the
whole log is one lookup, shared by every subscription for half a poll interval, and made on the
event loop's thread: an index lookup of microseconds, cheaper than a trip to a thread, which goes to
a thread only when the file is busy). So a command's event costs a read of its topic by each of its
consumers, not a read of every topic of every consumer, and an idle bus costs one lookup per poll,
not a read per topic and consumer.

This process's writes (publishes, offset commits) go through one writer thread, so they never wait
for each other on the file's lock (SQLite's busy wait is not fair: a commit could starve behind a
stream of publishes); reads have threads of their own. A subscription outlives a failed read or
commit of the file (busy beyond the timeout because another process writes, a full disk): it says
so, waits and goes on from the last batch its handler took, whose offset it commits when it can.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from crm_shared import jsoncodec
from crm_shared.bus.port import (
    BatchHandler,
    BusUnavailable,
    Handler,
    Message,
    PoisonMessage,
    dead_letter,
    one_by_one,
    report_dead_letter,
)
from crm_shared.sqlite import ThreadConnections, connect

log = logging.getLogger(__name__)
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    offset       INTEGER PRIMARY KEY AUTOINCREMENT,
    topic        TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        BLOB NOT NULL,
    headers      BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_topic ON messages (topic, offset);
CREATE TABLE IF NOT EXISTS group_offsets (
    grp    TEXT NOT NULL,
    topic  TEXT NOT NULL,
    offset INTEGER NOT NULL,
    PRIMARY KEY (grp, topic)
);
"""


_MAX_BACKOFF = 5.0
"""Seconds a subscription waits at most before it tries a failing file again."""

_LAST_OFFSET = "SELECT coalesce(max(offset), 0) FROM messages"


class EmbeddedBus:
    """The embedded bus over one SQLite file."""

    def __init__(
        self, path: str | Path, *, poll_interval: float = 0.05, batch_size: int = 200, busy_timeout_ms: int = 5000
    ) -> None:
        self._path = str(path)
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bus")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bus-writer")
        self._connections = ThreadConnections(self._path, synchronous="FULL", busy_timeout_ms=busy_timeout_ms)
        self._published = asyncio.Event()
        self._marks: dict[str, int] = {}
        """Per topic, how many publishes of this process have reached it (see the module docstring)."""
        self._last: tuple[float, int] = (-math.inf, 0)
        """When the log's last offset was looked up, and what it was."""
        self._subscriptions: list[_EmbeddedSubscription] = []
        self._started = False
        self._probe: sqlite3.Connection | None = None
        """Used on the event loop's thread only, for :meth:`_last_here`."""

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A read, on a reader thread."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, lambda: work(self._connections.get()))

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A write, on the writer thread."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, lambda: work(self._connections.get()))

    async def start(self) -> None:
        """Create the file and its tables if missing."""
        if self._started:
            return
        Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        await self._write(lambda c: c.executescript(_SCHEMA))
        # No busy wait on the loop's thread: a busy file sends the lookup to a thread.
        self._probe = connect(self._path, synchronous="FULL", busy_timeout_ms=0)
        self._started = True

    async def publish(self, messages: Sequence[Message]) -> None:
        """Append the messages in one transaction (durable when this returns)."""
        if not messages:
            return
        rows = [(m.topic, m.key, m.value, jsoncodec.dumps(dict(m.headers))) for m in messages]

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT INTO messages (topic, key, value, headers) VALUES (?, ?, ?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        try:
            await self._write(work)
        except sqlite3.Error as exc:
            raise BusUnavailable(f"embedded bus publish failed: {exc}") from exc
        for topic in {m.topic for m in messages}:
            self._marks[topic] = self._marks.get(topic, 0) + 1
        self._published.set()
        self._published = asyncio.Event()

    async def subscribe(
        self,
        topics: Sequence[str],
        group: str,
        handler: Handler,
        *,
        max_attempts: int = 5,
        from_beginning: bool = True,
    ) -> _EmbeddedSubscription:
        """Consume ``topics`` as ``group`` (see the port's rules)."""

        return await self._subscribe(topics, group, one_by_one(handler), max_attempts, from_beginning, batches=False)

    async def subscribe_batches(
        self,
        topics: Sequence[str],
        group: str,
        handler: BatchHandler,
        *,
        max_attempts: int = 5,
        from_beginning: bool = True,
    ) -> _EmbeddedSubscription:
        """Consume ``topics`` as ``group``, a fetched batch per call (see the port's rules)."""
        return await self._subscribe(topics, group, handler, max_attempts, from_beginning, batches=True)

    async def _subscribe(
        self,
        topics: Sequence[str],
        group: str,
        handler: BatchHandler,
        max_attempts: int,
        from_beginning: bool,
        *,
        batches: bool,
    ) -> _EmbeddedSubscription:
        await self.start()
        subscription = _EmbeddedSubscription(self, list(topics), group, handler, max_attempts, from_beginning, batches)
        await subscription.begin()
        self._subscriptions.append(subscription)
        return subscription

    async def stop(self) -> None:
        """Stop every subscription and close the file."""
        for subscription in list(self._subscriptions):
            await subscription.stop()
        self._writer.shutdown(wait=True)
        self._pool.shutdown(wait=True)
        self._connections.close_all()
        if self._probe is not None:
            self._probe.close()
            self._probe = None

    # -- used by subscriptions -----------------------------------------------------------------

    async def _offset(self, group: str, topic: str, from_beginning: bool) -> int:
        def work(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT offset FROM group_offsets WHERE grp = ? AND topic = ?", (group, topic)
            ).fetchone()
            if row is not None:
                return int(row[0])
            if from_beginning:
                return 0
            end = conn.execute("SELECT coalesce(max(offset), 0) FROM messages WHERE topic = ?", (topic,)).fetchone()
            return int(end[0])

        return await self._run(work)

    async def _last_offset(self) -> int:
        """The last offset of the whole log (any topic, any process), at most half a poll old."""
        now = asyncio.get_running_loop().time()
        if now - self._last[0] < self._poll_interval / 2:
            return self._last[1]
        last = self._last_here()
        if last is None:
            last = await self._run(lambda c: int(c.execute(_LAST_OFFSET).fetchone()[0]))
        self._last = (now, last)  # the time before the lookup: the value is never newer than it says
        return last

    def _last_here(self) -> int | None:
        """The last offset looked up on the caller's (the event loop's) thread, or None when the bus
        is stopped or the file busy (a checkpoint, a recovery)."""
        probe = self._probe
        if probe is None:
            return None
        try:
            return int(probe.execute(_LAST_OFFSET).fetchone()[0])
        except sqlite3.OperationalError:
            return None

    async def _fetch(self, topic: str, after: int) -> list[tuple[int, Message]]:
        def work(conn: sqlite3.Connection) -> list[tuple[int, Message]]:
            rows = conn.execute(
                "SELECT offset, key, value, headers FROM messages"
                " WHERE topic = ? AND offset > ? ORDER BY offset LIMIT ?",
                (topic, after, self._batch_size),
            ).fetchall()
            return [(int(o), Message(topic, str(k), bytes(v), jsoncodec.loads(h))) for o, k, v, h in rows]

        return await self._run(work)

    async def _commit(self, group: str, topic: str, offset: int) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO group_offsets (grp, topic, offset) VALUES (?, ?, ?)"
                " ON CONFLICT(grp, topic) DO UPDATE SET offset = excluded.offset",
                (group, topic, offset),
            )
        )


class _EmbeddedSubscription:
    def __init__(
        self,
        bus: EmbeddedBus,
        topics: list[str],
        group: str,
        handler: BatchHandler,
        max_attempts: int,
        from_beginning: bool,
        batches: bool,
    ) -> None:
        self._bus = bus
        self._topics = topics
        self._group = group
        self._handler = handler
        self._batches = batches
        self._max_attempts = max_attempts
        self._from_beginning = from_beginning
        self._offsets: dict[str, int] = {}
        """Per topic, the offset of the last message its handler took."""
        self._committed: dict[str, int] = {}
        """Per topic, the offset last committed for the group."""
        self._empty_at: dict[str, tuple[int, float, int]] = {}
        """Per topic whose last read found nothing: the publish mark, the time of that read (or of the
        last poll that found the log unchanged) and the log's last offset before it."""
        self._task: asyncio.Task[None] | None = None

    async def begin(self) -> None:
        for topic in self._topics:
            self._offsets[topic] = await self._bus._offset(self._group, topic, self._from_beginning)
            # Pin a group that starts at the end, so messages published before its first poll count.
            await self._bus._commit(self._group, topic, self._offsets[topic])
            self._committed[topic] = self._offsets[topic]
        self._task = asyncio.create_task(self._run(), name=f"bus-{self._group}")

    def _may_have_news(self, topic: str, mark: int, now: float, last: int) -> bool:
        """Whether ``topic`` is worth a read now (see the module docstring); ``last``: the log's last
        offset, looked up before."""
        empty = self._empty_at.get(topic)
        if empty is None or empty[0] != mark:
            return True
        # 0.9: a poll timer may fire a little early (uvloop rounds to milliseconds); it must still poll.
        if now - empty[1] < 0.9 * self._bus._poll_interval:
            return False
        if last > empty[2]:
            return True
        self._empty_at[topic] = (mark, now, empty[2])  # polled: nothing was written since
        return False

    async def _run(self) -> None:
        poll = self._bus._poll_interval
        backoff = poll
        while True:
            wake = self._bus._published
            try:
                handled = await self._poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the file: busy beyond the timeout (another process), a disk error
                log.warning("subscription %s: the bus failed, retrying in %.2fs: %r", self._group, backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            backoff = poll
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll):  # not wait_for: on 3.11 it can swallow a cancel
                        await wake.wait()

    async def _poll(self) -> int:
        """Read and hand over what is new on each topic; how many messages were handed over."""
        loop = asyncio.get_running_loop()
        handled = 0
        for topic in self._topics:
            # One durable commit per fetched batch, after its effects: a crash (or a stop) in the
            # middle redelivers at most this batch, which idempotent handlers absorb. A commit that
            # failed is made on the next pass.
            if self._committed.get(topic) != self._offsets[topic]:
                await self._bus._commit(self._group, topic, self._offsets[topic])
                self._committed[topic] = self._offsets[topic]
            mark, now = self._bus._marks.get(topic, 0), loop.time()
            last = await self._bus._last_offset()
            if not self._may_have_news(topic, mark, now, last):
                continue
            fetched = await self._bus._fetch(topic, self._offsets[topic])
            if fetched:
                self._empty_at.pop(topic, None)
            else:
                self._empty_at[topic] = (mark, now, last)
            if fetched and self._batches and await self._deliver_batch([m for _, m in fetched]):
                self._offsets[topic] = fetched[-1][0]
                handled += len(fetched)
            else:
                for offset, message in fetched:
                    await self._deliver(message)
                    self._offsets[topic] = offset
                    handled += 1
            if fetched:
                await self._bus._commit(self._group, topic, self._offsets[topic])
                self._committed[topic] = self._offsets[topic]
        return handled

    async def _deliver_batch(self, messages: list[Message]) -> bool:
        """The whole batch to the handler at once; False when it failed (then one by one)."""
        try:
            await self._handler(messages)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info(
                "batch handler of %s failed, handing its %d messages one by one: %r", self._group, len(messages), exc
            )
            return False
        return True

    async def _deliver(self, message: Message) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._handler([message])
                return
            except PoisonMessage as exc:
                reason = f"poison: {exc}"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if attempt < self._max_attempts:
                    log.warning("handler of %s failed (attempt %d): %r", self._group, attempt, exc)
                    await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
                    continue
                reason = f"failed {attempt} times: {exc!r}"
            letter = dead_letter(message, self._group, reason)
            await self._bus.publish([letter])
            report_dead_letter(letter)
            return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self in self._bus._subscriptions:
            self._bus._subscriptions.remove(self)
