"""A currency rate: how many units of the reporting currency one unit of another currency is worth.

A rate is in force from its ``date`` until the next rate of its currency; a fact in that currency is
converted at the rate in force on the fact's date (``projections/sql/views.sql``). Rates are primary
data like the facts (ADR 16): a rate sent again for the same currency and date replaces the old one.
The same checks serve the HTTP batch and a CSV file; a wrong value is :class:`FactRejected` naming
its column, as for facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crm_analytics.domain.trade_fact import FactRejected, currency, fact_date

RATE_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,6})?$"
"""A rate as text: up to 12 digits, a point and up to 6 decimals (what ``Decimal(18, 6)`` holds); > 0."""
_RATE = re.compile(RATE_PATTERN)

COLUMNS = ("currency", "date", "rate")
"""The columns of a CSV file of rates, all required."""


@dataclass(frozen=True, slots=True)
class CurrencyRate:
    """One unit of ``currency`` is worth ``rate`` units of the reporting currency from ``date`` on."""

    currency: str
    date: date
    rate: Decimal


def rate(text: str, column: str = "rate") -> Decimal:
    """A rate from its text (:data:`RATE_PATTERN`, greater than 0), or :class:`FactRejected`."""
    if not _RATE.fullmatch(text) or Decimal(text) == 0:
        raise FactRejected(
            column, "must be a decimal > 0 with at most 12 digits, a point and 6 decimals, e.g. 1.955830"
        )
    return Decimal(text)


def rate_of_cells(cells: Mapping[str, str], reporting_currency: str) -> CurrencyRate:
    """A rate from the cells of a CSV row or the fields of a batch item (text by column), or
    :class:`FactRejected` naming the first wrong column. The reporting currency has no rate (it is 1)."""
    for column in COLUMNS:
        if not cells.get(column, ""):
            raise FactRejected(column, "is required")
    code = currency(cells["currency"])
    if code == reporting_currency:
        raise FactRejected("currency", f"must not be the reporting currency {reporting_currency} (its rate is 1)")
    return CurrencyRate(currency=code, date=fact_date(cells["date"]), rate=rate(cells["rate"]))
