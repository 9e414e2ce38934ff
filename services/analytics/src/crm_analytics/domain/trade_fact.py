"""A trade fact from the ERP: one line of a sale or a return, as the ERP sent it.

The ERP is the system of record of its facts; the CRM never decides on them, it keeps the latest it
received under each ``id`` (a fact sent again replaces the one before, so redelivery and re-import
count once and a correction wins). Amounts are decimals with fixed scales, never floats: money has 2
decimal places, quantities 3, at most 16 digits before the point; all are ≥ 0 and a ``return``
subtracts what a ``sale`` adds.

The same rules check a fact from the HTTP API (whose request models use the patterns below, so the
OpenAPI document states them) and from a CSV file (:func:`fact_of_cells`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, get_args

Kind = Literal["sale", "return"]
KINDS: tuple[Kind, ...] = get_args(Kind)

CODE_PATTERN = r"^[^\x00-\x20\x7F-\x9F](?:[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F])?$"
"""An id or a code (customer, item, division, manager): no control character, no space at either end."""
MAX_ID = 100
MAX_CODE = 64
MAX_NAME = 200
"""Item, division and manager: codes or names of the ERP, up to this many characters."""
MONEY_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"
"""An amount of money as text: up to 16 digits, a point and up to 2 decimals (``1200.5``, ``0.99``)."""
QUANTITY_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,3})?$"
"""A quantity as text: up to 15 digits, a point and up to 3 decimals."""
CURRENCY_PATTERN = r"^[A-Z]{3}$"
"""An ISO 4217 currency code in capitals (``EUR``, ``BGN``)."""
DATE_PATTERN = r"^(19[7-9][0-9]|20[0-9]{2}|21[0-4][0-9])-[0-9]{2}-[0-9]{2}$"
"""An ISO 8601 date of the years 1970–2148."""
EARLIEST = date(1970, 1, 1)
LATEST = date(2148, 12, 31)
"""Within the range of ClickHouse's ``Date`` type (1970-01-01 … 2149-06-06), which stores the dates."""

_CODE = re.compile(CODE_PATTERN)
_MONEY = re.compile(MONEY_PATTERN)
_QUANTITY = re.compile(QUANTITY_PATTERN)
_CURRENCY = re.compile(CURRENCY_PATTERN)
_DATE = re.compile(DATE_PATTERN)

REQUIRED_COLUMNS = ("id", "date", "customer", "quantity", "revenue")
"""Columns every CSV file of trade facts has."""
OPTIONAL_COLUMNS = ("kind", "item", "division", "manager", "revenue_without_vat", "cost", "currency")
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
    revenue, ``cost`` 0, ``currency`` the reporting currency, ``item``, ``division`` and ``manager``
    empty."""
    for column in REQUIRED_COLUMNS:
        if not cells.get(column, ""):
            raise FactRejected(column, "is required")
    revenue = money(cells["revenue"], "revenue")
    without_vat = cells.get("revenue_without_vat", "")
    cost = cells.get("cost", "")
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
    )
