"""The analytics tables and how the ERP's records are written to them (one set of SQL for both engines)."""

from __future__ import annotations

import asyncio
import operator
import re
import threading
import time
import weakref
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from crm_analytics.domain import records as kinds
from crm_analytics.domain.currency_rate import Rate
from crm_analytics.domain.records import RecordKind
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections import crm_events
from crm_shared.analytics import AnalyticsStore, load_query, load_script

SQL = Path(__file__).parent / "sql"
SCHEMA = SQL / "schema.sql"
VIEWS = SQL / "views.sql"
_CURRENCY_MARK = "__REPORTING_CURRENCY__"
_KNOWN = "SELECT * FROM {versions} WHERE version <= {{known:UInt64}} ORDER BY version DESC LIMIT 1 BY id"
_MARKS = {
    "__TRADE_FACTS__": ("trade_facts", "trade_fact_versions"),
    "__ORDERS__": ("orders", "order_versions"),
    "__PAYMENTS__": ("payments", "payment_versions"),
}
"""A mark in ``views.sql`` -> the table read now (``FINAL``) and its history of versions (as of a moment)."""
FACTS_KNOWN = _KNOWN.format(versions="trade_fact_versions")
"""The trade facts as the CRM knew them when its clock read ``known`` nanoseconds since the epoch: per id
the latest version received by then, from the history of every version received (``trade_fact_versions``;
``views.sql``'s ``*_as_of`` twins take it as ``known``)."""
_BACKFILL = "INSERT INTO {versions} SELECT * FROM {table} FINAL WHERE (SELECT count() FROM {versions}) = 0"
"""Records stored before their history existed enter it once, as their latest versions."""
TRADE_SUMS = ("trade_sums_month", "trade_lines")
"""The sums the ABC report reads for the current state (``schema.sql``, ADR 21), fed through
``trade_fact_changes``: every fact received counted once, the version it replaces taken back."""
_COUNT_FACTS = (
    "INSERT INTO trade_fact_changes SELECT id, date, customer, currency, toInt8(if(kind = 'return', -1, 1)),"
    " revenue, revenue_without_vat, cost, toInt8({weight:Int8}) FROM trade_facts FINAL"
)
_ID_SEPARATOR = "\n"
_TAKE_BACK = _COUNT_FACTS + " WHERE id IN (SELECT line FROM format(LineAsString, {ids:String}))"
"""The stored versions of a batch's ids, taken back from the sums (weight -1) before the batch replaces them.
The ids are one text, one a line (no id holds a control character: ``CODE_PATTERN``), read as rows of one
string each: parsing a 5,000-item ``Array(String)`` parameter costs the engine about as much as the lookup
itself, and ``arrayJoin(splitByChar(…))`` of 50,000 ids 25 ms against 15 ms (P6). A set made by a subquery:
``id IN splitByChar(…)`` itself took 0.04 s for 30,000 ids and did not end in minutes for 50,000."""
_SUMS_EMPTY = " WHERE (SELECT count() FROM trade_sums_month) = 0"
TRADE_FACTS = kinds.TRADE_FACTS.table
FACT_COLUMNS = (*kinds.TRADE_FACTS.columns, "version")


FACT_TYPES: dict[str, pa.DataType] = {
    "id": pa.string(),
    "kind": pa.string(),
    "date": pa.date32(),
    "customer": pa.string(),
    "item": pa.string(),
    "division": pa.string(),
    "manager": pa.string(),
    "quantity": pa.decimal128(18, 3),
    "revenue": pa.decimal128(18, 2),
    "revenue_without_vat": pa.decimal128(18, 2),
    "cost": pa.decimal128(18, 2),
    "discount": pa.decimal128(18, 2),
    "currency": pa.string(),
}
"""The Arrow type of each column of ``trade_facts`` but ``version`` (``schema.sql``)."""
FACT_SCHEMA = pa.schema([(column, FACT_TYPES[column]) for column in kinds.TRADE_FACTS.columns])


def query(name: str) -> str:
    """The one statement of ``sql/<name>.sql``."""
    return load_query(SQL / f"{name}.sql")


async def prepare(store: AnalyticsStore, reporting_currency: str = "EUR") -> None:
    """Create the tables that do not exist yet and (re)create the views in ``reporting_currency``
    (``views.sql``: ``facts_converted``…, and ``facts_converted_as_of(known)`` over the facts known at a
    moment, see :data:`FACTS_KNOWN`), run when the store is first opened."""
    if not re.fullmatch(r"[A-Z]{3}", reporting_currency):
        # Written into the views as a literal: three capital letters only.
        raise ValueError(f"the reporting currency must be three capital letters, not {reporting_currency!r}")
    await store.run_script(SCHEMA)
    for table, versions in _MARKS.values():
        await store.execute(_BACKFILL.format(table=table, versions=versions))
    # The sums of facts stored before they existed. Not under the writes' lock: prepare runs as the store
    # opens (LazyAnalyticsStore: inside the first write's own statement), before anything is written.
    await store.execute(_COUNT_FACTS + _SUMS_EMPTY, {"weight": 1})
    await store.run_script(crm_events.SCRIPT)
    for statement in load_script(VIEWS):
        statement = statement.replace(_CURRENCY_MARK, reporting_currency)
        marks = [mark for mark in _MARKS if mark in statement]
        now = statement
        for mark in marks:
            now = now.replace(mark, f"SELECT * FROM {_MARKS[mark][0]} FINAL")
        await store.execute(now)
        if marks:  # and its twin over the records known at a moment
            twin = re.sub(r"VIEW (\w+) AS", r"VIEW \1_as_of AS", statement, count=1)
            for mark in marks:
                twin = twin.replace(mark, _KNOWN.format(versions=_MARKS[mark][1]))
            await store.execute(twin)


class Versions:
    """Versions of written facts: increasing within this process and, across processes, with the clock
    (nanoseconds since the epoch), so the fact received last under an id replaces the ones before."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def take(self, count: int) -> int:
        """The first of ``count`` consecutive new versions."""
        with self._lock:
            first = max(time.time_ns(), self._last + 1)
            self._last = first + count - 1
            return first


VERSIONS = Versions()
R = TypeVar("R")
_FACT_WRITE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _fact_writes() -> asyncio.Lock:
    """The lock of this process's (event loop's) writes of trade facts: between looking up the versions
    a batch replaces and inserting it, no other batch may replace them too (each would take them back)."""
    loop = asyncio.get_running_loop()
    lock = _FACT_WRITE_LOCKS.get(loop)
    if lock is None:
        lock = _FACT_WRITE_LOCKS[loop] = asyncio.Lock()
    return lock


async def rebuild_trade_sums(store: AnalyticsStore) -> None:
    """Empty the ABC report's sums and count every stored fact into them again (``crm rebuild
    analytics``; after a crash between a batch's two statements in :func:`write_records`)."""
    async with _fact_writes():
        for table in TRADE_SUMS:
            await store.execute(f"TRUNCATE TABLE {table}")
        await store.execute(_COUNT_FACTS, {"weight": 1})


async def write_records(store: AnalyticsStore, kind: RecordKind[R], records: Sequence[R]) -> int:
    """Write ``records`` to ``kind``'s table in one insert, each with a new version, so the latest
    received under a key replaces the ones before (a later one of the batch too; ``ReplacingMergeTree``,
    read with ``FINAL``)."""
    if not records:
        return 0
    if kind is not kinds.TRADE_FACTS:
        first = VERSIONS.take(len(records))
        rows = [(*kind.row(record), first + i) for i, record in enumerate(records)]
        return await store.insert(kind.table, (*kind.columns, "version"), rows)
    return await write_fact_table(store, table_of(records))  # type: ignore[arg-type]


def table_of(facts: Sequence[TradeFact]) -> pa.Table:
    """``facts`` as a typed table for :func:`write_fact_table`. Amounts
    go through their text: Arrow makes a decimal of a ``Decimal`` object ten times slower (P6)."""
    arrays = []
    for field in FACT_SCHEMA:  # a column at a time: no tuple per fact
        values = map(operator.attrgetter(field.name), facts)
        if pa.types.is_decimal(field.type):
            arrays.append(pa.array(list(map(str, values)), pa.string()).cast(field.type))
        else:
            arrays.append(pa.array(list(values), field.type))
    return pa.Table.from_arrays(arrays, schema=FACT_SCHEMA)


async def _take_back(store: AnalyticsStore, ids: Collection[str]) -> None:
    """Take the stored versions of ``ids`` back from the sums (:data:`_TAKE_BACK`); under the lock."""
    joined = _ID_SEPARATOR.join(ids)
    if joined.count(_ID_SEPARATOR) != len(ids) - 1:  # never from a validated fact: refuse, never miss one
        raise ValueError("a trade fact's id must not hold a control character")
    await store.execute(_TAKE_BACK, {"weight": -1, "ids": joined})


async def write_facts(store: AnalyticsStore, facts: Sequence[TradeFact]) -> int:
    """Write ``facts`` in one batch; a later fact of the batch with the same id replaces an earlier one."""
    return await write_records(store, kinds.TRADE_FACTS, facts)


async def write_fact_table(store: AnalyticsStore, facts: pa.Table) -> int:
    """Write trade facts given by column (``trade_facts``' columns but ``version``, typed as
    :data:`FACT_TYPES`) in one batch, as :func:`write_facts` does."""
    count = facts.num_rows
    if not count:
        return 0
    # Trade facts also feed the ABC report's sums (TRADE_SUMS): the versions the batch replaces are
    # taken back first, then the insert counts the batch (trade_fact_changes_feed).
    async with _fact_writes():
        first = VERSIONS.take(count)
        await _take_back(store, pc.unique(facts["id"]).to_pylist())
        versions = pa.array(range(first, first + count), pa.uint64())
        return await store.insert_arrow(TRADE_FACTS, facts.append_column("version", versions))


async def write_rates(store: AnalyticsStore, rates: Sequence[Rate]) -> int:
    """Write ``rates`` in one batch; a rate of the same currency and date replaces the one before it
    (an earlier one of the batch or one already stored)."""
    return await write_records(store, kinds.CURRENCY_RATES, rates)
