"""The analytics tables and how the ERP's records are written to them (one set of SQL for both engines)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

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
_FACTS_MARK = "__TRADE_FACTS__"
FACTS_KNOWN = (
    "SELECT * FROM trade_fact_versions WHERE version <= {known:UInt64} ORDER BY version DESC LIMIT 1 BY id"
)
"""The trade facts as the CRM knew them when its clock read ``known`` nanoseconds since the epoch: per id
the latest version received by then, from the history of every version received (``trade_fact_versions``;
``views.sql``'s ``*_as_of`` twins take it as ``known``)."""
_BACKFILL = (
    "INSERT INTO trade_fact_versions SELECT * FROM trade_facts FINAL"
    " WHERE (SELECT count() FROM trade_fact_versions) = 0"
)
"""Facts stored before the history existed enter it once, as their latest versions."""
TRADE_FACTS = kinds.TRADE_FACTS.table
FACT_COLUMNS = (*kinds.TRADE_FACTS.columns, "version")


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
    await store.execute(_BACKFILL)
    await store.run_script(crm_events.SCRIPT)
    for statement in load_script(VIEWS):
        statement = statement.replace(_CURRENCY_MARK, reporting_currency)
        await store.execute(statement.replace(_FACTS_MARK, "SELECT * FROM trade_facts FINAL"))
        if _FACTS_MARK in statement:  # and its twin over the facts known at a moment
            twin = re.sub(r"VIEW (\w+) AS", r"VIEW \1_as_of AS", statement, count=1)
            await store.execute(twin.replace(_FACTS_MARK, FACTS_KNOWN))


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


async def write_records(store: AnalyticsStore, kind: RecordKind[R], records: Sequence[R]) -> int:
    """Write ``records`` to ``kind``'s table in one insert, each with a new version, so the latest
    received under a key replaces the ones before (a later one of the batch too; ``ReplacingMergeTree``,
    read with ``FINAL``)."""
    if not records:
        return 0
    first = VERSIONS.take(len(records))
    rows = [(*kind.row(record), first + i) for i, record in enumerate(records)]
    return await store.insert(kind.table, (*kind.columns, "version"), rows)


async def write_facts(store: AnalyticsStore, facts: Sequence[TradeFact]) -> int:
    """Write ``facts`` in one batch; a later fact of the batch with the same id replaces an earlier one."""
    return await write_records(store, kinds.TRADE_FACTS, facts)


async def write_rates(store: AnalyticsStore, rates: Sequence[Rate]) -> int:
    """Write ``rates`` in one batch; a rate of the same currency and date replaces the one before it
    (an earlier one of the batch or one already stored)."""
    return await write_records(store, kinds.CURRENCY_RATES, rates)
