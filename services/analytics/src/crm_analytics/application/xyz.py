"""Relationship stages and the XYZ classification of customers, read from the analytics tables.

The rule (``domain.xyz``) runs in ClickHouse (``projections/sql/xyz.sql``) over every customer with a
fact dated up to ``to``; the answer is a page of rows in customer code order and a summary per stage
and class. Access is the ABC report's: ``analytics:read`` (the whole), 403 for others. Each row's
``counterparty_id`` is looked up when read in the local copy of contacts' ERP codes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from crm_analytics.application.abc import AbcReport, WithoutRate, facts_without_rate
from crm_analytics.application.links import CounterpartyLinks
from crm_analytics.domain.trade_fact import EARLIEST
from crm_analytics.domain.xyz import (
    SCALES,
    STAGES,
    XYZ_CLASSES,
    Stage,
    XyzClass,
    XyzParameters,
    coefficient,
    mean,
)
from crm_analytics.projections.tables import query
from crm_shared.analytics import AnalyticsStore
from crm_shared.identity import Caller

_XYZ = query("xyz")
_PAGE = f"SELECT * FROM ({_XYZ}) WHERE customer > {{after:String}} ORDER BY customer LIMIT {{limit:UInt32}}"
_SUMMARY = f"SELECT stage, xyz_class, count() AS customers FROM ({_XYZ}) GROUP BY stage, xyz_class"
_MONEY = ("revenue", "revenue_without_vat", "profit")


def _parameters(asked: XyzParameters) -> dict[str, object]:
    """The SQL parameters of ``xyz.sql``."""
    return {
        "to": asked.to,
        "periodicity": asked.periodicity,
        "periods": asked.periods,
        "measure": asked.measure,
        "regular_periods": asked.regular_periods,
        "x": asked.x,
        "y": asked.y,
    }


@dataclass(frozen=True, slots=True)
class XyzRow:
    """One customer's stage and class."""

    customer: str
    counterparty_id: str | None
    """The counterparty carrying the customer's ERP code (None: no counterparty carries it yet)."""
    stage: Stage
    xyz_class: XyzClass | None
    """Only regular customers have a class."""
    coefficient: Decimal | None
    """The coefficient of variation in percent (4 decimals); None without values or with a mean ≤ 0."""
    mean: Decimal | None
    """The mean of the values (4 decimals); None without values."""
    total: Decimal
    """The sum of the values (exact)."""
    values: int
    """How many values: the periods of the window, or for intervals the intervals between sale days."""
    active_periods: int
    """Periods of the window with at least one sale."""


@dataclass(frozen=True, slots=True)
class XyzResult:
    """A page of rows and the summary of the whole analysis."""

    rows: list[XyzRow]
    last_customer: str | None
    """The code of the last row when more follow (the next page starts after it)."""
    customers: int
    stages: dict[Stage, int]
    classes: dict[XyzClass, int]
    first_day: date
    """The first day of the window's first period."""
    without_rate: list[WithoutRate]
    """Facts of the window without a rate, by currency (left out of money measures)."""


def _row(found: dict[str, object], asked: XyzParameters) -> XyzRow:
    scale = SCALES[asked.measure]
    count = found["n"]
    assert isinstance(count, int)
    total, squares = Decimal(str(found["total"])), Decimal(str(found["squares"]))
    stage, grade = str(found["stage"]), found["xyz_class"]
    assert stage in STAGES and (grade is None or grade in XYZ_CLASSES)
    active = found["active"]
    assert isinstance(active, int)
    return XyzRow(
        customer=str(found["customer"]),
        counterparty_id=None,
        stage=stage,
        xyz_class=grade,
        coefficient=coefficient(count, total, squares),
        mean=mean(count, total),
        total=total.quantize(scale),
        values=count,
        active_periods=active,
    )


class XyzReport:
    """Reads relationship stages and XYZ classes for callers who may see the whole."""

    def __init__(self, store: AnalyticsStore, links: CounterpartyLinks | None = None) -> None:
        self._store = store
        self._links = links

    authorize = staticmethod(AbcReport.authorize)

    async def classify(self, caller: Caller, asked: XyzParameters, *, after: str = "", limit: int = 100) -> XyzResult:
        """The rows after customer code ``after`` (at most ``limit``), and the summary."""
        self.authorize(caller)
        rows, last = await self._page(asked, after, limit)
        summary = await self._store.query(_SUMMARY, _parameters(asked))
        stages = dict.fromkeys(STAGES, 0)
        classes = dict.fromkeys(XYZ_CLASSES, 0)
        for entry in summary:
            stages[entry["stage"]] += int(entry["customers"])
            if entry["xyz_class"] is not None:
                classes[entry["xyz_class"]] += int(entry["customers"])
        without_rate: list[WithoutRate] = []
        if asked.measure in _MONEY:
            without_rate = await facts_without_rate(self._store, max(asked.first_day, EARLIEST), asked.to)
        return XyzResult(
            rows=rows,
            last_customer=last,
            customers=sum(stages.values()),
            stages=stages,
            classes=classes,
            first_day=asked.first_day,
            without_rate=without_rate,
        )

    async def every_row(self, caller: Caller, asked: XyzParameters, *, page: int = 10_000) -> AsyncIterator[XyzRow]:
        """Every row in customer code order, a page at a time (for files)."""
        self.authorize(caller)
        after: str | None = ""
        while after is not None:
            rows, after = await self._page(asked, after, page)
            for row in rows:
                yield row

    async def _page(self, asked: XyzParameters, after: str, limit: int) -> tuple[list[XyzRow], str | None]:
        found = await self._store.query(_PAGE, {**_parameters(asked), "after": after, "limit": limit + 1})
        rows = [_row(r, asked) for r in found[:limit]]
        if self._links is not None and rows:
            linked = await self._links.counterparties(row.customer for row in rows)
            rows = [replace(row, counterparty_id=linked.get(row.customer)) for row in rows]
        return rows, rows[-1].customer if len(found) > limit and rows else None
