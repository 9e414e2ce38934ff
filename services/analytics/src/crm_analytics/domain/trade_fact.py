"""A trade fact from the ERP: one line of a sale or a return, as the ERP sent it.

The ERP is the system of record of its facts; the CRM never decides on them, it keeps the latest it
received under each ``id`` (a fact sent again replaces the one before, so redelivery and re-import
count once and a correction wins). Amounts are decimals with fixed scales, never floats: money has 2
decimal places, quantities 3, at most 16 digits before the point; all are ≥ 0 and a ``return``
subtracts what a ``sale`` adds.

The same rules check a fact from the HTTP API and from the ERP's Kafka topic (both validated by the
published contract :class:`crm_shared.contracts.erp.trade_fact.TradeFact`, turned into a fact by
:func:`fact_of_message`) and from a CSV file (:func:`fact_of_cells`, with the contract's patterns).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, get_args

from crm_shared.contracts.erp import trade_fact as contract

Kind = Literal["sale", "return"]
KINDS: tuple[Kind, ...] = get_args(Kind)

# The rules of a fact's values are the published contract's (what the ERP's topic and the HTTP batch
# state in their schemas); the CSV path checks the same patterns here.
CODE_PATTERN = contract.CODE_PATTERN
MAX_ID = contract.MAX_ID
MAX_CODE = contract.MAX_CODE
MAX_NAME = contract.MAX_NAME
MONEY_PATTERN = contract.MONEY_PATTERN
QUANTITY_PATTERN = contract.QUANTITY_PATTERN
CURRENCY_PATTERN = contract.CURRENCY_PATTERN
DATE_PATTERN = contract.DATE_PATTERN
EARLIEST = contract.EARLIEST
LATEST = contract.LATEST

_CODE = re.compile(CODE_PATTERN)
_MONEY = re.compile(MONEY_PATTERN)
_QUANTITY = re.compile(QUANTITY_PATTERN)
_CURRENCY = re.compile(CURRENCY_PATTERN)
_DATE = re.compile(DATE_PATTERN)

REQUIRED_COLUMNS = ("id", "date", "customer", "quantity", "revenue")
"""Columns every CSV file of trade facts has."""
OPTIONAL_COLUMNS = ("kind", "item", "division", "manager", "revenue_without_vat", "cost", "currency", "discount")
"""Columns a CSV file may have; see :func:`fact_of_cells` for their defaults."""
COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)


@dataclass(frozen=True, slots=True)
class TradeFact:
    """One line of a sale or a return."""

    id: str
    date: date
    customer: str
    """The ERP's customer code (what a counterparty's external code will link)."""
    quantity: Decimal
    revenue: Decimal
    """With VAT, in ``currency``."""
    revenue_without_vat: Decimal
    cost: Decimal
    currency: str
    kind: Kind = "sale"
    item: str = ""
    division: str = ""
    manager: str = ""
    discount: Decimal = Decimal("0")
    """The discount granted on the line, in ``currency`` (≥ 0; a return's subtracts, like its revenue)."""

    @property
    def sign(self) -> int:
        """+1 for a sale, -1 for a return."""
        return -1 if self.kind == "return" else 1


class FactRejected(Exception):
    """A value of a fact is wrong: ``column`` names it, the message says why."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def require(cells: Mapping[str, str], columns: tuple[str, ...]) -> None:
    """:class:`FactRejected` naming the first of ``columns`` that is missing or empty in ``cells``."""
    for column in columns:
        if not cells.get(column, ""):
            raise FactRejected(column, "is required")


def money(text: str, column: str) -> Decimal:
    """An amount of money from its text (:data:`MONEY_PATTERN`), or :class:`FactRejected`."""
    if not _MONEY.fullmatch(text):
        raise FactRejected(column, "must be an amount ≥ 0 with at most 2 decimals and a point, e.g. 1200.50")
    return Decimal(text)


def quantity(text: str, column: str = "quantity") -> Decimal:
    """A quantity from its text (:data:`QUANTITY_PATTERN`), or :class:`FactRejected`."""
    if not _QUANTITY.fullmatch(text):
        raise FactRejected(column, "must be a quantity ≥ 0 with at most 3 decimals and a point, e.g. 2.5")
    return Decimal(text)


def fact_date(text: str, column: str = "date") -> date:
    """A fact's date from ISO 8601 text (``2026-01-31``) within ClickHouse's ``Date`` range."""
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        value = date.fromisoformat(text)
    except ValueError:
        raise FactRejected(column, "must be a date as YYYY-MM-DD between 1970 and 2148, e.g. 2026-01-31") from None
    check_date(value, column)
    return value


def check_date(value: date, column: str = "date") -> None:
    """:class:`FactRejected` for a date outside :data:`EARLIEST` … :data:`LATEST`."""
    if not EARLIEST <= value <= LATEST:
        raise FactRejected(column, f"must be between {EARLIEST} and {LATEST}")


def code(text: str, column: str, *, limit: int = MAX_CODE, required: bool = True) -> str:
    """An id or code: :data:`CODE_PATTERN`, at most ``limit`` characters; "" when optional and empty."""
    if not text:
        if required:
            raise FactRejected(column, "is required")
        return ""
    if len(text) > limit:
        raise FactRejected(column, f"must have at most {limit} characters")
    if not _CODE.fullmatch(text):
        raise FactRejected(column, "must not contain control characters or start or end with a space")
    return text


def currency(text: str, column: str = "currency") -> str:
    """An ISO 4217 code in capitals."""
    if not _CURRENCY.fullmatch(text):
        raise FactRejected(column, "must be a currency code of 3 capital letters, e.g. EUR")
    return text


def kind(text: str, column: str = "kind") -> Kind:
    """``sale`` or ``return``."""
    for known in KINDS:
        if text == known:
            return known
    raise FactRejected(column, "must be sale or return")


def fact_of_cells(cells: Mapping[str, str], default_currency: str) -> TradeFact:
    """A fact from the cells of a CSV row (trimmed text by column), or :class:`FactRejected` naming the
    first wrong column. Defaults of the optional columns: ``kind`` sale, ``revenue_without_vat`` the
    revenue, ``cost`` and ``discount`` 0, ``currency`` the reporting currency, ``item``, ``division``
    and ``manager`` empty."""
    require(cells, REQUIRED_COLUMNS)
    revenue = money(cells["revenue"], "revenue")
    without_vat = cells.get("revenue_without_vat", "")
    cost = cells.get("cost", "")
    discount = cells.get("discount", "")
    return TradeFact(
        id=code(cells["id"], "id", limit=MAX_ID),
        kind=kind(cells.get("kind", "") or "sale"),
        date=fact_date(cells["date"]),
        customer=code(cells["customer"], "customer"),
        item=code(cells.get("item", ""), "item", limit=MAX_NAME, required=False),
        division=code(cells.get("division", ""), "division", limit=MAX_NAME, required=False),
        manager=code(cells.get("manager", ""), "manager", limit=MAX_NAME, required=False),
        quantity=quantity(cells["quantity"]),
        revenue=revenue,
        revenue_without_vat=money(without_vat, "revenue_without_vat") if without_vat else revenue,
        cost=money(cost, "cost") if cost else Decimal("0"),
        currency=currency(cells.get("currency", "") or default_currency),
        discount=money(discount, "discount") if discount else Decimal("0"),
    )


def fact_of_message(message: contract.TradeFact, default_currency: str) -> TradeFact:
    """The fact of a validated message (HTTP batch or Kafka), with the defaults of the optional fields."""
    return TradeFact(
        id=message.id,
        kind=message.kind,
        date=message.date,
        customer=message.customer,
        item=message.item or "",
        division=message.division or "",
        manager=message.manager or "",
        quantity=quantity(message.quantity),
        revenue=money(message.revenue, "revenue"),
        revenue_without_vat=money(message.revenue_without_vat or message.revenue, "revenue_without_vat"),
        cost=money(message.cost or "0", "cost"),
        currency=message.currency or default_currency,
        discount=money(message.discount or "0", "discount"),
    )
