"""chDB analytics store: the embedded default, ClickHouse's engine inside this process.

chDB allows one data directory per process (another process on it fails with "Cannot lock file
…/status") and, within a process, one open path at a time. So the process holds a single chDB
connection: every store opened on the same directory shares it, opening another directory while it
is in use raises :class:`AnalyticsError`, and the connection closes when its last store does. All
engine calls run on one dedicated thread, which keeps the event loop free and gives chDB the
one-caller-at-a-time use it expects.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

# chdb.state, not chdb: the wheel and chdb-core both ship chdb/__init__.py, and which one wins
# (typed or not) depends on install order.
import pyarrow as pa
from chdb.state import connect as chdb_connect

from crm_shared.analytics.port import AnalyticsError
from crm_shared.analytics.sql import (
    INSERT_FORMAT,
    RESULT_FORMAT,
    SESSION_SETTINGS,
    arrow_stream,
    decode_rows,
    describe_sql,
    encode_rows,
    engine_error,
    load_script,
    quote_name,
    warm_up,
    wire_parameters,
)

T = TypeVar("T")


class _Engine:
    """The process's one chDB connection, its thread, and how many open stores use it."""

    def __init__(self, path: Path, previous_close: Future[None] | None) -> None:
        self.path = path
        self.users = 0
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chdb")
        self.connection: Future[Any] = self.executor.submit(_connect, path, previous_close)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self.executor.submit(lambda: fn(self.connection.result(), *args))


_lock = threading.Lock()
_engine: _Engine | None = None
_last_close: Future[None] | None = None


def _connect(path: Path, previous_close: Future[None] | None) -> Any:
    if previous_close is not None:
        # chDB refuses a new path until the previous one is fully closed.
        previous_close.exception()
    connection = chdb_connect(str(path))
    settings = ", ".join(f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in SESSION_SETTINGS.items())
    connection.query(f"SET {settings}")
    warm_up()
    return connection


def _disconnect(connection: Future[Any]) -> None:
    if connection.exception() is None:
        connection.result().close()


def _release(engine: _Engine) -> Future[None] | None:
    global _engine, _last_close
    with _lock:
        engine.users -= 1
        if engine.users:
            return None
        _engine = None
        _last_close = engine.executor.submit(_disconnect, engine.connection)
        engine.executor.shutdown(wait=False)
        return _last_close


def _execute(connection: Any, sql: str, params: dict[str, str]) -> None:
    connection.query(sql, "Null", params=params)


def _query(connection: Any, sql: str, params: dict[str, str]) -> list[dict[str, Any]]:
    return decode_rows(connection.query(sql, RESULT_FORMAT, params=params).bytes())


def _insert(connection: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    _send(connection, table, columns, encode_rows(columns, _query(connection, describe_sql(table), {}), rows))


def _send(connection: Any, table: str, columns: Sequence[str], data: bytes) -> None:
    names = ", ".join(quote_name(column) for column in columns)
    inserter = connection.send_insert(f"INSERT INTO {quote_name(table)} ({names})", INSERT_FORMAT)
    try:
        inserter.append(data)
    except BaseException:
        inserter.cancel()
        raise
    inserter.finish()


class ChdbAnalyticsStore:
    """:class:`~crm_shared.analytics.port.AnalyticsStore` on chDB, with its data in one directory."""

    def __init__(self, engine: _Engine) -> None:
        """Use :meth:`open`; the engine is the process-wide connection."""
        self._engine = engine
        self._closed = False

    @classmethod
    async def open(cls, data_dir: str | os.PathLike[str]) -> ChdbAnalyticsStore:
        """Open (creating if needed) the store in ``data_dir``; see the module notes on sharing."""
        global _engine
        # chDB compares paths literally: one spelling per directory.
        path = Path(await asyncio.to_thread(os.path.realpath, data_dir))
        with _lock:
            engine = _engine
            if engine is None:
                engine = _engine = _Engine(path, _last_close)
            elif engine.path != path:
                raise AnalyticsError(
                    f"chDB has {engine.path} open in this process and allows one data directory per "
                    f"process; close every store on it before opening {path}"
                )
            engine.users += 1
        store = cls(engine)
        try:
            await store._run(lambda _connection: None)
        except BaseException as exc:
            await store.close()
            if isinstance(exc, AnalyticsError):
                # chDB's own message for a directory locked by another process is unhelpful.
                raise AnalyticsError(
                    f"cannot open chDB in {path} (is another process using it? chDB allows one "
                    f"process per data directory): {exc}",
                    code=exc.code,
                ) from exc
            raise
        return store

    @property
    def path(self) -> Path:
        """The data directory."""
        return self._engine.path

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise AnalyticsError("the analytics store is closed")
        try:
            return await asyncio.wrap_future(self._engine.submit(fn, *args))
        except Exception as exc:
            raise engine_error(exc) from exc

    async def execute(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        """Run one statement, discarding any output."""
        await self._run(_execute, sql, wire_parameters(sql, parameters))

    async def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one ``SELECT`` and return its rows as dicts."""
        return await self._run(_query, sql, wire_parameters(sql, parameters))

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        """Insert rows as one Arrow batch; returns how many."""
        if rows:
            await self._run(_insert, table, columns, rows)
        return len(rows)

    async def insert_arrow(self, table: str, data: pa.Table) -> int:
        """Insert an Arrow table as one batch; returns how many rows."""
        if data.num_rows:
            await self._run(_send, table, data.column_names, arrow_stream(data))
        return int(data.num_rows)

    async def run_script(self, path: Path, parameters: Mapping[str, Any] | None = None) -> None:
        """Run every statement of a ``.sql`` file in order."""
        for statement in await asyncio.to_thread(load_script, path):
            await self.execute(statement, parameters)

    async def close(self) -> None:
        """Release this store's share of the connection; the last one closes it."""
        if self._closed:
            return
        self._closed = True
        closing = _release(self._engine)
        if closing is not None:
            await asyncio.wrap_future(closing)
