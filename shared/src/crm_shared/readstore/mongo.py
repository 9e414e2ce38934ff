"""MongoDB read store, through PyMongo's async API (``AsyncMongoClient``; Motor is deprecated).

Each port collection is a MongoDB collection of the same name holding the documents as they were
put (after the same JSON normalisation as the SQLite adapter, so both return equal documents).

Guards: a put is ``replace_one({_id, _version: {$lt: v}}, doc, upsert=True)``. When the stored
version is the same or newer the filter matches nothing, so the upsert tries to insert a second
document with that ``_id`` and fails with a duplicate key error, which means "not applied". Such an
error is told apart from a real unique-index violation by re-reading the stored version and by the
error's ``keyPattern`` (servers do not agree on which index they report when both clash).

A delete leaves a tombstone ``{_id, _version, _deleted: true}`` so that an older redelivered put
cannot bring the document back; reads exclude tombstones. Tombstones carry no other fields, so
unique indexes, partial on their fields holding a non-null value, never see them (nor, as in
SQLite, documents whose field is missing or null), and any filter on another field excludes them
without a further condition.

Changes are written with ordered ``bulk_write`` calls, one per run of consecutive changes to the
same collection (order across collections matters: projections write stream tracking after the
effects), then the checkpoint. There is no transaction; the guards make a re-applied batch harmless.
A long run (a rebuild's batch, a backlog) first reads the stored versions of its documents, drops
the changes they make stale and inserts the documents not stored at all with one ``insert_many``
(much cheaper for a server than guarded upserts); only the rest goes through guarded upserts.
Documents are normalised for every change of a call with one JSON round trip, and ``$in`` lists
are sent in chunks (servers that match them value by value slow down with their square).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pymongo import ASCENDING, AsyncMongoClient, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from crm_shared import jsoncodec
from crm_shared.readstore.port import Change, Delete, Document, Index, Page, Put, Query

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_DUPLICATE_KEY = 11000
_TOMBSTONE = "_deleted"
# The fields a tombstone has: a condition on any other field that cannot match a missing value
# already excludes tombstones.
_TOMBSTONE_FIELDS = frozenset({"_id", "_version", _TOMBSTONE})
# Port collection names cannot contain a dot, so this name never clashes with one of them.
_CHECKPOINTS = "readstore.checkpoints"
# An upsert that loses an insert race to a concurrent writer of an older version is retried.
_MAX_RACE_RETRIES = 10
# Ids per ``$in`` query: servers that match ``$in`` value by value (SecantusDB) slow down with the
# square of its length, so long lists go in chunks.
_IN_CHUNK = 100
# Runs of at least this many changes read the stored versions first (one query per chunk), so
# redelivered changes are dropped before writing and absent documents are inserted in bulk; a
# shorter run (a live batch) is written at once: its guards rarely fail, and a failure costs one read.
_READ_FIRST = 50
# The largest code point: ``text + _MAX_CHAR`` bounds every string that starts with ``text``.
_MAX_CHAR = "\U0010ffff"
# Every BSON type a JSON value maps to, except null ("number" covers int, long and double).
_NON_NULL_TYPES = ("string", "number", "bool", "object", "array")

_Op = tuple[str, int, ReplaceOne[Document], Document]
"""A change as ``(id, version, guarded upsert, the document it writes)``."""
_Verdict = Literal["stale", "race", "conflict"]


def _checked(name: str, what: str) -> str:
    # Names become collection names and filter keys: no dots, no ``$`` operators.
    if not _NAME.match(name):
        raise ValueError(f"invalid {what} name {name!r}")
    return name


class _Filter:
    """A MongoDB filter built from per-field conditions.

    Conditions on one field merge into one operator document (``{$gte, $lt, $gt}``), so the filter
    stays flat: flat filters of equalities plus one range are what index planners (SecantusDB's
    above all, which gives up on any top-level ``$`` operator) serve from a compound index.
    """

    def __init__(self) -> None:
        self._fields: dict[str, Any] = {}
        self._clashes: list[dict[str, Any]] = []
        self._excludes_tombstones = False

    def equals(self, field: str, value: Any) -> _Filter:
        _checked(field, "field")
        # ``$eq`` matches a mapping literally, so a dict value cannot smuggle in operators.
        if isinstance(value, Mapping):
            return self.op(field, "$eq", value)
        if value is not None and field not in _TOMBSTONE_FIELDS:
            self._excludes_tombstones = True
        current = self._fields.get(field)
        if field not in self._fields:
            self._fields[field] = value
        elif isinstance(current, dict) and "$eq" not in current:
            current["$eq"] = value
        elif current != value and not (isinstance(current, dict) and current.get("$eq") == value):
            self._clashes.append({field: value})
        return self

    def op(self, field: str, op: str, value: Any) -> _Filter:
        _checked(field, "field")
        # A range with a non-null bound never matches a missing field (nor does ``$ne: null``).
        if field not in _TOMBSTONE_FIELDS and (value is not None) != (op == "$ne"):
            self._excludes_tombstones = True
        current = self._fields.get(field)
        if field not in self._fields:
            self._fields[field] = {op: value}
        elif not isinstance(current, dict):
            self._fields[field] = {"$eq": current, op: value}
        elif op not in current:
            current[op] = value
        else:
            self._clashes.append({field: {op: value}})
        return self

    def prefix(self, field: str, text: str) -> _Filter:
        # A range rather than a regex, so an index on the field serves it.
        return self.op(field, "$gte", text).op(field, "$lt", text + _MAX_CHAR)

    def build(self) -> dict[str, Any]:
        where = dict(self._fields)
        if not self._excludes_tombstones:
            # Last, so a planner that serves one clause at a time picks a real one first.
            where[_TOMBSTONE] = {"$ne": True}
        return {"$and": [where, *self._clashes]} if self._clashes else where


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

        Every index is created as ``ix_<fields>`` on the fields plus ``_id``, so queries ordered by
        ``(field, _id)``, as :meth:`find` orders them, and its keyset conditions are served without
        an in-memory sort. A unique index adds ``ux_<fields>``, unique and partial on every field
        holding a non-null value: tombstones (which have no fields) and documents whose field is
        missing or null never clash, exactly as SQLite's unique indexes ignore NULLs. Being
        partial, ``ux_`` cannot serve every query on its fields, hence the ``ix_`` beside it.
        """
        coll = self._collection(collection)
        for index in indexes:
            fields = [_checked(f, "field") for f in index.fields]
            if fields == ["_id"]:
                continue  # MongoDB's own unique _id index serves it.
            keys = fields if "_id" in fields else [*fields, "_id"]
            await coll.create_index([(f, ASCENDING) for f in keys], name="ix_" + "_".join(fields))
            if index.unique:
                # ``$type`` because partial filters allow neither ``$ne: null`` nor ``$not``.
                non_null = {f: {"$type": list(_NON_NULL_TYPES)} for f in fields if f != "_id"}
                await coll.create_index(
                    [(f, ASCENDING) for f in fields],
                    name="ux_" + "_".join(fields),
                    unique=True,
                    partialFilterExpression=non_null,
                )

    async def apply(self, changes: Sequence[Change], checkpoint: tuple[str, int] | None = None) -> int:
        """Apply guarded changes in order, then set checkpoint ``(name, position)`` if given.

        Returns how many changes took effect. A unique-index violation raises
        :class:`pymongo.errors.DuplicateKeyError`; the changes before it stay applied and the
        checkpoint is not written, so the caller's redelivery re-applies the batch and the guards
        skip what was already applied.
        """
        # Every change is validated and encoded before the first write, so a bad one fails the
        # whole call without writing anything.
        # The same JSON round trip as the SQLite adapter (datetimes and UUIDs become strings, tuples
        # lists, so both adapters return equal documents), for every document at once.
        normalised = iter(jsoncodec.loads(jsoncodec.dumps([c.document for c in changes if isinstance(c, Put)])))
        runs: list[tuple[str, list[_Op]]] = []
        for change in changes:
            if not runs or runs[-1][0] != change.collection:
                runs.append((change.collection, []))
            runs[-1][1].append(_operation(change, next(normalised) if isinstance(change, Put) else None))
        applied = 0
        for collection, run in runs:
            applied += await self._write_run(self._collection(collection), run)
        if checkpoint is not None:
            name, position = checkpoint
            await self._db[_CHECKPOINTS].update_one({"_id": name}, {"$set": {"position": int(position)}}, upsert=True)
        return applied

    async def _write_run(self, coll: AsyncCollection[Document], run: list[_Op]) -> int:
        """Write consecutive changes to one collection in order; returns how many took effect."""
        applied = 0
        if len(run) >= _READ_FIRST:
            run, absent = await _without_stale(coll, run)
            if len(absent) > 1:
                # Documents not stored yet (a rebuild writes little else): one insert_many, which
                # servers take far faster than guarded upserts; whichever meets a document stored
                # meanwhile goes through the guarded path below after all.
                inserted, clashed = await _insert_absent(coll, absent)
                applied += inserted
                inserted_by_id = {op[0]: op for op in absent if op[0] not in clashed}
                run = [op for op in run if inserted_by_id.get(op[0]) is not op]
        start, races = 0, 0
        while start < len(run):
            try:
                result = await coll.bulk_write([op for _, _, op, _ in run[start:]], ordered=True)
            except BulkWriteError as exc:
                details = exc.details
                # An ordered bulk stops at its first error; everything before it was written.
                applied += int(details.get("nMatched", 0)) + int(details.get("nUpserted", 0))
                errors = details.get("writeErrors") or []
                if not errors or errors[0].get("code") != _DUPLICATE_KEY:
                    raise
                error = errors[0]
                failed = start + int(error["index"])
                id, version, _, _ = run[failed]
                verdict = await _duplicate_verdict(coll, id, version, error)
                if verdict == "stale":
                    start = failed + 1
                elif verdict == "race" and races < _MAX_RACE_RETRIES:
                    races += 1
                    start = failed
                else:
                    message = str(error.get("errmsg", "duplicate key"))
                    raise DuplicateKeyError(message, _DUPLICATE_KEY, error) from exc
            else:
                # A guard that matched always changes the document (its _version grows), so
                # matched plus upserted is exactly the number of changes that took effect.
                return applied + result.matched_count + result.upserted_count
        return applied

    async def get(self, collection: str, id: str) -> Document | None:
        """One document by id, or None (also for deleted ones and collections never written)."""
        # ``_id`` alone, the filter every server serves as a point lookup; tombstones are
        # recognised here rather than in the filter.
        found = await self._collection(collection).find_one({"_id": id})
        return None if found is None or found.get(_TOMBSTONE) is True else found

    async def get_many(self, collection: str, ids: Sequence[str]) -> dict[str, Document]:
        """The live documents of ``ids``, by id, in one query."""
        wanted = list(dict.fromkeys(ids))
        coll = self._collection(collection)
        found: dict[str, Document] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            cursor = coll.find({"_id": {"$in": wanted[start : start + _IN_CHUNK]}})
            async for doc in cursor:
                if doc.get(_TOMBSTONE) is not True:
                    found[str(doc["_id"])] = doc
        return found

    async def find(self, collection: str, query: Query) -> Page:
        """One page of documents (see :class:`Query`), ordered by ``(sort, _id)``.

        The keyset condition ``(sort, _id) > after`` is asked as two flat queries, the ties
        (``sort == value and _id > id``) and then the rest (``sort > value``), instead of one
        ``$or``: each is an equality-prefix plus one range on the ``(..., sort, _id)`` index,
        which every planner serves without scanning or sorting.
        """
        sort = _checked(query.sort, "field")
        order = [("_id", ASCENDING)] if sort == "_id" else [(sort, ASCENDING), ("_id", ASCENDING)]
        if query.after is None:
            filters = [self._conditions(query.equals, query.prefix)]
        elif sort == "_id":
            filters = [self._conditions(query.equals, query.prefix).op("_id", "$gt", query.after[1])]
        else:
            filters = self._keyset(query.equals, query.prefix, sort, query.after)
        if query.within is not None:
            field, values = query.within
            for where in filters:
                where.op(field, "$in", list(values))
        coll = self._collection(collection)
        wanted = query.limit + 1  # One more than asked tells whether there is a next page.
        docs: list[Document] = []
        for where in filters:
            if len(docs) >= wanted:
                break
            need = wanted - len(docs)
            docs += await coll.find(where.build(), sort=order, limit=need).to_list(length=need)
        items = docs[: query.limit]
        if len(docs) > query.limit and items:
            return Page(items=items, next_after=(items[-1].get(sort), str(items[-1]["_id"])))
        return Page(items=items, next_after=None)

    @classmethod
    def _keyset(
        cls, equals: Mapping[str, Any], prefix: tuple[str, str] | None, sort: str, after: tuple[Any, str]
    ) -> list[_Filter]:
        """The ties query and the rest query for ``(sort, _id) > after``, in that order."""
        value, after_id = after
        if prefix is None or prefix[0] != sort:
            ties = cls._conditions(equals, prefix).equals(sort, value).op("_id", "$gt", after_id)
            rest = cls._conditions(equals, prefix)
            if value is None:
                # Null and missing sort first, so after a null every non-null value follows.
                rest.op(sort, "$ne", None)
            else:
                rest.op(sort, "$gt", value)
            return [ties, rest]
        # A prefix on the sort field: keep a single range on that field, the tighter one.
        text = prefix[1]
        rest = cls._conditions(equals, None)
        if isinstance(value, str) and value >= text:
            rest.op(sort, "$gt", value).op(sort, "$lt", text + _MAX_CHAR)
            if not value.startswith(text):
                return [rest]  # No document with the prefix ties with a value outside it.
            ties = cls._conditions(equals, None).equals(sort, value).op("_id", "$gt", after_id)
            return [ties, rest]
        if value is None or isinstance(value, str) or _is_number(value):
            # Null, numbers and smaller strings all sort before every string with the prefix.
            return [rest.prefix(sort, text)]
        return [rest.prefix(sort, text).op(sort, "$gt", value)]

    @staticmethod
    def _conditions(equals: Mapping[str, Any], prefix: tuple[str, str] | None) -> _Filter:
        where = _Filter()
        if prefix is not None:
            # First: usually the narrowest condition, for planners that serve one clause only.
            where.prefix(*prefix)
        for field, value in equals.items():
            where.equals(field, value)
        return where

    async def count(self, collection: str, equals: Mapping[str, Any] | None = None) -> int:
        """How many (live) documents match the equality filters."""
        where = self._conditions(equals or {}, None)
        return await self._collection(collection).count_documents(where.build())

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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _operation(change: Change, normalised: Document | None) -> _Op:
    """The guarded upsert of one change; ``normalised`` is a put's document after the JSON round trip."""
    _checked(change.collection, "collection")
    if isinstance(change, Put):
        if not isinstance(normalised, dict):
            raise TypeError(f"a document must be a JSON object: {change.document!r}")
        document: Document = normalised
        if _TOMBSTONE in document:
            raise ValueError(f"the field {_TOMBSTONE!r} is reserved for tombstones of deleted documents")
        id, version = str(document["_id"]), int(document["_version"])
        document["_id"], document["_version"] = id, version
    elif isinstance(change, Delete):
        id, version = str(change.id), int(change.version)
        document = {"_id": id, "_version": version, _TOMBSTONE: True}
    else:  # pragma: no cover - Change is a closed union
        raise TypeError(f"not a change: {change!r}")
    return id, version, ReplaceOne({"_id": id, "_version": {"$lt": version}}, document, upsert=True), document


async def _without_stale(coll: AsyncCollection[Document], run: list[_Op]) -> tuple[list[_Op], list[_Op]]:
    """The changes of ``run`` that the stored versions do not already make stale, and among them
    those of documents not stored at all (not even as a tombstone).

    One read instead of a failed upsert, a re-read and a resumed bulk per stale change: what makes
    a redelivered batch cheap. A concurrent writer can still win in between; the guards hold then.
    """
    ids = list(dict.fromkeys(id for id, _, _, _ in run))
    stored: dict[str, int] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = {"_id": {"$in": ids[start : start + _IN_CHUNK]}}
        async for found in coll.find(chunk, projection={"_version": True}):
            stored[str(found["_id"])] = int(found["_version"])
    kept: list[_Op] = []
    absent: list[_Op] = []
    for op in run:
        id, version = op[0], op[1]
        if id in stored and stored[id] >= version:
            continue
        if id not in stored:
            absent.append(op)
        stored[id] = version  # A later change of the same document in this run is guarded by it.
        kept.append(op)
    return kept, absent


async def _insert_absent(coll: AsyncCollection[Document], absent: list[_Op]) -> tuple[int, set[str]]:
    """Insert the documents (and tombstones) of ``absent``, none stored when read: how many went in,
    and the ids that met a stored ``_id`` (a concurrent writer). A clash on another unique index
    raises :class:`DuplicateKeyError`, as a guarded write would."""
    # Each id is in ``absent`` once: a later change of the same document in the run was not absent.
    ids = [id for id, _, _, _ in absent]
    documents = [document for _, _, _, document in absent]
    try:
        result = await coll.insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        clashed: set[str] = set()
        for error in exc.details.get("writeErrors") or []:
            if error.get("code") != _DUPLICATE_KEY:
                raise
            key_pattern = error.get("keyPattern")
            if key_pattern is not None and list(key_pattern) != ["_id"]:
                message = str(error.get("errmsg", "duplicate key"))
                raise DuplicateKeyError(message, _DUPLICATE_KEY, error) from exc
            clashed.add(ids[int(error["index"])])
        return int(exc.details.get("nInserted", 0)), clashed
    return len(result.inserted_ids), set()


async def _duplicate_verdict(
    coll: AsyncCollection[Document], id: str, version: int, error: Mapping[str, Any]
) -> _Verdict:
    """Why an upsert hit a duplicate key.

    ``stale``: the stored version is the same or newer; the guard said no (not applied).
    ``race``: the ``_id`` clashed but the stored version is older: a concurrent writer inserted
    the document between our filter and our insert, so the upsert is worth retrying.
    ``conflict``: another unique index rejected the document, a real error.
    """
    stored = await coll.find_one({"_id": id}, projection={"_version": True})
    if stored is not None and int(stored.get("_version", 0)) >= version:
        return "stale"
    key_pattern = error.get("keyPattern")
    if key_pattern is None or list(key_pattern) == ["_id"]:
        return "race"
    return "conflict"
