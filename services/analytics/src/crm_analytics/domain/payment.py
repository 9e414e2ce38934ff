"""A payment from the ERP: money received from a customer, against an order or not.

The CRM keeps the latest payment received under each ``id`` (redelivery and re-import count once, a
correction wins; an advance is allocated to an order by sending it again with its ``order_id``). The
amount is a decimal with 2 places, ≥ 0. The same rules check a payment from the HTTP batch and the
Kafka topic (:class:`crm_shared.contracts.erp.payment.Payment`, then :func:`payment_of_message`) and
from a CSV file (:func:`payment_of_cells`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crm_analytics.domain.trade_fact import MAX_ID, code, currency, fact_date, money, require
from crm_shared.contracts.erp import payment as contract

REQUIRED_COLUMNS = ("id", "date", "customer", "amount")
"""Columns every CSV file of payments has."""
OPTIONAL_COLUMNS = ("order_id", "currency")
"""Columns a CSV file of payments may have; see :func:`payment_of_cells` for their defaults."""


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment received (the field names are the ``payments`` table's columns)."""

    id: str
    date: date
    customer: str
    amount: Decimal
    currency: str
    order_id: str = ""
    """The order it pays; empty for an advance or a payment not allocated to an order."""


def payment_of_cells(cells: Mapping[str, str], default_currency: str) -> Payment:
    """A payment from the cells of a CSV row (trimmed text by column), or :class:`FactRejected` naming
    the first wrong column. Defaults: ``order_id`` empty, ``currency`` the reporting currency."""
    require(cells, REQUIRED_COLUMNS)
    return Payment(
        id=code(cells["id"], "id", limit=MAX_ID),
        date=fact_date(cells["date"]),
        customer=code(cells["customer"], "customer"),
        order_id=code(cells.get("order_id", ""), "order_id", limit=MAX_ID, required=False),
        amount=money(cells["amount"], "amount"),
        currency=currency(cells.get("currency", "") or default_currency),
    )


def payment_of_message(message: contract.Payment, default_currency: str) -> Payment:
    """The payment of a validated message (HTTP batch or Kafka), with the defaults of the optional fields."""
    return Payment(
        id=message.id,
        date=message.date,
        customer=message.customer,
        order_id=message.order_id or "",
        amount=money(message.amount, "amount"),
        currency=message.currency or default_currency,
    )
