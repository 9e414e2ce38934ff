"""SQLite state store: the embedded default.

One table ``records (collection, key, version, value)`` keyed by ``(collection, key)``, values as JSON
text, in its own file beside the service's other stores. It holds primary data, so commits are
``synchronous=FULL`` (an acknowledged write survives a power cut), and ``secure_delete`` zeroes what a
write replaces or deletes (erased keys must not linger in free pages). Writes run on one writer thread;
a compare-and-set is one conditional statement, not a read followed by a write.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from crm_shared import jsoncodec
from crm_shared.sqlite import ThreadConnections
from crm_shared.statestore.port import Record, RecordPage, VersionConflict, check_collection, check_key

T = TypeVar("T")
_IN_CHUNK = 500
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS records (collection TEXT NOT NULL, key TEXT NOT NULL,"
    " version INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (collection, key)) WITHOUT ROWID"
)


def _record(key: str, version: int, value: str) -> Record:
    return Record(key, int(version), dict(jsoncodec.loads(value)))


class SqliteStateStore:
    """The embedded state store. Create it with :meth:`open`."""

    def __init__(self, path: str) -> None:
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="state-writer")
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="state-reader")
        self._connections = ThreadConnections(
            path, synchronous="FULL", busy_timeout_ms=5000, pragmas=("secure_delete=ON",)
        )

    @classmethod
    async def open(cls, path: str | Path) -> SqliteStateStore:
        """Open (and create if missing) the state store at ``path``."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        store = cls(str(path))
        await store._write(lambda c: c.execute(_SCHEMA))
        return store

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, lambda: work(self._connections.get()))

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._readers, lambda: work(self._connections.get()))

    async def get(self, collection: str, key: str) -> Record | None:
        """The record, or None."""
        args = (check_collection(collection), check_key(key))

        def work(conn: sqlite3.Connection) -> Record | None:
            row = conn.execute("SELECT version, value FROM records WHERE collection = ? AND key = ?", args).fetchone()
            return None if row is None else _record(key, row[0], row[1])

        return await self._read(work)

    async def get_many(self, collection: str, keys: list[str]) -> dict[str, Record]:
        """The records of ``keys`` that exist."""
        check_collection(collection)
        wanted = [check_key(k) for k in dict.fromkeys(keys)]

        def work(conn: sqlite3.Connection) -> dict[str, Record]:
            found: dict[str, Record] = {}
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                sql = (
                    "SELECT key, version, value FROM records WHERE collection = ?"
                    f" AND key IN ({', '.join('?' * len(chunk))})"
                )
                found.update((r[0], _record(r[0], r[1], r[2])) for r in conn.execute(sql, [collection, *chunk]))
            return found

        return await self._read(work) if wanted else {}

    async def put(
        self, collection: str, key: str, value: Mapping[str, Any], *, expected_version: int | None = None
    ) -> int:
        """Write the record (compare-and-set on ``expected_version``); its new version."""
        args = (check_collection(collection), check_key(key))
        text = jsoncodec.dumps(dict(value)).decode()

        def work(conn: sqlite3.Connection) -> int:
            if expected_version is None:
                row = conn.execute(
                    "INSERT INTO records (collection, key, version, value) VALUES (?, ?, 1, ?)"
                    " ON CONFLICT (collection, key) DO UPDATE SET version = version + 1, value = excluded.value"
                    " RETURNING version",
                    (*args, text),
                ).fetchone()
                return int(row[0])
            if expected_version == 0:
                try:
                    conn.execute(
                        "INSERT INTO records (collection, key, version, value) VALUES (?, ?, 1, ?)", (*args, text)
                    )
                except sqlite3.IntegrityError:
                    raise VersionConflict(collection, key, 0, self._version(conn, args)) from None
                return 1
            cursor = conn.execute(
                "UPDATE records SET version = version + 1, value = ? WHERE collection = ? AND key = ? AND version = ?",
                (text, *args, expected_version),
            )
            if cursor.rowcount != 1:
                raise VersionConflict(collection, key, expected_version, self._version(conn, args))
            return expected_version + 1

        return await self._write(work)

    @staticmethod
    def _version(conn: sqlite3.Connection, args: tuple[str, str]) -> int:
        row = conn.execute("SELECT version FROM records WHERE collection = ? AND key = ?", args).fetchone()
        return 0 if row is None else int(row[0])

    async def delete(self, collection: str, key: str, *, expected_version: int | None = None) -> bool:
        """Delete the record (compare-and-set on ``expected_version``); whether there was one."""
        args = (check_collection(collection), check_key(key))

        def work(conn: sqlite3.Connection) -> bool:
            if expected_version is None:
                return conn.execute("DELETE FROM records WHERE collection = ? AND key = ?", args).rowcount == 1
            cursor = conn.execute(
                "DELETE FROM records WHERE collection = ? AND key = ? AND version = ?", (*args, expected_version)
            )
            if cursor.rowcount == 1:
                return True
            actual = self._version(conn, args)
            if actual != expected_version:
                raise VersionConflict(collection, key, expected_version, actual)
            return False  # expected 0 and there is none

        return await self._write(work)

    async def list(
        self, collection: str, *, prefix: str = "", after: str | None = None, limit: int = 100
    ) -> RecordPage:
        """A page of records by key; the prefix is a key range, so the primary key serves it."""
        clauses, params = ["collection = ?"], [check_collection(collection)]
        if prefix:
            clauses.append("key >= ? AND key < ?")
            params += [prefix, prefix + "\U0010ffff"]
        if after is not None:
            clauses.append("key > ?")
            params.append(after)
        sql = f"SELECT key, version, value FROM records WHERE {' AND '.join(clauses)} ORDER BY key LIMIT ?"

        def work(conn: sqlite3.Connection) -> list[Record]:
            return [_record(r[0], r[1], r[2]) for r in conn.execute(sql, [*params, limit + 1])]

        found = await self._read(work)
        items = found[:limit]
        return RecordPage(items, items[-1].key if len(found) > limit and items else None)

    async def close(self) -> None:
        """Wait for the threads and close the connections."""
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self._connections.close_all()
