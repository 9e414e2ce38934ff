"""The analytics tables and how trade facts are written to them (one set of SQL for both engines)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from crm_analytics.domain.currency_rate import CurrencyRate
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections import crm_events
from crm_shared.analytics import AnalyticsStore, load_query, load_script

SQL = Path(__file__).parent / "sql"
SCHEMA = SQL / "schema.sql"
VIEWS = SQL / "views.sql"
_CURRENCY_MARK = "__REPORTING_CURRENCY__"
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
CURRENCY_RATES = "currency_rates"
RATE_COLUMNS = ("currency", "date", "rate", "version")


def query(name: str) -> str:
    """The one statement of ``sql/<name>.sql``."""
    return load_query(SQL / f"{name}.sql")


async def prepare(store: AnalyticsStore, reporting_currency: str = "EUR") -> None:
    """Create the tables that do not exist yet and (re)create the views in ``reporting_currency``
    (``views.sql``: ``facts_converted``…), run when the store is first opened."""
    if not re.fullmatch(r"[A-Z]{3}", reporting_currency):
        # Written into the views as a literal: three capital letters only.
        raise ValueError(f"the reporting currency must be three capital letters, not {reporting_currency!r}")
    await store.run_script(SCHEMA)
    await store.run_script(crm_events.SCRIPT)
    for statement in load_script(VIEWS):
        await store.execute(statement.replace(_CURRENCY_MARK, reporting_currency))


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


async def write_rates(store: AnalyticsStore, rates: Sequence[CurrencyRate]) -> int:
    """Write ``rates`` in one batch; a rate of the same currency and date replaces the one before it
    (an earlier one of the batch or one already stored)."""
    if not rates:
        return 0
    first = VERSIONS.take(len(rates))
    rows = [(r.currency, r.date, r.rate, first + i) for i, r in enumerate(rates)]
    return await store.insert(CURRENCY_RATES, RATE_COLUMNS, rows)
