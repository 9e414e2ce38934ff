"""The ABC classification of customers, 1C's rule, and its parameters.

For a period and a measure (revenue, revenue without VAT, or gross profit = revenue without VAT −
cost), each customer's value is the sum over its facts dated in the period, a return subtracting
what a sale adds. Customers are sorted by value **ascending**, ties broken by customer code
ascending (code-point order), and their values accumulated in that order. With the total of all
values, a customer whose cumulative value is at most C % of the total is class C, at most (C + B) %
class B, otherwise A. So the largest customers, at the end of the order, are A; on a tie the customer
with the greater code comes later and may get the better class.

- Customers known by then (any fact dated on or before the period's end) with no facts in the period
  have value 0 and are C (with a positive total they are at the start of the order).
- When the total is 0 or negative there is nothing to share: every customer is C and the cumulative
  share is not defined (``None``).
- Values are in the reporting currency: a fact in another currency is converted at the rate of its
  date (view ``facts_converted``); a fact without a rate is never summed unconverted (it is reported).

The rule runs in ClickHouse (``projections/sql/abc.sql``); this module holds its parameters and
their checks, which are pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal, get_args

from crm_shared.errors import DomainError

Measure = Literal["revenue", "revenue_without_vat", "profit"]
MEASURES: tuple[Measure, ...] = get_args(Measure)
AbcClass = Literal["A", "B", "C"]
CLASSES: tuple[AbcClass, ...] = get_args(AbcClass)

SHARES_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,2})?/[0-9]{1,3}(\.[0-9]{1,2})?/[0-9]{1,3}(\.[0-9]{1,2})?$"
"""``A/B/C`` percentages, e.g. ``70/20/10`` or ``80/15/5`` (up to 2 decimals each)."""
_SHARES = re.compile(SHARES_PATTERN)
HUNDRED = Decimal(100)
SHARE_PLACES = Decimal("0.0001")
"""Cumulative shares are shown as percentages rounded to 4 decimals (the class uses exact values)."""


@dataclass(frozen=True, slots=True)
class Shares:
    """The shares of classes A, B and C in percent of the total; they sum to 100."""

    a: Decimal = Decimal(70)
    b: Decimal = Decimal(20)
    c: Decimal = Decimal(10)

    def __post_init__(self) -> None:
        for name, value in (("a", self.a), ("b", self.b), ("c", self.c)):
            if not Decimal(0) <= value <= HUNDRED:
                raise DomainError(f"the share of {name.upper()} must be between 0 and 100", field="shares")
        if self.a + self.b + self.c != HUNDRED:
            raise DomainError(f"the shares must sum to 100, not {self.a + self.b + self.c} ({self})", field="shares")

    @classmethod
    def parse(cls, text: str, field: str = "shares") -> Shares:
        """``A/B/C`` percentages (:data:`SHARES_PATTERN`) that sum to 100, or :class:`DomainError`."""
        if not _SHARES.fullmatch(text):
            raise DomainError("must be three percentages A/B/C, e.g. 70/20/10", field=field)
        try:
            a, b, c = (Decimal(part) for part in text.split("/"))
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            raise DomainError("must be three percentages A/B/C, e.g. 70/20/10", field=field) from None
        try:
            return cls(a, b, c)
        except DomainError as exc:
            raise DomainError(str(exc), field=field) from None

    def __str__(self) -> str:
        return "/".join(format(value.normalize(), "f") for value in (self.a, self.b, self.c))


@dataclass(frozen=True, slots=True)
class Period:
    """From and to, both days included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise DomainError("the period must not end before it starts", field="to")


def cumulative_share(cumulative: Decimal, total: Decimal) -> Decimal | None:
    """``cumulative`` in percent of ``total`` (rounded to 4 decimals); None when the total is not positive."""
    if total <= 0:
        return None
    return (cumulative * HUNDRED / total).quantize(SHARE_PLACES)
