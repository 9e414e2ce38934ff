"""The sales-manager comparison (1C:Trade ERP's evaluation of managers, issue 14), as of any moment.

One row per manager (the user id of contacts' main manager or of an interaction's responsible; ``""``
is **no manager**: facts of customers no counterparty carries, and counterparties without one), over
a period ``from`` … ``to`` (both days included), in the reporting currency. ``projections/sql/
managers.sql`` computes what is credited to each (manager, customer) in one query; this module sums
it per manager and derives the ratios. The seed document of 1C lists the indicators only by name;
their rules here are:

**Crediting** (``credit``): ``at_the_time`` (default) — each fact, order and payment goes to the main
manager of its customer's counterparty *on its date* (for orders, the issue date), in the
organisation's time zone, as the contacts events tell (``manager_days``); a date before the first
assignment the CRM knows goes to the first manager. ``current`` — everything goes to the
counterparty's main manager as of ``as_of`` (1C's way). A customer code no counterparty carries is
credited to no manager, never dropped. Interactions are always credited to their ``responsible``.

**Sales** (trade facts dated in the period; amounts converted at the rate of the fact's date by
``facts_converted``; facts without a rate are never summed and are counted in ``without_rate``):

- ``revenue`` = Σ sign × revenue_rc (a return subtracts); ``cost`` = Σ sign × cost_rc;
- ``discounts`` = Σ sign × discount_rc: the discount the ERP granted on each line (the fact's optional
  ``discount``, 0 when it sends none), converted like the revenue (a return's subtracts);
- ``deals`` = distinct (customer code, date) with a sale (returns are not deals; counted whatever
  the currency); ``first_deals`` = those on the customer's first sale day ever (as known as of);
- ``clients`` = customers with a deal; ``deals_per_client`` = deals / clients (2 decimals);
  ``revenue_per_deal`` = revenue / deals (2 decimals); both null without deals.

**Orders and payments** (state at the end of ``to``): an order's *paid* amount is Σ of the payments
naming it, in its currency, dated up to ``to``; *outstanding* = amount − paid, not below 0; amounts in
the reporting currency at the rate of the order's issue day (``orders_converted``).

- ``orders_issued``, ``orders_amount`` — orders issued in the period (count, Σ amount);
  ``orders_paid`` (outstanding 0), ``orders_unpaid`` (nothing paid), ``orders_partly_paid`` — of them;
- ``receivables`` = Σ outstanding of every order issued up to ``to``; ``debtors`` = customers with an
  outstanding order; ``average_debt_age`` = simple mean over the outstanding orders of the days from
  the issue date to ``to`` (1 decimal);
- ``overdue`` = Σ outstanding of orders due before ``to``; ``overdue_debtors`` = their customers;
  ``average_days_overdue`` (simple mean over those orders, 1 decimal) and ``max_days_overdue`` =
  days from the due date to ``to``;
- ``advances`` = Σ payments up to ``to`` not netted against an order (no order, an order not known, or
  another currency than the order's), at the rate of the payment's day; not subtracted from
  receivables (the ERP has not allocated them).

**Contacts** — ``counterparties``: the manager's counterparties, not archived (at the time: the main
manager at ``to``, registered by then; current: today's); ``contact_completeness`` = % of them with a
phone, an e-mail and an address (2 decimals; null without counterparties).

**Interactions** — ``interactions``: completed (state completed) with an end in the period;
``interaction_minutes`` (total) and ``average_interaction_minutes`` (2 decimals) from start to end.

**As of**: events with a time up to ``as_of``; each fact as the CRM knew it then
(``facts_converted_as_of``: its latest version received by then), and so each order and payment
(``orders_converted_as_of``, ``payments_converted_as_of``: from the history of versions received).

**Access** (``application.scope``): the whole for ``analytics:read``; a sales manager's report has
only the counterparties of their access groups (customers no counterparty carries are outside).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, get_args

from crm_analytics.application.reading import moment
from crm_analytics.application.scope import SCOPE_SQL, scope_of
from crm_analytics.domain.abc import Period
from crm_analytics.projections.tables import query
from crm_shared.analytics import AnalyticsStore
from crm_shared.identity import Caller

Credit = Literal["at_the_time", "current"]
CREDITS: tuple[Credit, ...] = get_args(Credit)
NO_MANAGER = ""
"""The row of what no manager is credited with."""

_BASE = query("managers").replace("__SCOPE__", SCOPE_SQL)
_SUMS = (
    "revenue",
    "cost",
    "discounts",
    "deals",
    "first_deals",
    "orders_issued",
    "orders_amount",
    "orders_paid",
    "orders_unpaid",
    "orders_partly_paid",
    "receivables",
    "debt_orders",
    "debt_days",
    "overdue",
    "overdue_orders",
    "overdue_days",
    "advances",
    "without_rate",
    "counterparties",
    "complete",
    "interactions",
    "interaction_seconds",
)
_SUMMARY = (
    "SELECT manager, "
    + ", ".join(f"sum({name}) AS {name}" for name in _SUMS)
    + ", max(max_overdue_days) AS max_overdue_days, sum(client) AS clients, sum(debtor) AS debtors,"
    " sum(overdue_debtor) AS overdue_debtors"
    f" FROM ({_BASE}) GROUP BY manager"
)
_CUSTOMERS = (
    f"SELECT * FROM ({_BASE}) WHERE manager = {{manager:String}} AND customer != ''"
    " ORDER BY revenue DESC, customer ASC LIMIT {limit:UInt32} OFFSET {offset:UInt64}"
)
_CENTS = Decimal("0.01")
_TENTH = Decimal("0.1")


def _ratio(part: Decimal | int, whole: int, places: Decimal) -> Decimal | None:
    return None if not whole else (Decimal(part) / whole).quantize(places)


@dataclass(frozen=True, slots=True)
class ManagersQuery:
    """The period, how facts are credited, and the moment whose knowledge is wanted."""

    period: Period
    credit: Credit = "at_the_time"
    as_of: datetime | None = None
    """None: now."""

    def moment(self) -> datetime:
        """``as_of`` (UTC), or now."""
        return (self.as_of or datetime.now(UTC)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ManagerRow:
    """What one manager is credited with (see the module's rules)."""

    manager: str
    revenue: Decimal
    cost: Decimal
    discounts: Decimal
    deals: int
    first_deals: int
    clients: int
    deals_per_client: Decimal | None
    revenue_per_deal: Decimal | None
    counterparties: int
    contact_completeness: Decimal | None
    orders_issued: int
    orders_amount: Decimal
    orders_paid: int
    orders_unpaid: int
    orders_partly_paid: int
    receivables: Decimal
    debtors: int
    average_debt_age: Decimal | None
    overdue: Decimal
    overdue_debtors: int
    average_days_overdue: Decimal | None
    max_days_overdue: int | None
    advances: Decimal
    interactions: int
    interaction_minutes: Decimal
    average_interaction_minutes: Decimal | None
    without_rate: int
    """Facts, orders and payments left out of the amounts for lack of a rate."""


INDICATORS: tuple[str, ...] = tuple(f.name for f in fields(ManagerRow) if f.name != "manager")
"""The indicators a report can be sorted by, in the order of the row."""


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """What is credited to a manager for one customer code in the period."""

    customer: str
    counterparty_id: str | None
    """None: no counterparty carries the code."""
    revenue: Decimal
    cost: Decimal
    discounts: Decimal
    deals: int
    first_deals: int
    orders_issued: int
    receivables: Decimal
    overdue: Decimal
    advances: Decimal


def _money(found: dict[str, Any], name: str) -> Decimal:
    return Decimal(str(found[name] or 0)).quantize(_CENTS)


def _count(found: dict[str, Any], name: str) -> int:
    return int(found[name] or 0)


def _manager_row(found: dict[str, Any]) -> ManagerRow:
    money = {
        name: _money(found, name)
        for name in ("revenue", "cost", "discounts", "orders_amount", "receivables", "overdue")
    }
    count = {name: _count(found, name) for name in (*_SUMS, "clients", "debtors", "overdue_debtors")}
    seconds = Decimal(count["interaction_seconds"])
    minutes = (seconds / 60).quantize(_CENTS)
    overdue_orders = count["overdue_orders"]
    return ManagerRow(
        manager=str(found["manager"]),
        **money,
        deals=count["deals"],
        first_deals=count["first_deals"],
        clients=count["clients"],
        deals_per_client=_ratio(count["deals"], count["clients"], _CENTS),
        revenue_per_deal=_ratio(money["revenue"], count["deals"], _CENTS),
        counterparties=count["counterparties"],
        contact_completeness=_ratio(count["complete"] * 100, count["counterparties"], _CENTS),
        orders_issued=count["orders_issued"],
        orders_paid=count["orders_paid"],
        orders_unpaid=count["orders_unpaid"],
        orders_partly_paid=count["orders_partly_paid"],
        debtors=count["debtors"],
        average_debt_age=_ratio(count["debt_days"], count["debt_orders"], _TENTH),
        overdue_debtors=count["overdue_debtors"],
        average_days_overdue=_ratio(count["overdue_days"], overdue_orders, _TENTH),
        max_days_overdue=_count(found, "max_overdue_days") if overdue_orders else None,
        advances=_money(found, "advances"),
        interactions=count["interactions"],
        interaction_minutes=minutes,
        average_interaction_minutes=_ratio(seconds / 60, count["interactions"], _CENTS),
        without_rate=count["without_rate"],
    )


def ordered(rows: list[ManagerRow], indicator: str = "revenue", *, descending: bool = True) -> list[ManagerRow]:
    """``rows`` by ``indicator`` (an :data:`INDICATORS` name or ``manager``), nulls lowest, ties by
    manager id in the same direction."""
    if indicator == "manager":
        return sorted(rows, key=lambda row: row.manager, reverse=descending)

    def key(row: ManagerRow) -> tuple[bool, Any, str]:
        value = getattr(row, indicator)
        return (value is not None, value if value is not None else 0, row.manager)

    return sorted(rows, key=key, reverse=descending)


@dataclass(frozen=True, slots=True)
class ManagersResult:
    """The rows of the comparison and their total (of the rows in the caller's scope)."""

    rows: list[ManagerRow]
    total: ManagerRow
    """Every row summed (manager ``"*"``): counts of distinct customers are summed too, so a customer
    credited to two managers counts twice there."""
    as_of: datetime
    """The moment read as of (UTC)."""


class ManagersReport:
    """Reads the sales-manager comparison in the caller's scope."""

    def __init__(self, store: AnalyticsStore, *, tz: str = "UTC") -> None:
        self._store = store
        self._tz = tz

    def _parameters(self, caller: Caller, asked: ManagersQuery, at: datetime) -> dict[str, object]:
        return {
            "from": asked.period.start,
            "to": asked.period.end,
            **moment(at),
            "tz": self._tz,
            "credit": asked.credit,
            **scope_of(caller).parameters(),
        }

    async def compare(
        self, caller: Caller, asked: ManagersQuery, *, sort: str = "revenue", descending: bool = True
    ) -> ManagersResult:
        """One row per manager, ordered by ``sort`` (an :data:`INDICATORS` name or ``manager``)."""
        at = asked.moment()
        found = await self._store.query(_SUMMARY, self._parameters(caller, asked, at))
        rows = ordered([_manager_row(r) for r in found], sort, descending=descending)
        totals: dict[str, Any] = {name: sum(_count(r, name) for r in found) for name in _SUMS}
        for name in ("revenue", "cost", "discounts", "orders_amount", "receivables", "overdue", "advances"):
            totals[name] = sum((_money(r, name) for r in found), Decimal("0.00"))
        for name in ("clients", "debtors", "overdue_debtors"):
            totals[name] = sum(_count(r, name) for r in found)
        totals["max_overdue_days"] = max((_count(r, "max_overdue_days") for r in found), default=0)
        return ManagersResult(rows=rows, total=_manager_row({"manager": "*", **totals}), as_of=at)

    async def customers(
        self, caller: Caller, asked: ManagersQuery, manager: str, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[CustomerRow], bool]:
        """The customers credited to ``manager`` by revenue (greatest first, ties by code), at most
        ``limit`` from ``offset``, and whether more follow."""
        parameters = {
            **self._parameters(caller, asked, asked.moment()),
            "manager": manager,
            "offset": offset,
            "limit": limit + 1,
        }
        found = await self._store.query(_CUSTOMERS, parameters)
        rows = [
            CustomerRow(
                customer=str(r["customer"]),
                counterparty_id=str(r["counterparty_id"]) or None,
                revenue=_money(r, "revenue"),
                cost=_money(r, "cost"),
                discounts=_money(r, "discounts"),
                deals=_count(r, "deals"),
                first_deals=_count(r, "first_deals"),
                orders_issued=_count(r, "orders_issued"),
                receivables=_money(r, "receivables"),
                overdue=_money(r, "overdue"),
                advances=_money(r, "advances"),
            )
            for r in found[:limit]
        ]
        return rows, len(found) > limit
