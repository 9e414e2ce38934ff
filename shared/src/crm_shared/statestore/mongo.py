"""MongoDB state store, through PyMongo's async API (``AsyncMongoClient``).

Each port collection is a MongoDB collection of its own in the service's state database, one
document per record: ``{_id: key, version, value}``. Compare-and-set is a single conditional write:
an insert for "must not exist" (a duplicate key means someone came first), an update filtered on
``{_id, version}`` otherwise. Keys are ``_id``, so gets, prefix ranges and pages use its index.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from crm_shared import jsoncodec
from crm_shared.statestore.port import Record, RecordPage, VersionConflict, check_collection, check_key

Document = dict[str, Any]
_MAX_CHAR = "\U0010ffff"


def _record(doc: Mapping[str, Any]) -> Record:
    return Record(str(doc["_id"]), int(doc["version"]), dict(doc["value"]))


class MongoStateStore:
    """The distributed state store. Create it with :meth:`open`."""

    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._client = client
        self._db = client[database]

    @classmethod
    async def open(cls, uri: str, database: str) -> MongoStateStore:
        """Connect to ``uri`` and use ``database``; fails here if the server does not answer."""
        client: AsyncMongoClient[Document] = AsyncMongoClient(uri)
        try:
            await client.admin.command("ping")
        except BaseException:
            await client.close()
            raise
        return cls(client, database)

    def _collection(self, name: str) -> AsyncCollection[Document]:
        return self._db[check_collection(name)]

    async def get(self, collection: str, key: str) -> Record | None:
        """The record, or None."""
        found = await self._collection(collection).find_one({"_id": check_key(key)})
        return None if found is None else _record(found)

    async def get_many(self, collection: str, keys: list[str]) -> dict[str, Record]:
        """The records of ``keys`` that exist, in one query."""
        wanted = [check_key(k) for k in dict.fromkeys(keys)]
        if not wanted:
            return {}
        cursor = self._collection(collection).find({"_id": {"$in": wanted}})
        return {str(doc["_id"]): _record(doc) async for doc in cursor}

    async def put(
        self, collection: str, key: str, value: Mapping[str, Any], *, expected_version: int | None = None
    ) -> int:
        """Write the record (compare-and-set on ``expected_version``); its new version."""
        coll = self._collection(collection)
        check_key(key)
        # The same JSON round trip as the SQLite adapter, so both return equal values.
        stored = dict(jsoncodec.loads(jsoncodec.dumps(dict(value))))
        if expected_version is None:
            doc = await coll.find_one_and_update(
                {"_id": key},
                {"$set": {"value": stored}, "$inc": {"version": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            assert doc is not None  # an upsert returning the document after it always has one
            return int(doc["version"])
        if expected_version == 0:
            try:
                await coll.insert_one({"_id": key, "version": 1, "value": stored})
            except DuplicateKeyError:
                raise VersionConflict(collection, key, 0, await self._version(coll, key)) from None
            return 1
        result = await coll.update_one(
            {"_id": key, "version": expected_version}, {"$set": {"value": stored, "version": expected_version + 1}}
        )
        if result.matched_count != 1:
            raise VersionConflict(collection, key, expected_version, await self._version(coll, key))
        return expected_version + 1

    @staticmethod
    async def _version(coll: AsyncCollection[Document], key: str) -> int:
        found = await coll.find_one({"_id": key}, projection={"version": True})
        return 0 if found is None else int(found["version"])

    async def delete(self, collection: str, key: str, *, expected_version: int | None = None) -> bool:
        """Delete the record (compare-and-set on ``expected_version``); whether there was one."""
        coll = self._collection(collection)
        check_key(key)
        if expected_version is None:
            return (await coll.delete_one({"_id": key})).deleted_count == 1
        if (await coll.delete_one({"_id": key, "version": expected_version})).deleted_count == 1:
            return True
        actual = await self._version(coll, key)
        if actual != expected_version:
            raise VersionConflict(collection, key, expected_version, actual)
        return False

    async def list(
        self, collection: str, *, prefix: str = "", after: str | None = None, limit: int = 100
    ) -> RecordPage:
        """A page of records by key, as one range on ``_id``."""
        bounds: dict[str, str] = {}
        if prefix:
            bounds = {"$gte": prefix, "$lt": prefix + _MAX_CHAR}
        if after is not None and (not prefix or after >= prefix):
            bounds["$gt"] = after
            bounds.pop("$gte", None)
        where = {"_id": bounds} if bounds else {}
        cursor = self._collection(collection).find(where, sort=[("_id", ASCENDING)], limit=limit + 1)
        found = [_record(doc) async for doc in cursor]
        items = found[:limit]
        return RecordPage(items, items[-1].key if len(found) > limit and items else None)

    async def close(self) -> None:
        """Close the client's connections."""
        await self._client.close()
