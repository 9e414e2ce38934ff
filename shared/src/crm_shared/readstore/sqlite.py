"""SQLite read store: the embedded default.

Each collection is a table ``(id, version, doc)`` with the document as JSON text; indexes are
expression indexes on ``json_extract``. A deleted document stays as a tombstone (``doc IS NULL``)
carrying its version, so an older redelivered change cannot bring it back. Changes and the
checkpoint commit in one transaction on a single writer thread.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from crm_shared import jsoncodec
from crm_shared.readstore.port import Change, Document, Index, Page, Put, Query
from crm_shared.sqlite import ThreadConnections, connect

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
T = TypeVar("T")


def _checked(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"invalid {what} name {name!r}")
    return name


_CACHE_KIB = 64 * 1024
"""Page cache of each connection, in KiB."""

_CHECKPOINT = "SELECT position FROM checkpoints WHERE name = ?"

_IDS_HERE = 100
"""A ``get_many`` of up to this many ids reads on the event loop's thread (a page of cards)."""

_IN_CHUNK = 500
"""Ids per ``IN (...)`` query: well under SQLite's limit of bound parameters."""


_ROWS_PER_STATEMENT = 2000
"""Rows per multi-row ``INSERT``: 6,000 bound parameters, well under SQLite's limit (32,766)."""


@functools.lru_cache(maxsize=256)
def _upsert(table: str, is_put: bool, rows: int) -> str:
    """The guarded upsert of ``rows`` puts (``id, version, doc``) or deletes (``id, version``):
    a deleted document stays as a tombstone carrying its version."""
    if is_put:
        values, doc = ",".join(["(?,?,?)"] * rows), "excluded.doc"
    else:
        values, doc = ",".join(["(?,?,NULL)"] * rows), "NULL"
    return (
        f"INSERT INTO {table} (id, version, doc) VALUES {values} ON CONFLICT(id) DO UPDATE"
        f" SET version = excluded.version, doc = {doc} WHERE excluded.version > {table}.version"
    )


def _table(collection: str) -> str:
    return "rs_" + _checked(collection, "collection")


def _expr(field: str) -> str:
    return "id" if field == "_id" else f"json_extract(doc, '$.{_checked(field, 'field')}')"


class SqliteReadStore:
    """The embedded read store. Create it with :meth:`open`."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._writer_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rs-writer")
        self._reader_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="rs-reader")
        self._connections = ThreadConnections(path, synchronous="NORMAL", busy_timeout_ms=5000)
        self._tuned: set[int] = set()
        self._tables: set[str] = set()
        self._probe: sqlite3.Connection | None = None
        """Used on the event loop's thread only: :meth:`checkpoint`, and reads by id (:meth:`_read_here`)."""

    @classmethod
    async def open(cls, path: str | Path) -> SqliteReadStore:
        """Open (and create if missing) the read store at ``path``."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        store = cls(str(path))
        await store._write(
            lambda c: c.execute("CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position INTEGER)")
        )
        # No busy wait on the loop's thread: a busy file sends the question to a thread.
        store._probe = connect(
            str(path), synchronous="NORMAL", busy_timeout_ms=0, pragmas=(f"cache_size=-{_CACHE_KIB}",)
        )
        return store

    def _connection(self) -> sqlite3.Connection:
        conn = self._connections.get()
        if id(conn) not in self._tuned:
            # A larger page cache than the 2 MiB default: batches touch tables and their JSON
            # indexes at random places. Temporary b-trees (index builds, sorts) in memory.
            conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            conn.execute("PRAGMA temp_store=MEMORY")
            self._tuned.add(id(conn))
        return conn

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer_pool, lambda: work(self._connection()))

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reader_pool, lambda: work(self._connection()))

    async def _read_here(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A read of a few documents by id, on the event loop's thread: its cost is bounded (a few
        primary-key lookups and their JSON, which holds the GIL on any thread) and smaller than a
        trip to a thread and back, whose wait for the GIL is what a busy process's requests queue
        on. A busy file (e.g. a checkpoint of the WAL) sends it to a thread, which may wait."""
        probe = self._probe
        if probe is not None:
            try:
                return work(probe)
            except sqlite3.OperationalError:
                pass
        return await self._read(work)

    def _ensure_table(self, conn: sqlite3.Connection, collection: str) -> str:
        table = _table(collection)
        if table not in self._tables:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT)"
            )
            if not conn.in_transaction:
                self._tables.add(table)
        return table

    async def ensure_indexes(self, collection: str, indexes: Sequence[Index]) -> None:
        def work(conn: sqlite3.Connection) -> None:
            table = self._ensure_table(conn, collection)
            for index in indexes:
                name = f"ix_{table}_{'_'.join(index.fields)}"
                unique = "UNIQUE " if index.unique else ""
                columns = ", ".join(_expr(f) for f in index.fields)
                # A partial index skips tombstones, so unique indexes ignore deleted documents.
                conn.execute(f"CREATE {unique}INDEX IF NOT EXISTS {name} ON {table} ({columns}) WHERE doc IS NOT NULL")

        await self._write(work)

    async def apply(self, changes: Sequence[Change], checkpoint: tuple[str, int] | None = None) -> int:
        """Apply guarded changes and the checkpoint in one transaction.

        Runs of the same kind of change on the same collection are written with multi-row
        ``INSERT ... VALUES`` statements of up to :data:`_ROWS_PER_STATEMENT` rows: each document is
        encoded here (one ``orjson`` call each, on the caller's thread), the writer thread binds the
        rows in one call and SQLite upserts them, every row with its guard, in one step. So the
        writer holds the GIL once per statement, not once per row, and SQLite neither parses nor
        renders the JSON again. Order is kept, which is what the guards and the
        tracking-after-effect rule need.
        """
        runs: list[tuple[bool, str, list[Any]]] = []
        rows: list[Any] = []
        current: tuple[bool, str] | None = None
        dumps = jsoncodec.dumps_text
        for change in changes:  # runs of one kind of change on one collection, in order
            if isinstance(change, Put):
                if current != (True, change.collection):
                    current, rows = (True, change.collection), []
                    runs.append((True, change.collection, rows))
                document = change.document
                rows += (document["_id"], document["_version"], dumps(document))
            else:
                if current != (False, change.collection):
                    current, rows = (False, change.collection), []
                    runs.append((False, change.collection, rows))
                rows += (change.id, change.version)

        def work(conn: sqlite3.Connection) -> int:
            applied = 0
            conn.execute("BEGIN IMMEDIATE")
            try:
                for is_put, collection, values in runs:
                    table = self._ensure_table(conn, collection)
                    width = 3 if is_put else 2
                    step = _ROWS_PER_STATEMENT * width
                    for start in range(0, len(values), step):
                        params = values[start : start + step]
                        cursor = conn.execute(_upsert(table, is_put, len(params) // width), params)
                        applied += cursor.rowcount
                if checkpoint is not None:
                    conn.execute(
                        "INSERT INTO checkpoints (name, position) VALUES (?, ?)"
                        " ON CONFLICT(name) DO UPDATE SET position = excluded.position",
                        checkpoint,
                    )
                conn.execute("COMMIT")
                # Only now may readers skip the existence check: before the commit they cannot see it.
                self._tables.update(_table(collection) for _, collection, _ in runs)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return applied

        return await self._write(work)

    async def get(self, collection: str, id: str) -> Document | None:
        table = _table(collection)

        def work(conn: sqlite3.Connection) -> Document | None:
            if not self._exists(conn, table):
                return None
            row = conn.execute(f"SELECT doc FROM {table} WHERE id = ? AND doc IS NOT NULL", (id,)).fetchone()
            return None if row is None else dict(jsoncodec.loads(row[0]))

        return await self._read_here(work)

    async def get_many(self, collection: str, ids: Sequence[str]) -> dict[str, Document]:
        table = _table(collection)
        wanted = list(dict.fromkeys(ids))

        def work(conn: sqlite3.Connection) -> dict[str, Document]:
            found: dict[str, Document] = {}
            if not wanted or not self._exists(conn, table):
                return found
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT id, doc FROM {table} WHERE id IN ({marks}) AND doc IS NOT NULL"
                found.update((row[0], dict(jsoncodec.loads(row[1]))) for row in conn.execute(sql, chunk).fetchall())
            return found

        return await (self._read_here(work) if len(wanted) <= _IDS_HERE else self._read(work))

    def _exists(self, conn: sqlite3.Connection, table: str) -> bool:
        if table in self._tables:
            return True
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        return found is not None

    @staticmethod
    def _where(
        equals: Mapping[str, Any], prefix: tuple[str, str] | None, within: tuple[str, Sequence[Any]] | None = None
    ) -> tuple[list[str], list[Any]]:
        clauses: list[str] = ["doc IS NOT NULL"]
        params: list[Any] = []
        if within is not None:
            field, values = within
            clauses.append(f"{_expr(field)} IN ({', '.join('?' for _ in values)})" if values else "0")
            params.extend(values)
        for field, value in equals.items():
            # IS, not =, so that None matches a missing or null field, as in MongoDB.
            clauses.append(f"{_expr(field)} IS ?")
            params.append(value)
        if prefix is not None:
            field, text = prefix
            # A range instead of LIKE so the expression index serves it.
            clauses.append(f"{_expr(field)} >= ? AND {_expr(field)} < ?")
            params.extend([text, text + "\U0010ffff"])
        return clauses, params

    async def find(self, collection: str, query: Query) -> Page:
        table = _table(collection)
        clauses, params = self._where(query.equals, query.prefix, query.within)
        sort = _expr(query.sort)
        if query.after is not None:
            if query.sort == "_id":
                clauses.append("id > ?")
                params.append(query.after[1])
            else:
                clauses.append(f"({sort}, id) > (?, ?)")
                params.extend(query.after)
        order = "id" if query.sort == "_id" else f"{sort}, id"
        sql = f"SELECT doc FROM {table} WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT ?"
        params.append(query.limit + 1)

        def work(conn: sqlite3.Connection) -> list[Document]:
            if not self._exists(conn, table):
                return []
            return [dict(jsoncodec.loads(r[0])) for r in conn.execute(sql, params).fetchall()]

        docs = await self._read(work)
        more = len(docs) > query.limit
        items = docs[: query.limit]
        next_after = (items[-1].get(query.sort), str(items[-1]["_id"])) if more and items else None
        return Page(items=items, next_after=next_after)

    async def count(self, collection: str, equals: Mapping[str, Any] | None = None) -> int:
        table = _table(collection)
        clauses, params = self._where(equals or {}, None)
        sql = f"SELECT count(*) FROM {table} WHERE {' AND '.join(clauses)}"

        def work(conn: sqlite3.Connection) -> int:
            return int(conn.execute(sql, params).fetchone()[0]) if self._exists(conn, table) else 0

        return await self._read(work)

    async def checkpoint(self, name: str) -> int | None:
        probe = self._probe
        if probe is not None:
            # A primary-key lookup of microseconds, asked on the event loop's thread: the projectors
            # poll their checkpoints many times a second, and a trip to a thread costs more.
            try:
                row = probe.execute(_CHECKPOINT, (name,)).fetchone()
            except sqlite3.OperationalError:
                pass  # the file is busy (e.g. a checkpoint of the WAL): ask on a thread, which may wait
            else:
                return None if row is None else int(row[0])

        def work(conn: sqlite3.Connection) -> int | None:
            row = conn.execute(_CHECKPOINT, (name,)).fetchone()
            return None if row is None else int(row[0])

        return await self._read(work)

    async def drop(self, collection: str) -> None:
        table = _table(collection)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            self._tables.discard(table)

        await self._write(work)

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
            self._probe = None
        self._writer_pool.shutdown(wait=True)
        self._reader_pool.shutdown(wait=True)
        self._connections.close_all()
