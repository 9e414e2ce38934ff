"""Relationship stages and the XYZ classification of customers, read from the analytics tables.

The rule (``domain.xyz``) runs in ClickHouse (``projections/sql/xyz.sql``) over every customer with a
fact dated up to ``to``; the answer is a page of rows in customer code order and a summary per stage
and class, as of any moment. Access is the ABC report's (``application.scope``): the whole for
``analytics:read``, the customers of their access groups' counterparties for a sales manager, 403 for
a caller with no role. Each row's ``counterparty_id`` comes from ``customer_links``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from crm_analytics.application.abc import WithoutRate, facts_without_rate
from crm_analytics.application.reading import known_at, linked_in_scope, moment
from crm_analytics.application.scope import Scope, scope_of
from crm_analytics.domain.trade_fact import EARLIEST
from crm_analytics.domain.xyz import (
    SCALES,
    STAGES,
    XYZ_CLASSES,
    Stage,
    XyzClass,
    XyzMeasure,
    XyzParameters,
    coefficient,
    mean,
)
from crm_analytics.projections.tables import query
from crm_shared.analytics import AnalyticsStore
from crm_shared.identity import Caller

_XYZ = query("xyz")
_SEEN = {False: linked_in_scope(_XYZ), True: linked_in_scope(known_at(_XYZ))}
"""By whether the facts are read as known at a past moment (``as_of``) or as they are now."""
_PAGE = {
    known: f"SELECT * FROM ({seen}) WHERE customer > {{after:String}} ORDER BY customer LIMIT {{limit:UInt32}}"
    for known, seen in _SEEN.items()
}
_SUMMARY = {
    known: f"SELECT stage, xyz_class, count() AS customers FROM ({seen}) GROUP BY stage, xyz_class"
    for known, seen in _SEEN.items()
}
_MONEY = ("revenue", "revenue_without_vat", "profit")


async def window_without_rate(store: AnalyticsStore, measure: XyzMeasure, start: date, end: date) -> list[WithoutRate]:
    """The facts dated ``start`` … ``end`` without a rate, by currency, for a money measure (else none:
    counts and days need no rate)."""
    if measure not in _MONEY:
        return []
    return await facts_without_rate(store, max(start, EARLIEST), end)


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


COLUMNS = (
    "customer",
    "counterparty_id",
    "stage",
    "class",
    "coefficient",
    "mean",
    "total",
    "values",
    "active_periods",
)
"""The columns of the report as rows, one per customer (:func:`cells`): ``crm report xyz`` and the
report's files."""


def cells(row: XyzRow) -> tuple[object, ...]:
    """A customer's row of :data:`COLUMNS` (None where there is no counterparty, class, coefficient
    or mean)."""
    return (
        row.customer,
        row.counterparty_id,
        row.stage,
        row.xyz_class,
        row.coefficient,
        row.mean,
        row.total,
        row.values,
        row.active_periods,
    )


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
        counterparty_id=str(found["counterparty_id"]) or None,
        stage=stage,
        xyz_class=grade,
        coefficient=coefficient(count, total, squares),
        mean=mean(count, total),
        total=total.quantize(scale),
        values=count,
        active_periods=active,
    )


class XyzReport:
    """Reads relationship stages and XYZ classes, as of any moment (``as_of``): every customer for
    analytics readers, the customers of their access groups' counterparties for a sales manager
    (``application.scope``; the stages and classes are each customer's own, the counts of their rows)."""

    def __init__(self, store: AnalyticsStore) -> None:
        self._store = store

    async def classify(
        self, caller: Caller, asked: XyzParameters, *, after: str = "", limit: int = 100, as_of: datetime | None = None
    ) -> XyzResult:
        """The rows after customer code ``after`` (at most ``limit``), and the summary."""
        scope = scope_of(caller)
        rows, last = await self._page(asked, scope, as_of, after, limit)
        parameters = {**_parameters(asked), **moment(as_of), **scope.parameters()}
        summary = await self._store.query(_SUMMARY[as_of is not None], parameters)
        stages = dict.fromkeys(STAGES, 0)
        classes = dict.fromkeys(XYZ_CLASSES, 0)
        for entry in summary:
            stages[entry["stage"]] += int(entry["customers"])
            if entry["xyz_class"] is not None:
                classes[entry["xyz_class"]] += int(entry["customers"])
        without_rate = await window_without_rate(self._store, asked.measure, asked.first_day, asked.to)
        return XyzResult(
            rows=rows,
            last_customer=last,
            customers=sum(stages.values()),
            stages=stages,
            classes=classes,
            first_day=asked.first_day,
            without_rate=without_rate,
        )

    async def every_row(
        self, caller: Caller, asked: XyzParameters, *, page: int = 10_000, as_of: datetime | None = None
    ) -> AsyncIterator[XyzRow]:
        """Every row of the caller's scope in customer code order, a page at a time (for files)."""
        scope = scope_of(caller)
        after: str | None = ""
        while after is not None:
            rows, after = await self._page(asked, scope, as_of, after, page)
            for row in rows:
                yield row

    async def _page(
        self, asked: XyzParameters, scope: Scope, as_of: datetime | None, after: str, limit: int
    ) -> tuple[list[XyzRow], str | None]:
        parameters = {**_parameters(asked), **moment(as_of), **scope.parameters(), "after": after, "limit": limit + 1}
        found = await self._store.query(_PAGE[as_of is not None], parameters)
        rows = [_row(r, asked) for r in found[:limit]]
        return rows, rows[-1].customer if len(found) > limit and rows else None
