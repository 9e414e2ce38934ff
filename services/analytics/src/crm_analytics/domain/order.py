"""An order from the ERP: an invoice issued to a customer, with the amount to pay and the day it is due.

Like a trade fact the ERP is its system of record and the CRM keeps the latest order received under
each ``id`` (redelivery and re-import count once, a correction wins). The amount is a decimal with 2
places, ≥ 0. ``due_date`` defaults to the day of issue and is never before it. The same rules check
an order from the HTTP batch and the Kafka topic (the published contract
:class:`crm_shared.contracts.erp.order.Order`, then :func:`order_of_message`) and from a CSV file
(:func:`order_of_cells`, with the trade facts' value checks).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from crm_analytics.domain.trade_fact import (
    MAX_ID,
    MAX_NAME,
    FactRejected,
    code,
    currency,
    fact_date,
    money,
    require,
)
from crm_shared.contracts.erp import order as contract

REQUIRED_COLUMNS = ("id", "date", "customer", "amount")
"""Columns every CSV file of orders has."""
OPTIONAL_COLUMNS = ("manager", "currency", "due_date")
"""Columns a CSV file of orders may have; see :func:`order_of_cells` for their defaults."""


@dataclass(frozen=True, slots=True)
class Order:
    """An order issued to a customer (the field names are the ``orders`` table's columns)."""

    id: str
    date: dt.date
    """The day it was issued."""
    customer: str
    amount: Decimal
    """To be paid, with VAT, in ``currency``."""
    currency: str
    due_date: dt.date
    """The day payment is due (on or after ``date``)."""
    manager: str = ""


def _due(issued: dt.date, due: dt.date | None) -> dt.date:
    if due is None:
        return issued
    if due < issued:
        raise FactRejected("due_date", contract.DUE_BEFORE_ISSUE)
    return due


def order_of_cells(cells: Mapping[str, str], default_currency: str) -> Order:
    """An order from the cells of a CSV row (trimmed text by column), or :class:`FactRejected` naming
    the first wrong column. Defaults: ``due_date`` the ``date``, ``currency`` the reporting currency,
    ``manager`` empty."""
    require(cells, REQUIRED_COLUMNS)
    issued = fact_date(cells["date"])
    due = cells.get("due_date", "")
    return Order(
        id=code(cells["id"], "id", limit=MAX_ID),
        date=issued,
        customer=code(cells["customer"], "customer"),
        manager=code(cells.get("manager", ""), "manager", limit=MAX_NAME, required=False),
        amount=money(cells["amount"], "amount"),
        currency=currency(cells.get("currency", "") or default_currency),
        due_date=_due(issued, fact_date(due, "due_date") if due else None),
    )


def order_of_message(message: contract.Order, default_currency: str) -> Order:
    """The order of a validated message (HTTP batch or Kafka), with the defaults of the optional fields."""
    return Order(
        id=message.id,
        date=message.date,
        customer=message.customer,
        manager=message.manager or "",
        amount=money(message.amount, "amount"),
        currency=message.currency or default_currency,
        due_date=_due(message.date, message.due_date),
    )
