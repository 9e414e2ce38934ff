"""The blob store port: named byte streams too large for a document (uploads, exports, reports).

A key is a relative name of ``/``-separated segments, each of letters, digits, ``_``, ``-`` and
``.`` and not starting with a dot (so no ``..``, no hidden or temporary names, no absolute paths):
``jobs/0f3a…/report.csv``. Writes are all or nothing: a reader sees the old blob or the new one,
never part of one, and a put that fails (its chunks raise, the process dies) leaves no blob behind.
Content streams in and out in chunks; no adapter holds a whole large blob in memory.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

Chunks = AsyncIterable[bytes]
"""A blob's content as it arrives, e.g. an HTTP request body."""

_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$")
MAX_KEY = 1024


class BlobNotFound(LookupError):
    """No blob has that key."""


def check_key(key: str) -> str:
    """``key`` if it is a valid relative blob name, else :class:`ValueError`."""
    segments = key.split("/")
    if not key or len(key) > MAX_KEY or not all(_SEGMENT.match(s) for s in segments):
        raise ValueError(f"invalid blob key {key!r}: relative segments of [A-Za-z0-9._-], none starting with '.'")
    return key


def check_prefix(prefix: str) -> str:
    """``prefix`` (a folder of keys, ``""`` for all) if valid, without a trailing slash."""
    prefix = prefix.rstrip("/")
    return prefix if prefix == "" else check_key(prefix)


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """A stored blob: its key, size in bytes and when it was last written."""

    key: str
    size: int
    modified: datetime


class BlobStore(Protocol):
    """Blobs by key, streamed in and out."""

    async def put(self, key: str, data: bytes | Chunks) -> BlobInfo:
        """Store ``data`` (bytes, or chunks streamed as they come) under ``key``, replacing any blob
        there, all or nothing."""
        ...

    async def put_file(self, key: str, path: Path) -> BlobInfo:
        """Store a local file under ``key``, streamed from disk."""
        ...

    def open(self, key: str) -> AsyncIterator[bytes]:
        """The blob's content in chunks; :class:`BlobNotFound` on the first step if it is missing."""
        ...

    async def get(self, key: str) -> bytes:
        """The whole blob (for small ones); :class:`BlobNotFound` if missing."""
        ...

    async def get_file(self, key: str, path: Path) -> BlobInfo:
        """Copy the blob into the local file ``path`` (replaced), streamed; :class:`BlobNotFound` if missing."""
        ...

    async def stat(self, key: str) -> BlobInfo | None:
        """The blob's size and time, or None if missing."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether a blob has that key."""
        ...

    async def delete(self, key: str) -> None:
        """Delete the blob if there is one."""
        ...

    async def list(self, prefix: str = "", *, after: str | None = None, limit: int = 1000) -> list[BlobInfo]:
        """Up to ``limit`` blobs in the folder ``prefix`` (and below), by key, after the key ``after``."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
