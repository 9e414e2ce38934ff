"""Multi-touch attribution: each sale of the period split among the touches before it.

Every trade fact dated in the period (a sale, or a return as a negative amount; converted to the
reporting currency) is split among the **touches** of its counterparty (completed interactions,
dated by their end in the organisation's time zone) dated from ``lookback_days`` before the fact's
date to the fact's date, both included (``attribution.sql``), by the model chosen
(:mod:`crm_analytics.domain.attribution`: first, last, linear, position 40/20/40, time decay),
exactly to the cent. Each part is credited to the touch's kind, its responsible manager or the
counterparty's information source valid on the touch's day.

Facts with no touch in their window — those of customers no counterparty carries too (they can
have none) — go whole to the **no touch** row; ``unlinked`` says how many of them had no
counterparty. So the rows always sum to the revenue (and profit) of the period in the caller's
scope. Facts without a rate are left out and reported by currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from crm_analytics.application.abc import WithoutRate
from crm_analytics.application.reading import at
from crm_analytics.application.scope import scope_of
from crm_analytics.application.touches import Knowledge, with_touches_and_sales, without_rate
from crm_analytics.domain.attribution import AttributionQuery, split, weights
from crm_analytics.domain.trade_fact import EARLIEST
from crm_analytics.projections.tables import query
from crm_shared.analytics import AnalyticsStore
from crm_shared.identity import Caller

_PER_SALE = with_touches_and_sales(query("attribution"))
_TOUCHED = f"SELECT * FROM ({_PER_SALE}) WHERE notEmpty(ages)"
_UNTOUCHED = (
    f"SELECT count() AS sales, countIf(counterparty_id = '') AS unlinked, sum(revenue) AS revenue,"
    f" sum(profit) AS profit FROM ({_PER_SALE}) WHERE empty(ages)"
)
_WITHOUT_RATE = with_touches_and_sales(
    "SELECT currency, count() AS facts, min(date) AS earliest FROM sales"
    " WHERE NOT converted AND date BETWEEN {from:Date} AND {to:Date} GROUP BY currency ORDER BY currency"
)


@dataclass(slots=True)
class AttributionRow:
    """What was credited to one kind, manager or source (``key`` None: the sales with no touch)."""

    key: str | None
    revenue: Decimal = Decimal("0.00")
    profit: Decimal = Decimal("0.00")
    sales: int = 0
    """Facts that credited this group a part (of weight above 0), or for the no-touch row the facts."""


@dataclass(frozen=True, slots=True)
class AttributionResult:
    """A page of groups (keys in order, the no-touch row last) and the totals of the period."""

    rows: list[AttributionRow]
    last_key: str | None
    """The key of the page's last row when more follow."""
    groups: int
    """Rows in all, the no-touch row included."""
    revenue: Decimal
    """The revenue of the period in scope: the sum of every row's."""
    profit: Decimal
    sales: int
    """Facts of the period in scope (with a rate)."""
    untouched: int
    """Facts with no touch in their window."""
    unlinked: int
    """Of those, facts whose customer code no counterparty carried."""
    as_of: datetime
    without_rate: list[WithoutRate] = field(default_factory=list)


class AttributionReport:
    """The report, for any caller with a scope (:func:`~crm_analytics.application.scope.scope_of`)."""

    def __init__(self, store: AnalyticsStore, tz: str = "UTC") -> None:
        self._store = store
        self._tz = tz

    async def groups(
        self, caller: Caller, asked: AttributionQuery, *, as_of: datetime | None = None
    ) -> AttributionResult:
        """Every group, keys in order and the no-touch row last (rows with nothing credited left out)."""
        known = at(as_of)
        period = asked.period
        knowledge = Knowledge(known, self._tz, scope_of(caller))
        parameters = {
            **knowledge.parameters(
                (max(period.start - timedelta(days=asked.lookback_days), EARLIEST), period.end),
                (period.start, period.end),
            ),
            "from": period.start,
            "to": period.end,
            "lookback_days": asked.lookback_days,
            "by": asked.by,
        }
        credited: dict[str, AttributionRow] = {}
        revenue, profit, sales = Decimal("0.00"), Decimal("0.00"), 0
        for sale in await self._store.query(_TOUCHED, parameters):
            keys = [str(k) for k in sale["keys"]]
            parts = weights(asked.model, [int(age) for age in sale["ages"]], asked.half_life_days)
            amount, gain = Decimal(str(sale["revenue"])), Decimal(str(sale["profit"]))
            revenue, profit, sales = revenue + amount, profit + gain, sales + 1
            seen: set[str] = set()
            for key, weight, part, share in zip(keys, parts, split(amount, parts), split(gain, parts), strict=True):
                row = credited.setdefault(key, AttributionRow(key))
                row.revenue += part
                row.profit += share
                if weight > 0 and key not in seen:
                    seen.add(key)
                    row.sales += 1
        [none] = await self._store.query(_UNTOUCHED, parameters)
        untouched = AttributionRow(
            None, Decimal(str(none["revenue"] or 0)), Decimal(str(none["profit"] or 0)), int(str(none["sales"]))
        )
        rows = [credited[key] for key in sorted(credited)]
        if untouched.sales:
            rows.append(untouched)
        return AttributionResult(
            rows=rows,
            last_key=None,
            groups=len(rows),
            revenue=revenue + untouched.revenue,
            profit=profit + untouched.profit,
            sales=sales + untouched.sales,
            untouched=untouched.sales,
            unlinked=int(str(none["unlinked"])),
            as_of=known,
            without_rate=without_rate(await self._store.query(_WITHOUT_RATE, parameters)),
        )

    async def report(
        self,
        caller: Caller,
        asked: AttributionQuery,
        *,
        as_of: datetime | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> AttributionResult:
        """The rows with a key after ``after`` (and the no-touch row, always last), at most ``limit``,
        and the totals. The split is made whole for every page (it is exact per sale, so the pages of
        one as-of moment agree)."""
        result = await self.groups(caller, asked, as_of=as_of)
        rows = [r for r in result.rows if after is None or r.key is None or r.key > after]
        page = rows[:limit]
        return replace(result, rows=page, last_key=page[-1].key if len(rows) > limit else None)
