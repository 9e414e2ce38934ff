"""The ABC classification of customers over a period, read from the analytics tables.

The rule (``domain.abc``) runs in ClickHouse over every customer known by the end of the period; the
answer is a page of rows in place order (1 = the greatest value) and a summary per class, as of any
moment (the facts received and the events that happened by then). Callers who may see the whole
(``analytics:read``: administrators, heads of sales, marketers) read every row; a sales manager the
rows of their access groups' counterparties (``application.scope``): the class is the one the rule
gives among every customer, the cumulative values, total and summary are of their rows only.

Each row's ``counterparty_id`` comes from ``customer_links`` (contacts' ERP codes in ``crm_events``),
so customers link by themselves once a counterparty carries their code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm_analytics.application.links import CounterpartyLinks
from crm_analytics.application.reading import moment
from crm_analytics.application.scope import SCOPE_SQL, Scope, scope_of
from crm_analytics.domain.abc import CLASSES, AbcClass, Measure, Period, Shares, cumulative_share
from crm_analytics.projections.tables import TRADE_SUMS, query
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import Forbidden
from crm_shared.identity import Caller, Permission

_PER_CUSTOMER = "__PER_CUSTOMER__"
_FACTS = query("abc_facts")
_KNOWN_FACTS = "FROM facts_converted_as_of(known = {known:UInt64})"
assert "FROM facts_converted\n" in _FACTS, "abc_facts.sql no longer reads `FROM facts_converted` on a line of its own"
CLASSIFIED = {
    "sums": query("abc").replace(_PER_CUSTOMER, query("abc_sums")),
    "facts": query("abc").replace(_PER_CUSTOMER, _FACTS),
    "known": query("abc").replace(_PER_CUSTOMER, _FACTS.replace("FROM facts_converted\n", _KNOWN_FACTS + "\n")),
}
"""``abc.sql`` over each source of the customers' values: the sums kept for the facts as they are now
(``abc_sums.sql``, what :meth:`AbcReport.classify` reads), every fact as it is now (``facts_converted``:
the same rows, from a scan) and the facts known at a moment (``as_of``)."""


_LINKED = """
    LEFT JOIN customer_links(as_of = {as_of:DateTime64(6, 'UTC')}) AS l ON a.customer = l.customer
    LEFT JOIN counterparties_as_of(as_of = {as_of:DateTime64(6, 'UTC')}) AS c
        ON l.counterparty_id = c.counterparty_id"""
"""Each row's counterparty (by its customer code) and that counterparty's main manager, as of ``as_of``."""


def _seen(abc: str) -> str:
    """The rows of the caller's scope, linked to counterparties as of ``as_of`` (with each one's main
    manager then), with their places among those rows, the cumulative values and the total of those rows
    (for the whole, the same as the rule's own): a row outside the scope leaves no gap in the places."""
    return f"""
    SELECT toUInt64(row_number() OVER (ORDER BY rule_place ASC)) AS place, * EXCEPT rule_place FROM (
    SELECT a.place AS rule_place, a.customer AS customer, value, class, l.counterparty_id AS counterparty_id,
        c.manager AS manager,
        sum(value) OVER (ORDER BY value ASC, customer ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
            AS cumulative,
        sum(value) OVER () AS total
    FROM ({abc}) AS a {_LINKED}
    WHERE {SCOPE_SQL})"""


def _page_and_summary(seen: str, *, link: bool = False) -> str:
    """One classification: the rows after place ``after`` (at most ``limit``), each with the summary of
    every row seen (customers and value per class), and the last row seen even when the page is empty
    (so the summary comes too; it is no row of the page). ``link``: ``seen`` is the rule's own rows
    (a caller who sees every customer), and only the page's rows are linked to counterparties."""
    summary = ", ".join(
        f"countIf(class = '{c}') OVER () AS customers_{c}, sumIf(value, class = '{c}') OVER () AS value_{c}"
        for c in CLASSES
    )
    page = f"""
    SELECT * FROM (SELECT *, {summary}, max(place) OVER () AS last_place FROM ({seen}))
    WHERE place > {{after:UInt64}} OR place = last_place
    ORDER BY place > {{after:UInt64}} DESC, place
    LIMIT {{limit:UInt32}}"""
    if not link:
        return page
    return f"""
    SELECT a.* EXCEPT customer, a.customer AS customer, l.counterparty_id AS counterparty_id, c.manager AS manager
    FROM ({page}) AS a {_LINKED}
    ORDER BY a.place > {{after:UInt64}} DESC, a.place"""


_SUMS_ROWS = f"SELECT count() AS rows FROM {TRADE_SUMS[0]}"
ONE_THREAD_BELOW = 1_000_000
"""Month sums (rows of ``trade_sums_month``) under which the page over the sums runs on one thread.

Measured in chDB on 2 cores (bench/p5_abc.py, 2026-12-07): grouping the month sums by customer on two
threads costs about twice the CPU of one (each thread's table holds nearly every customer, then they
are merged; grouping by month shows no such cost). At 1M lines (~650,000 month sums) two threads
were faster in no run (on a machine shared with other work) and much slower when the other core was
busy; at 10M lines (~3.7M) they were faster (best 232 against 371 ms; medians 431 against 466 ms).
The links and managers are joined by plain hash either way: the default tries a parallel hash first,
~5 ms a join even for an empty right side. The scan of every fact known at a moment keeps the defaults."""
_READS = {
    "sums": ("sums", "\nSETTINGS join_algorithm = 'hash'"),
    "few": ("sums", "\nSETTINGS max_threads = 1, join_algorithm = 'hash'"),
    "known": ("known", ""),
}
_PAGE = {
    (read, whole): (
        _page_and_summary(CLASSIFIED[source], link=True) if whole else _page_and_summary(_seen(CLASSIFIED[source]))
    )
    + settings
    for read, (source, settings) in _READS.items()
    for whole in (False, True)
}
"""By the rows read (the sums kept for the facts as they are now, on one thread when there are few
enough, :data:`ONE_THREAD_BELOW`; or the facts known at a past moment) and whether the caller sees every
customer: then the rule's own places and sums are the caller's, and only a page's rows are linked."""
_WITHOUT_RATE = query("facts_without_rate")
_LINES_WITHOUT_RATE = query("lines_without_rate")
_CUSTOMERS = query("customers")


@dataclass(frozen=True, slots=True)
class AbcQuery:
    """What to classify: the period, the measure, the shares and the currency of the values (the
    reporting currency: facts in others are converted at their date's rate by ``facts_converted``)."""

    period: Period
    measure: Measure = "revenue"
    shares: Shares = field(default_factory=Shares)
    currency: str = "EUR"
    as_of: datetime | None = None
    """What the CRM knew at this moment: facts received and events that happened by then (None: now)."""

    def parameters(self) -> dict[str, object]:
        """The SQL parameters of ``abc.sql``, the links and the facts known ``as_of``."""
        return {
            "from": self.period.start,
            "to": self.period.end,
            "measure": self.measure,
            "c_share": self.shares.c,
            "cb_share": self.shares.c + self.shares.b,
            **moment(self.as_of),
        }


@dataclass(frozen=True, slots=True)
class AbcRow:
    """One customer's class."""

    place: int
    customer: str
    counterparty_id: str | None
    """The counterparty carrying the customer's ERP code (None: no counterparty carries it yet)."""
    manager: str | None
    """The counterparty's main manager (user id) as of the report's moment; None when not linked."""
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


async def facts_without_rate(
    store: AnalyticsStore, start: date, end: date, *, from_sums: bool = False
) -> list[WithoutRate]:
    """The facts dated ``start`` … ``end`` without a rate, by currency (``facts_without_rate.sql``;
    ``from_sums``: the same from the sums kept for the ABC report, ``lines_without_rate.sql``)."""
    found = await store.query(_LINES_WITHOUT_RATE if from_sums else _WITHOUT_RATE, {"from": start, "to": end})
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
        counterparty_id=str(found["counterparty_id"]) or None,
        manager=str(found["manager"]) or None,
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
    """Reads the ABC classification: the whole for analytics readers; for a sales manager the rows of
    their access groups' counterparties (``application.scope``), each with the class the rule gives it
    among every customer, and the cumulative values, totals and summary of those rows only."""

    def __init__(self, store: AnalyticsStore, links: CounterpartyLinks | None = None) -> None:
        self._store = store
        self._links = links

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
        """The rows after place ``after`` (at most ``limit``), and the summary: one classification."""
        scope = scope_of(caller)
        rows, last_place, found = await self._page(asked, scope, after, limit)
        without_rate = await facts_without_rate(self._store, asked.period.start, asked.period.end, from_sums=True)
        classes = {c: ClassSummary(0, Decimal("0.00")) for c in CLASSES}
        if found:
            for c in CLASSES:
                classes[c] = ClassSummary(int(str(found[0][f"customers_{c}"])), Decimal(str(found[0][f"value_{c}"])))
        return AbcResult(
            rows=rows,
            last_place=last_place,
            customers=sum(s.customers for s in classes.values()),
            total=sum((s.value for s in classes.values()), Decimal("0.00")),
            classes=classes,
            without_rate=without_rate,
        )

    async def every_row(self, caller: Caller, asked: AbcQuery, *, page: int = 10_000) -> AsyncIterator[AbcRow]:
        """Every row of the caller's scope in place order, a page at a time (for files)."""
        scope = scope_of(caller)
        after: int | None = 0
        while after is not None:
            rows, after, _ = await self._page(asked, scope, after, page)
            for row in rows:
                yield row

    async def _page(
        self, asked: AbcQuery, scope: Scope, after: int, limit: int
    ) -> tuple[list[AbcRow], int | None, list[dict[str, Any]]]:
        parameters = {**asked.parameters(), **scope.parameters(), "after": after, "limit": limit + 1}
        source = "known"
        if asked.as_of is None:
            [counted] = await self._store.query(_SUMS_ROWS)
            source = "few" if int(str(counted["rows"])) < ONE_THREAD_BELOW else "sums"
        found = await self._store.query(_PAGE[source, scope.whole], parameters)
        rows = [_row(r) for r in found if int(str(r["place"])) > after][:limit]
        return rows, rows[-1].place if len(found) > limit and rows else None, found
