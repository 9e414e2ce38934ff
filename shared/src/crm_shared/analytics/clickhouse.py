"""ClickHouse analytics store: the distributed adapter, over clickhouse-connect's HTTP client.

Deliberately thin: the SQL, the parameter texts and both wire formats come from
:mod:`crm_shared.analytics.sql`, exactly as the chDB adapter uses them. The synchronous client runs
in worker threads (its async client needs aiohttp, which is not a dependency); it is opened without
a server session, so concurrent calls do not contend for one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import clickhouse_connect
import pyarrow as pa

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


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


class _Verbatim:
    """A parameter text that clickhouse-connect must send as is (it formats only known types)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def _parameters(sql: str, parameters: Mapping[str, Any] | None) -> dict[str, _Verbatim] | None:
    # The chDB adapter sends the same texts, so both engines parse identical parameters.
    return {name: _Verbatim(text) for name, text in wire_parameters(sql, parameters).items()} or None


class ClickHouseAnalyticsStore:
    """:class:`~crm_shared.analytics.port.AnalyticsStore` on a ClickHouse server."""

    def __init__(self, client: Any) -> None:
        """Wrap a clickhouse-connect client made with ``settings=SESSION_SETTINGS``; see :meth:`open`."""
        self._client: Any = client

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        database: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> ClickHouseAnalyticsStore:
        """Connect to ``url`` (e.g. ``http://host:8123``, ``https://user:pass@host:8443/db``).

        ``database``, ``username`` and ``password`` override what the URL says. Any DSN that
        clickhouse-connect accepts works, including its in-process ``chdb:///path``.
        """
        options: dict[str, Any] = {"settings": dict(SESSION_SETTINGS)}
        if not url.startswith("chdb:"):
            options["autogenerate_session_id"] = False
        for key, value in (("database", database), ("username", username), ("password", password)):
            if value is not None:
                options[key] = value
        try:
            client = await asyncio.to_thread(clickhouse_connect.get_client, dsn=url, **options)
        except Exception as exc:
            # The driver's message would not hold the password, but the URL might.
            error = engine_error(exc)
            raise AnalyticsError(
                f"cannot connect to ClickHouse at {_redacted(url)}: {error}", code=error.code
            ) from None
        await asyncio.to_thread(warm_up)
        return cls(client)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._client is None:
            raise AnalyticsError("the analytics store is closed")
        try:
            return await asyncio.to_thread(fn, *args)
        except Exception as exc:
            raise engine_error(exc) from exc

    def _query(self, sql: str, parameters: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        payload = self._client.raw_query(sql, parameters=_parameters(sql, parameters), fmt=RESULT_FORMAT)
        return decode_rows(payload)

    def _command(self, sql: str, parameters: Mapping[str, Any] | None) -> None:
        self._client.command(sql, parameters=_parameters(sql, parameters))

    def _insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._send(table, columns, encode_rows(columns, self._query(describe_sql(table), None), rows))

    def _send(self, table: str, columns: Sequence[str], data: bytes) -> None:
        names = [quote_name(column) for column in columns]
        self._client.raw_insert(quote_name(table), names, insert_block=data, fmt=INSERT_FORMAT)

    async def execute(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        """Run one statement, discarding any output."""
        await self._run(self._command, sql, parameters)

    async def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one ``SELECT`` and return its rows as dicts."""
        return await self._run(self._query, sql, parameters)

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        """Insert rows as one Arrow batch; returns how many."""
        if rows:
            await self._run(self._insert, table, columns, rows)
        return len(rows)

    async def insert_arrow(self, table: str, data: pa.Table) -> int:
        """Insert an Arrow table as one batch; returns how many rows."""
        if data.num_rows:
            await self._run(self._send, table, data.column_names, arrow_stream(data))
        return int(data.num_rows)

    async def run_script(self, path: Path, parameters: Mapping[str, Any] | None = None) -> None:
        """Run every statement of a ``.sql`` file in order."""
        for statement in await asyncio.to_thread(load_script, path):
            await self.execute(statement, parameters)

    async def close(self) -> None:
        """Close the client's connections; calling it again does nothing."""
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)
