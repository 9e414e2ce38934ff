"""MongoDB read store, through PyMongo's async API (``AsyncMongoClient``; Motor is deprecated).

Each port collection is a MongoDB collection of the same name holding the documents as they were
put (after the same JSON normalisation as the SQLite adapter, so both return equal documents).

Guards: a put is ``replace_one({_id, _version: {$lt: v}}, doc, upsert=True)``. When the stored
version is the same or newer the filter matches nothing, so the upsert tries to insert a second
document with that ``_id`` and fails with a duplicate key error, which means "not applied". A
duplicate key error is told apart from a real unique-index violation by its ``keyPattern`` and, as
servers do not agree on which index they report first, by re-reading the stored version.

A delete leaves a tombstone ``{_id, _version, _deleted: true}`` so that an older redelivered put
cannot bring the document back; reads exclude tombstones. Tombstones carry no other fields, and
unique indexes are partial on their fields existing, so tombstones (and, as in SQLite, documents
without the field) never take part in uniqueness.

Changes are written with ordered ``bulk_write`` calls, one per run of consecutive changes to the
same collection (order across collections matters: projections write stream tracking after the
effects), then the checkpoint. There is no transaction; the guards make a re-applied batch harmless.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from crm_shared import jsoncodec
from crm_shared.readstore.port import Change, Delete, Document, Index, Page, Put, Query

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_DUPLICATE_KEY = 11000
_TOMBSTONE = "_deleted"
# Excludes tombstones. ``$ne: true`` rather than ``$exists: false`` so the filter reads the same in
# every query; it is a residual filter applied to fetched documents, never an index bound.
_LIVE: dict[str, Any] = {_TOMBSTONE: {"$ne": True}}
# Port collection names cannot contain a dot, so this name can never clash with one of them.
_CHECKPOINTS = "readstore.checkpoints"
# An upsert that loses an insert race to a concurrent writer of an older version is retried.
_MAX_RACE_RETRIES = 10
# The largest code point: ``text + _MAX_CHAR`` bounds every string that starts with ``text``.
_MAX_CHAR = "\U0010ffff"


def _checked(name: str, what: str) -> str:
    # Names go into collection names and filter keys: no dots, no ``$`` operators.
    if not _NAME.match(name):
        raise ValueError(f"invalid {what} name {name!r}")
    return name


class MongoReadStore:
    """The MongoDB read store. Create it with :meth:`open`."""

    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._client = client
        self._db: AsyncDatabase[Document] = client[database]

    @classmethod
    async def open(cls, uri: str, database: str) -> MongoReadStore:
        """Connect to ``uri`` and use ``database``; fails here if the server does not answer."""
        client: AsyncMongoClient[Document] = AsyncMongoClient(uri)
        try:
            await client.admin.command("ping")
        except BaseException:
            await client.close()
            raise
        return cls(client, database)

    def _collection(self, name: str) -> AsyncCollection[Document]:
        return self._db[_checked(name, "collection")]

    async def ensure_indexes(self, collection: str, indexes: Sequence[Index]) -> None:
        """Create the collection's indexes if missing (idempotent).

        Non-unique indexes get ``_id`` appended, so a query sorted by ``(field, _id)`` (the order
        :meth:`find` uses) is served by the index without an in-memory sort. Unique indexes are
        partial on every field existing, which leaves out tombstones and documents without the
        field (SQLite's unique indexes ignore NULLs the same way).
        """
        coll = self._collection(collection)
        for index in indexes:
            fields = [_checked(f, "field") for f in index.fields]
            if index.unique:
                if fields == ["_id"]:
                    continue  # MongoDB's own _id index is unique already.
                partial = {f: {"$exists": True} for f in fields if f != "_id"}
                await coll.create_index(
                    [(f, ASCENDING) for f in fields],
                    name="ux_" + "_".join(fields),
                    unique=True,
                    partialFilterExpression=partial,
                )
            else:
                keys = fields if "_id" in fields else [*fields, "_id"]
                await coll.create_index([(f, ASCENDING) for f in keys], name="ix_" + "_".join(fields))

    async def apply(self, changes: Sequence[Change], checkpoint: tuple[str, int] | None = None) -> int:
        """Apply guarded changes in order, then set checkpoint ``(name, position)`` if given.

        Returns how many changes took effect. A unique-index violation raises
        :class:`pymongo.errors.DuplicateKeyError`; the changes before it stay applied and the
        checkpoint is not written, so the caller redelivers the batch and the guards skip what
        was already applied.
        """
        # Every change is validated and encoded before the first write, so a bad one fails the
        # whole call without writing anything.
        runs: list[tuple[str, list[tuple[str, int, ReplaceOne[Document]]]]] = []
        for change in changes:
            if not runs or runs[-1][0] != change.collection:
                runs.append((change.collection, []))
            runs[-1][1].append(self._operation(change))
        applied = 0
        for collection, run in runs:
            applied += await self._write_run(collection, run)
        if checkpoint is not None:
            name, position = checkpoint
            await self._db[_CHECKPOINTS].update_one(
                {"_id": name}, {"$set": {"position": int(position)}}, upsert=True
            )
        return applied

    @staticmethod
    def _operation(change: Change) -> tuple[str, int, ReplaceOne[Document]]:
        """``(id, version, guarded upsert)`` for one change."""
        _checked(change.collection, "collection")
        if isinstance(change, Put):
            # The same JSON round trip as the SQLite adapter: datetimes and UUIDs become strings,
            # tuples lists, so both adapters return equal documents.
            document: Document = dict(jsoncodec.loads(jsoncodec.dumps(change.document)))
            if _TOMBSTONE in document:
                raise ValueError(f"{_TOMBSTONE!r} is reserved for tombstones of deleted documents")
            id, version = str(document["_id"]), int(document["_version"])
            document["_id"], document["_version"] = id, version
        elif isinstance(change, Delete):
            id, version = str(change.id), int(change.version)
            document = {"_id": id, "_version": version, _TOMBSTONE: True}
        else:  # pragma: no cover - Change is a closed union
            raise TypeError(f"not a change: {change!r}")
        guard = {"_id": id, "_version": {"$lt": version}}
        return id, version, ReplaceOne(guard, document, upsert=True)

    async def _write_run(self, collection: str, run: list[tuple[str, int, ReplaceOne[Document]]]) -> int:
        """Write consecutive changes to one collection in order; returns how many took effect."""
        coll = self._collection(collection)
        applied, start, races = 0, 0, 0
        while start < len(run):
            try:
                result = await coll.bulk_write([op for _, _, op in run[start:]], ordered=True)
            except BulkWriteError as exc:
                details = exc.details
                # An ordered bulk stops at its first error; everything before it was written.
                applied += int(details.get("nMatched", 0)) + int(details.get("nUpserted", 0))
                errors = details.get("writeErrors") or []
                if not errors or errors[0].get("code") != _DUPLICATE_KEY:
                    raise
                error = errors[0]
                failed = start + int(error["index"])
                id, version, _ = run[failed]
                verdict = await self._duplicate_verdict(coll, id, version, error)
                if verdict == "stale":
                    start = failed + 1
                    continue
                if verdict == "race" and races < _MAX_RACE_RETRIES:
                    races += 1
                    start = failed
                    continue
                raise DuplicateKeyError(
                    str(error.get("errmsg", "duplicate key")), _DUPLICATE_KEY, error
                ) from exc
            else:
                # A matched guard always changes the document (its _version grows), so matched
                # plus upserted is exactly the number of changes that took effect.
                return applied + result.matched_count + result.upserted_count
        return applied

    @staticmethod
    async def _duplicate_verdict(
        coll: AsyncCollection[Document], id: str, version: int, error: Mapping[str, Any]
    ) -> str:
        """Why an upsert hit a duplicate key: ``stale``, ``race`` or ``conflict``.

        ``stale``: the stored version is the same or newer, the guard said no (not applied).
        ``race``: the ``_id`` clashed but the stored version is older: a concurrent writer
        inserted it between our filter and our insert, so the upsert is worth retrying.
        ``conflict``: another unique index rejected the document, a real error.
        """
        stored = await coll.find_one({"_id": id}, projection={"_version": True})
        if stored is not None and int(stored.get("_version", 0)) >= version:
            return "stale"
        key_pattern = error.get("keyPattern")
        if key_pattern is None or list(key_pattern) == ["_id"]:
            return "race"
        return "conflict"

    async def get(self, collection: str, id: str) -> Document | None:
        """One document by id, or None (also for tombstones and collections never written)."""
        return await self._collection(collection).find_one({"_id": id, **_LIVE})

    @staticmethod
    def _filter(equals: Mapping[str, Any], prefix: tuple[str, str] | None) -> dict[str, Any]:
        """The filter for equality and prefix conditions, excluding tombstones."""
        clauses: list[dict[str, Any]] = [dict(_LIVE)]
        for field, value in equals.items():
            # ``$eq`` matches the value literally, so a dict value cannot smuggle in operators.
            clauses.append({_checked(field, "field"): {"$eq": value}})
        if prefix is not None:
            field, text = prefix
            # A range rather than a regex, so an index on the field serves it.
            clauses.append({_checked(field, "field"): {"$gte": text, "$lt": text + _MAX_CHAR}})
        return _merge(clauses)

    async def find(self, collection: str, query: Query) -> Page:
        """One page of documents (see :class:`Query`), ordered by ``(sort, _id)``."""
        sort = _checked(query.sort, "field")
        where = self._filter(query.equals, query.prefix)
        if query.after is not None:
            after_value, after_id = query.after
            if sort == "_id":
                keyset: dict[str, Any] = {"_id": {"$gt": after_id}}
            else:
                keyset = {
                    "$or": [{sort: {"$gt": after_value}}, {sort: after_value, "_id": {"$gt": after_id}}]
                }
            where = _merge([where, keyset])
        order = [("_id", ASCENDING)] if sort == "_id" else [(sort, ASCENDING), ("_id", ASCENDING)]
        # One more than asked tells whether there is a next page.
        cursor = self._collection(collection).find(where, sort=order, limit=query.limit + 1)
        docs = await cursor.to_list(length=query.limit + 1)
        more = len(docs) > query.limit
        items = docs[: query.limit]
        next_after = (items[-1].get(sort), str(items[-1]["_id"])) if more and items else None
        return Page(items=items, next_after=next_after)

    async def count(self, collection: str, equals: Mapping[str, Any] | None = None) -> int:
        """How many (live) documents match the equality filters."""
        return await self._collection(collection).count_documents(self._filter(equals or {}, None))

    async def checkpoint(self, name: str) -> int | None:
        """The stored checkpoint ``name``, or None if never set."""
        found = await self._db[_CHECKPOINTS].find_one({"_id": name})
        return None if found is None else int(found["position"])

    async def drop(self, collection: str) -> None:
        """Delete a whole collection with its indexes and tombstones."""
        await self._db.drop_collection(_checked(collection, "collection"))

    async def close(self) -> None:
        """Close the client's connections."""
        await self._client.close()


def _merge(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    """AND the clauses: one flat filter when their keys are distinct, ``$and`` otherwise."""
    merged: dict[str, Any] = {}
    for clause in clauses:
        if merged.keys() & clause.keys():
            return {"$and": clauses}
        merged.update(clause)
    return merged
