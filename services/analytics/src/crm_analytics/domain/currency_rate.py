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
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from crm_analytics.domain.trade_fact import FactRejected, currency, fact_date
from crm_shared.contracts.erp.trade_fact import Currency, FactDate

RATE_PATTERN = r"^[0-9]{1,7}(\.[0-9]{1,6})?$"
"""A rate as text: up to 7 digits, a point and up to 6 decimals; > 0. (``Decimal(18, 6)`` would hold 12
digits; 7 keep a 16-digit amount times its rate, and the XYZ report's sums of squares of such amounts,
within the decimal types the reports compute in: a larger rate made the XYZ query overflow.)"""
_RATE = re.compile(RATE_PATTERN)

COLUMNS = ("currency", "date", "rate")
"""The columns of a CSV file of rates, all required."""


@dataclass(frozen=True, slots=True)
class Rate:
    """One unit of ``currency`` is worth ``rate`` units of the reporting currency from ``date`` on."""

    currency: str
    date: date
    rate: Decimal


def rate(text: str, column: str = "rate") -> Decimal:
    """A rate from its text (:data:`RATE_PATTERN`, greater than 0), or :class:`FactRejected`."""
    if not _RATE.fullmatch(text) or Decimal(text) == 0:
        raise FactRejected(column, "must be a decimal > 0 with at most 7 digits, a point and 6 decimals, e.g. 1.955830")
    return Decimal(text)


def rate_of_cells(cells: Mapping[str, str], reporting_currency: str = "") -> Rate:
    """A rate from the cells of a CSV row (text by column), or :class:`FactRejected` naming the first
    wrong column. (A rate of the reporting currency is kept but never used: its rate is always 1.)"""
    for column in COLUMNS:
        if not cells.get(column, ""):
            raise FactRejected(column, "is required")
    return Rate(currency=currency(cells["currency"]), date=fact_date(cells["date"]), rate=rate(cells["rate"]))


def _positive(text: str) -> str:
    if Decimal(text) == 0:
        raise ValueError("must be greater than 0")
    return text


class CurrencyRate(BaseModel):
    """A currency's rate from a day on: one unit of `currency` is worth `rate` units of the reporting
    currency (CRM_ANALYTICS_REPORTING_CURRENCY) from `date` until the currency's next rate. A rate sent
    again for the same currency and date replaces the one before. (A rate of the reporting currency
    itself is kept but never used: its rate is always 1.)"""

    model_config = ConfigDict(extra="forbid")
    currency: Currency = Field(description="ISO 4217 code in capitals, e.g. USD")
    date: FactDate = Field(description="The first day the rate is in force (YYYY-MM-DD, 1970-2148)")
    rate: Annotated[str, StringConstraints(pattern=RATE_PATTERN), AfterValidator(_positive)] = Field(
        description="Decimal text > 0: up to 7 digits, a point and up to 6 decimals (e.g. 1.955830); "
        "units of the reporting currency for 1 unit of `currency`"
    )


def rate_of_message(message: CurrencyRate, reporting_currency: str = "") -> Rate:
    """The rate of a validated batch item."""
    return Rate(currency=message.currency, date=message.date, rate=Decimal(message.rate))
