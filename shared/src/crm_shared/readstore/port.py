"""The read store port: documents of read models, kept by projections, read by queries.

A document is a JSON object with a string ``_id`` and an integer ``_version``: the version (e.g. the
source stream's version, or a position) of the last change applied to it. Writes are guarded by it
(``put`` only replaces an older version), so replaying or redelivering events is harmless; this is
the per-document position guard that makes projections idempotent on stores without transactions.

Queries are deliberately narrow (equality filters, one prefix filter, one sort field, keyset
pagination) so every adapter can serve them from an index, deep into millions of documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Index:
    """A (compound) ascending index on top-level fields of a collection's documents."""

    fields: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A page of documents.

    ``equals`` filters on top-level fields; ``within`` is ``(field, values)`` and keeps documents whose
    field is one of the values (none when empty); ``prefix`` is ``(field, text)`` and matches values that
    start with ``text`` (store normalised values, e.g. case-folded, to search case-insensitively);
    results are ordered by ``sort`` then ``_id``; ``after`` is the ``(sort value, _id)`` of the
    previous page's last document. Every document of a sorted collection must have the sort field
    (projections store it always), since keyset pages cannot step over missing values portably.
    """

    equals: Mapping[str, Any] = field(default_factory=dict)
    prefix: tuple[str, str] | None = None
    sort: str = "_id"
    after: tuple[Any, str] | None = None
    limit: int = 50
    within: tuple[str, Sequence[Any]] | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """Documents of one page, and the ``after`` key of the next page (None on the last page)."""

    items: list[Document]
    next_after: tuple[Any, str] | None


@dataclass(frozen=True, slots=True)
class Put:
    """Replace (or insert) a document unless the stored one has the same or a newer ``_version``."""

    collection: str
    document: Document


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete a document if its stored ``_version`` is older than ``version``."""

    collection: str
    id: str
    version: int


Change = Put | Delete


class ReadStore(Protocol):
    """Document storage for read models."""

    async def ensure_indexes(self, collection: str, indexes: Sequence[Index]) -> None:
        """Create the collection's indexes if missing (idempotent)."""
        ...

    async def apply(self, changes: Sequence[Change], checkpoint: tuple[str, int] | None = None) -> int:
        """Apply guarded changes and, if given, set checkpoint ``(name, position)``.

        Embedded adapters do it in one transaction; others may apply the changes first and then the
        checkpoint, which the guards make safe. Returns how many changes took effect.
        """
        ...

    async def get(self, collection: str, id: str) -> Document | None:
        """One document by id, or None."""
        ...

    async def get_many(self, collection: str, ids: Sequence[str]) -> dict[str, Document]:
        """The documents of ``ids`` that exist, by id (one round trip for a projection's batch)."""
        ...

    async def find(self, collection: str, query: Query) -> Page:
        """One page of documents (see :class:`Query`)."""
        ...

    async def count(self, collection: str, equals: Mapping[str, Any] | None = None) -> int:
        """How many documents match the equality filters."""
        ...

    async def checkpoint(self, name: str) -> int | None:
        """The stored checkpoint ``name``, or None if never set."""
        ...

    async def drop(self, collection: str) -> None:
        """Delete a whole collection (used when a projection is rebuilt under a new version)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
