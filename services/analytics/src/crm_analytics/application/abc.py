"""The ABC classification of customers over a period, read from the analytics tables.

The rule (``domain.abc``) runs in ClickHouse over every customer known by the end of the period; the
answer is a page of rows in place order (1 = the greatest value) and a summary per class. Only
callers who may see the whole (``analytics:read``: administrators, heads of sales, marketers) read it:
rows cannot yet be limited to a sales manager's access groups (the counterparties' groups are not
in analytics' local copy yet), so others get 403.

Each row's ``counterparty_id`` is looked up when read in the local copy of contacts' ERP codes
(``application.links``), so customers link by themselves once a counterparty carries their code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from crm_analytics.application.links import CounterpartyLinks
from crm_analytics.domain.abc import CLASSES, AbcClass, Measure, Period, Shares, cumulative_share
from crm_analytics.projections.tables import query
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import Forbidden
from crm_shared.identity import Caller, Permission

_ABC = query("abc")
_PAGE = f"SELECT * FROM ({_ABC}) WHERE place > {{after:UInt64}} ORDER BY place LIMIT {{limit:UInt32}}"
_SUMMARY = f"SELECT class, count() AS customers, sum(value) AS value, any(total) AS total FROM ({_ABC}) GROUP BY class"
_WITHOUT_RATE = query("facts_without_rate")
_CUSTOMERS = query("customers")


@dataclass(frozen=True, slots=True)
class AbcQuery:
    """What to classify: the period, the measure, the shares and the currency of the values (the
    reporting currency: facts in others are converted at their date's rate by ``facts_converted``)."""

    period: Period
    measure: Measure = "revenue"
    shares: Shares = field(default_factory=Shares)
    currency: str = "EUR"

    def parameters(self) -> dict[str, object]:
        """The SQL parameters of ``abc.sql``."""
        return {
            "from": self.period.start,
            "to": self.period.end,
            "measure": self.measure,
            "c_share": self.shares.c,
            "cb_share": self.shares.c + self.shares.b,
        }


@dataclass(frozen=True, slots=True)
class AbcRow:
    """One customer's class."""

    place: int
    customer: str
    counterparty_id: str | None
    """The counterparty carrying the customer's ERP code (None: no counterparty carries it yet)."""
    value: Decimal
    cumulative_value: Decimal
    """The sum of the values up to this customer in ascending order (its own included)."""
    cumulative_share: Decimal | None
    """``cumulative_value`` in percent of the total; None when the total is not positive."""
    abc_class: AbcClass


@dataclass(frozen=True, slots=True)
class ClassSummary:
    """How many customers a class has and the sum of their values."""

    customers: int
    value: Decimal


@dataclass(frozen=True, slots=True)
class WithoutRate:
    """Facts of one currency in the period that have no rate (none of their currency on or before
    their date): never summed unconverted, reported instead."""

    currency: str
    facts: int
    earliest: date
    """The earliest date of those facts: rates from then on would convert them all."""


async def facts_without_rate(store: AnalyticsStore, start: date, end: date) -> list[WithoutRate]:
    """The facts dated ``start`` … ``end`` without a rate, by currency (``facts_without_rate.sql``)."""
    found = await store.query(_WITHOUT_RATE, {"from": start, "to": end})
    return [WithoutRate(str(r["currency"]), int(str(r["facts"])), r["earliest"]) for r in found]


@dataclass(frozen=True, slots=True)
class AbcResult:
    """A page of rows and the summary of the whole classification."""

    rows: list[AbcRow]
    last_place: int | None
    """The place of the last row when more follow (the next page starts after it)."""
    customers: int
    total: Decimal
    classes: dict[AbcClass, ClassSummary]
    without_rate: list[WithoutRate]
    """Facts of the period that have no rate, by currency: left out, never summed unconverted."""


def _row(found: dict[str, object]) -> AbcRow:
    value, cumulative, total = (Decimal(str(found[name])) for name in ("value", "cumulative", "total"))
    place = found["place"]
    assert isinstance(place, int)
    abc_class = str(found["class"])
    assert abc_class in CLASSES
    return AbcRow(
        place=place,
        customer=str(found["customer"]),
        counterparty_id=None,
        value=value,
        cumulative_value=cumulative,
        cumulative_share=cumulative_share(cumulative, total),
        abc_class=abc_class,
    )


@dataclass(frozen=True, slots=True)
class Unlinked:
    """A customer of the trade facts whose code no counterparty carries."""

    customer: str
    facts: int
    last_date: date


class AbcReport:
    """Reads the ABC classification for callers who may see the whole."""

    def __init__(self, store: AnalyticsStore, links: CounterpartyLinks | None = None) -> None:
        self._store = store
        self._links = links

    async def _linked(self, rows: list[AbcRow]) -> list[AbcRow]:
        if self._links is None or not rows:
            return rows
        found = await self._links.counterparties(row.customer for row in rows)
        return [replace(row, counterparty_id=found.get(row.customer)) for row in rows]

    async def unlinked(self, caller: Caller, *, after: str = "", limit: int = 100) -> tuple[list[Unlinked], str | None]:
        """Customers (in code order after ``after``) whose code no counterparty carries, at most
        ``limit``, and the code to continue after when more may follow."""
        self.authorize(caller)
        found: list[Unlinked] = []
        while len(found) < limit:
            chunk = await self._store.query(_CUSTOMERS, {"after": after, "limit": 1000})
            if not chunk:
                return found, None
            linked = await self._links.counterparties(str(r["customer"]) for r in chunk) if self._links else {}
            for r in chunk:
                after = str(r["customer"])
                if after not in linked:
                    found.append(Unlinked(after, int(r["facts"]), r["last_date"]))
                    if len(found) == limit:
                        return found, after
            if len(chunk) < 1000:
                return found, None
        return found, after

    @staticmethod
    def authorize(caller: Caller) -> None:
        """:class:`Forbidden` unless the caller may read analytics over every customer."""
        if not caller.can(Permission.ANALYTICS_READ):
            raise Forbidden("your roles do not allow reading analytics reports")

    async def classify(self, caller: Caller, asked: AbcQuery, *, after: int = 0, limit: int = 100) -> AbcResult:
        """The rows after place ``after`` (at most ``limit``), and the summary."""
        self.authorize(caller)
        rows, last_place = await self._page(asked, after, limit)
        parameters = asked.parameters()
        summary = await self._store.query(_SUMMARY, parameters)
        without_rate = await facts_without_rate(self._store, asked.period.start, asked.period.end)
        classes = {c: ClassSummary(0, Decimal("0.00")) for c in CLASSES}
        total = Decimal("0.00")
        for entry in summary:
            classes[entry["class"]] = ClassSummary(int(entry["customers"]), Decimal(str(entry["value"])))
            total = Decimal(str(entry["total"]))
        return AbcResult(
            rows=rows,
            last_place=last_place,
            customers=sum(s.customers for s in classes.values()),
            total=total,
            classes=classes,
            without_rate=without_rate,
        )

    async def every_row(self, caller: Caller, asked: AbcQuery, *, page: int = 10_000) -> AsyncIterator[AbcRow]:
        """Every row in place order, a page at a time (for files)."""
        self.authorize(caller)
        after: int | None = 0
        while after is not None:
            rows, after = await self._page(asked, after, page)
            for row in rows:
                yield row

    async def _page(self, asked: AbcQuery, after: int, limit: int) -> tuple[list[AbcRow], int | None]:
        found = await self._store.query(_PAGE, {**asked.parameters(), "after": after, "limit": limit + 1})
        rows = await self._linked([_row(r) for r in found[:limit]])
        return rows, rows[-1].place if len(found) > limit and rows else None
