"""Resolved API keys, kept in this process and dropped by the events that change them.

Resolving a key reads two streams (the key's reservation and its owner's stream) and folds the
owner's events: too much for every request of a busy integration. :class:`KeyCache` keeps what a
resolution found (the key's digest and the caller it acts as), and follows the gateway's event log
from its own position, in memory: any event on a user's stream (a revoked key, a lock, roles or
access groups taken away, ...) drops every key of that user. Its own position, not the views'
checkpoint, because replicas share the views: another replica may have caught them up already.

Entries are trusted only while the follower is fresh: when no refresh has completed within
``max_staleness`` seconds (the store is slow, the loop not started), :meth:`KeyCache.get` answers
nothing and keys are resolved from the streams again. So a change committed at time T stops
every cached use by T + ``max_staleness`` in every process, and at once in the process that made
it (its command handlers refresh the cache after each append). A request that finds its key cached
but the follower late (a busy event loop delays the background refresh) catches the cache up itself
(:meth:`KeyCache.current`: one read of the log past its position, shared by the requests waiting
meanwhile) rather than reading the key's streams: the same bound, without every request of a busy
process reading two streams and folding a user when the loop is already behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from crm_gateway.domain import user as u
from crm_shared.eventstore import EventStore
from crm_shared.identity import Caller

log = logging.getLogger(__name__)

_USER_STREAM = u.stream_of("")
"""Prefix of every user's stream (``user-``)."""


@dataclass(frozen=True, slots=True)
class CachedKey:
    """What resolving a key found: its owner, the SHA-256 of its secret, and the caller it acts as."""

    owner_id: str
    secret_sha256: str
    caller: Caller
    cached_at: float


class KeyCache:
    """API keys resolved by this process, invalidated by the owner's events (see the module)."""

    def __init__(
        self,
        store: EventStore,
        *,
        max_staleness: float = 1.0,
        poll_interval: float = 0.2,
        ttl: float = 300.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if poll_interval >= max_staleness:
            raise ValueError("poll_interval must be shorter than max_staleness, or the cache is never fresh")
        self._store = store
        self._max_staleness = max_staleness
        self._poll_interval = poll_interval
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._keys: dict[str, CachedKey] = {}
        self._position: int | None = None  # None: not following yet, nothing is trusted
        self._fresh_at = -float("inf")
        self._generation = 0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def generation(self) -> int:
        """Changes whenever entries are dropped: take it before resolving a key, give it to :meth:`put`."""
        return self._generation

    def get(self, key_id: str) -> CachedKey | None:
        """The cached resolution of ``key_id``, or None (absent, too old, or the follower is not fresh)."""
        entry = self._keys.get(key_id)
        if entry is None:
            return None
        now = self._clock()
        if now - self._fresh_at > self._max_staleness or now - entry.cached_at > self._ttl:
            return None
        return entry

    async def current(self, key_id: str) -> CachedKey | None:
        """As :meth:`get`, but a kept entry whose only fault is a late follower is answered after the
        cache has caught up with the log here and now (None if that fails: the streams are read)."""
        entry = self.get(key_id)
        if entry is not None or self._position is None:
            return entry
        kept = self._keys.get(key_id)
        if kept is None or self._clock() - kept.cached_at > self._ttl:
            return None
        try:
            await self._refresh(only_if_stale=True)
        except Exception:
            log.exception("gateway: catching the key cache up with the log failed")
            return None
        return self.get(key_id)

    def put(self, key_id: str, owner_id: str, secret_sha256: str, caller: Caller, generation: int) -> None:
        """Keep a resolution made from streams read after :attr:`generation` was ``generation``.

        Dropped when an invalidation happened since (the streams read may be older than it).
        """
        if generation != self._generation or self._position is None:
            return
        if len(self._keys) >= self._max_entries:
            self._keys.pop(next(iter(self._keys)))  # the oldest
        self._keys[key_id] = CachedKey(owner_id, secret_sha256, caller, self._clock())

    def drop_user(self, user_id: str) -> None:
        """Forget every key of ``user_id``."""
        self._generation += 1
        for key_id in [k for k, e in self._keys.items() if e.owner_id == user_id]:
            del self._keys[key_id]

    def clear(self) -> None:
        """Forget everything."""
        self._generation += 1
        self._keys.clear()

    async def refresh(self) -> None:
        """Read the log past this cache's position and drop the keys of every user whose stream changed."""
        await self._refresh(only_if_stale=False)

    async def _refresh(self, *, only_if_stale: bool) -> None:
        async with self._lock:
            started = self._clock()
            if only_if_stale and started - self._fresh_at <= self._max_staleness:
                return  # caught up by the refresh this one waited for
            if self._position is None:
                # Nothing is cached before the first position: whatever comes after it is followed.
                self._position = await self._store.head_position()
                self._fresh_at = started
                return
            head = await self._store.head_position()
            while self._position < head:
                batch = await self._store.read_all(self._position, limit=1000)
                if not batch:
                    break
                for recorded in batch:
                    if recorded.stream.startswith(_USER_STREAM):
                        self.drop_user(recorded.stream.removeprefix(_USER_STREAM))
                self._position = batch[-1].position
            self._fresh_at = started

    def start(self) -> None:
        """Follow the log in the background until :meth:`stop`."""
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="gateway-key-cache")

    async def _follow(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # not fresh until a refresh succeeds: keys are read from the streams
                log.exception("gateway: following the log for the key cache failed")
            await asyncio.sleep(self._poll_interval)

    async def stop(self) -> None:
        """Stop following; nothing cached is trusted any more."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.clear()
        self._fresh_at = -float("inf")
