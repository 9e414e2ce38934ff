"""The state store port: small records a service owns and cannot rebuild from its events.

Unlike the read store, nothing here is a view: no projection writes it and no rebuild drops it, so
it is backed up with the event store. A record is a JSON object under a key in a collection, with a
version that every write raises by one (the first write makes version 1). Writes are compare-and-set:
``put(..., expected_version=v)`` succeeds only while the stored version is ``v`` (0: the record must
not exist), else :class:`VersionConflict`; ``expected_version=None`` writes unconditionally.

Collection names are ``[A-Za-z_][A-Za-z0-9_]*`` (at most 63 characters); keys are non-empty strings
of at most 512 characters without NUL, listed in code-point order, one page at a time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

_COLLECTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
MAX_KEY = 512


class VersionConflict(Exception):
    """The record is not at the version the write expected (a concurrent writer came first)."""

    def __init__(self, collection: str, key: str, expected: int, actual: int) -> None:
        super().__init__(f"{collection}/{key} is at version {actual}, not {expected}")
        self.expected = expected
        self.actual = actual


def check_collection(name: str) -> str:
    """``name`` if it is a valid collection name, else :class:`ValueError`."""
    if not _COLLECTION.match(name):
        raise ValueError(f"invalid collection name {name!r}")
    return name


def check_key(key: str) -> str:
    """``key`` if it is a valid record key, else :class:`ValueError`."""
    if not key or len(key) > MAX_KEY or "\x00" in key:
        raise ValueError(f"invalid record key {key!r}")
    return key


@dataclass(frozen=True, slots=True)
class Record:
    """A stored record: its key, version and value."""

    key: str
    version: int
    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordPage:
    """Records of one page by key, and the key to pass as ``after`` for the next (None on the last)."""

    items: list[Record]
    next_after: str | None


class StateStore(Protocol):
    """Versioned records by collection and key."""

    async def get(self, collection: str, key: str) -> Record | None:
        """The record, or None."""
        ...

    async def get_many(self, collection: str, keys: list[str]) -> dict[str, Record]:
        """The records of ``keys`` that exist, by key (one round trip)."""
        ...

    async def put(
        self, collection: str, key: str, value: Mapping[str, Any], *, expected_version: int | None = None
    ) -> int:
        """Write the record and return its new version; :class:`VersionConflict` if ``expected_version``
        (0: absent) is not the stored one."""
        ...

    async def delete(self, collection: str, key: str, *, expected_version: int | None = None) -> bool:
        """Delete the record; whether there was one. :class:`VersionConflict` if ``expected_version`` is
        given and the record is not at it (a missing record is at version 0)."""
        ...

    async def list(
        self, collection: str, *, prefix: str = "", after: str | None = None, limit: int = 100
    ) -> RecordPage:
        """Up to ``limit`` records whose key starts with ``prefix``, by key, after the key ``after``."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
