"""The analytics store port: ClickHouse SQL over an embedded (chDB) or a distributed (ClickHouse) engine.

Both adapters run the same SQL files and return the same Python values. Every session works in UTC
(``session_timezone = 'UTC'``): a ``DateTime`` column without an explicit zone is read and written
as UTC, and ``toDate(now())`` means the UTC day. Sessions hold no other state, so ``SET`` and ``USE``
statements are not part of the contract.

Values that :meth:`AnalyticsStore.query` returns, by column type:

=====================================================  ==============================================
ClickHouse type                                        Python value
=====================================================  ==============================================
``(U)Int8`` … ``(U)Int256``                            ``int``
``Float32``, ``Float64``                               ``float`` (``nan`` and ``inf`` included)
``Decimal(P, S)`` and ``Decimal32/64/128/256(S)``      ``decimal.Decimal`` with exactly ``S`` digits
``Date``, ``Date32``                                   ``datetime.date``
``DateTime``, ``DateTime64`` (with or without a zone)  aware ``datetime.datetime`` (UTC, or the
                                                       column's own zone)
``String``, ``FixedString``, ``Enum``, ``IPv4/6``      ``str``
``UUID``                                               ``uuid.UUID``
``Bool``                                               ``bool``
``Nullable(T)``, ``LowCardinality(T)``                 as ``T``; NULL is ``None``
``Array(T)``                                           ``list`` of ``T`` values
anything else (``Map``, ``Tuple``, ``JSON``…)          as ClickHouse's JSON output gives it
                                                       (64-bit integers inside as ``str``)
=====================================================  ==============================================

Parameters use ClickHouse's server-side syntax, ``{name:Type}``, and are never spliced into the SQL
text. Python values are bound as: ``str`` as is; ``bool`` as ``true``/``false``; ``Decimal`` in plain
notation; ``date`` as ISO; ``datetime`` as ``YYYY-MM-DD hh:mm:ss[.ffffff]`` in UTC (naive values are
taken as UTC; bind sub-second values to ``DateTime64(6)``, since ``DateTime`` rejects a fraction);
``list``/``tuple``/``dict`` as Array/Tuple/Map literals; ``None`` as NULL (for ``Nullable`` types).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa


class AnalyticsError(Exception):
    """The engine refused a statement or could not be reached, or the store is closed.

    ``code`` is ClickHouse's numeric error code when the engine gave one (e.g. 62 for a syntax
    error, 60 for an unknown table), else ``None``.
    """

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class AnalyticsStore(Protocol):
    """A ClickHouse-dialect analytics engine. Every method raises :class:`AnalyticsError` on failure."""

    async def execute(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        """Run one DDL or DML statement (``CREATE``, ``INSERT … SELECT``, ``ALTER``…), discarding output."""
        ...

    async def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one ``SELECT`` and return its rows as dicts keyed by column name (``[]`` when empty).

        The SQL must not carry its own ``FORMAT`` clause.
        """
        ...

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        """Insert ``rows`` (one value per column, in ``columns`` order) into ``table`` in one batch.

        ``table`` may be qualified as ``database.table``. Values are converted to the column types
        (e.g. ``Decimal``, ``date``, ``datetime``, ``str`` for ``String``); naive datetimes are UTC.
        Returns the number of rows inserted.
        """
        ...

    async def insert_arrow(self, table: str, data: pa.Table) -> int:
        """Insert the Arrow table ``data`` into ``table`` in one batch: its columns are named as the
        table's (those it lacks take their defaults) and typed as Arrow types the engine converts to
        the column types (``string``, ``date32``, ``decimal128``, integers…). The way in for data that
        is already columnar (a CSV file read by column): no Python object per value. Returns the number
        of rows inserted."""
        ...

    async def run_script(self, path: Path, parameters: Mapping[str, Any] | None = None) -> None:
        """Run every statement of a ``.sql`` file in order, each with the parameters it references."""
        ...

    async def close(self) -> None:
        """Release the engine; calling it again does nothing."""
        ...
