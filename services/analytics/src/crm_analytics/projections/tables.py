"""The analytics tables and how trade facts are written to them (one set of SQL for both engines)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from crm_analytics.domain.trade_fact import TradeFact
from crm_shared.analytics import AnalyticsStore, load_query

SQL = Path(__file__).parent / "sql"
SCHEMA = SQL / "schema.sql"
TRADE_FACTS = "trade_facts"
FACT_COLUMNS = (
    "id",
    "kind",
    "date",
    "customer",
    "item",
    "division",
    "manager",
    "quantity",
    "revenue",
    "revenue_without_vat",
    "cost",
    "currency",
    "version",
)


def query(name: str) -> str:
    """The one statement of ``sql/<name>.sql``."""
    return load_query(SQL / f"{name}.sql")


async def prepare(store: AnalyticsStore) -> None:
    """Create the tables that do not exist yet (run when the store is first opened)."""
    await store.run_script(SCHEMA)


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


async def write_facts(store: AnalyticsStore, facts: Sequence[TradeFact]) -> int:
    """Write ``facts`` in one batch; a later fact of the batch with the same id replaces an earlier one."""
    if not facts:
        return 0
    first = VERSIONS.take(len(facts))
    rows = [
        (
            f.id,
            f.kind,
            f.date,
            f.customer,
            f.item,
            f.division,
            f.manager,
            f.quantity,
            f.revenue,
            f.revenue_without_vat,
            f.cost,
            f.currency,
            first + i,
        )
        for i, f in enumerate(facts)
    ]
    return await store.insert(TRADE_FACTS, FACT_COLUMNS, rows)
