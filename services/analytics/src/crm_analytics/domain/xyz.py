"""Relationship stages and the XYZ classification of customers (1C:Trade ERP's customer analysis), and
their parameters.

The analysed **window** is ``periods`` consecutive periods of a **periodicity** (day; week, Monday to
Sunday; decade, the days 1–10, 11–20 and 21 to the end of a month; month; quarter; half-year; year),
the last being the one containing ``to``. Only facts dated on or before ``to`` count, so the last
period may be cut short: pass a period's last day for whole periods. A period is **active** for a
customer when it has at least one sale (a fact of kind ``sale``, in any currency; returns are not
activity).

**Stages** (every customer with a fact dated up to ``to``):

- ``potential``: no sale up to ``to`` (e.g. only returns so far);
- ``regular``: active in at least ``regular_periods`` periods of the window;
- ``one-time``: active in at least one period of the window but fewer than ``regular_periods``;
- with no activity in the window, 1C's transition: a potential or one-time customer stays what it was
  and the others become ``lost``. What it was is its stage as of its last sale, evaluated the same
  way over the ``periods`` periods ending with the period of that sale: active in at least
  ``regular_periods`` of them → it was regular and is now ``lost``, else it stays ``one-time``.

**XYZ** (regular customers only; the others have no class): the coefficient of variation of the
customer's values = the **population** standard deviation (divided by the number of values, not by
one less) / the mean, in percent. The values are, per period of the window, the sum of the measure
(``revenue``, ``revenue_without_vat``, ``profit`` = revenue without VAT − cost, each only over facts in
the report's currency; ``quantity``; ``sales`` = the number of sale facts), returns subtracting what
sales add (they do not lower ``sales``), and **periods without facts count as zero**, so there are
always ``periods`` values. For ``intervals`` the values are the days between consecutive distinct sale
days in the window (one fewer than those days; a regular customer has at least two).

With ``n`` values summing to ``S`` with squares summing to ``Q``: mean = S / n, CV = √(n·Q − S²) / S.
The class is decided on exact decimals: CV ≤ ``x`` % → X, ≤ ``y`` % → Y, else Z, i.e.
10000 · (n·Q − S²) ≤ x² · S². A mean of zero or below (returns outweighing sales) has no coefficient
and is Z.

The rule runs in ClickHouse (``projections/sql/xyz.sql``); this module holds its parameters, their
checks and the period arithmetic, which are pure.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Literal, get_args

from crm_analytics.domain.trade_fact import EARLIEST, LATEST
from crm_shared.errors import DomainError

Periodicity = Literal["day", "week", "decade", "month", "quarter", "half-year", "year"]
PERIODICITIES: tuple[Periodicity, ...] = get_args(Periodicity)
XyzMeasure = Literal["revenue", "revenue_without_vat", "profit", "sales", "quantity", "intervals"]
XYZ_MEASURES: tuple[XyzMeasure, ...] = get_args(XyzMeasure)
Stage = Literal["potential", "one-time", "regular", "lost"]
STAGES: tuple[Stage, ...] = get_args(Stage)
XyzClass = Literal["X", "Y", "Z"]
XYZ_CLASSES: tuple[XyzClass, ...] = get_args(XyzClass)

MAX_PERIODS = 1000
BAND_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,2})?$"
"""A band's upper bound in percent, up to 2 decimals (``10``, ``12.5``)."""
DEFAULT_X = Decimal(10)
DEFAULT_Y = Decimal(25)
DEFAULT_REGULAR_PERIODS = 2
COEFFICIENT_PLACES = Decimal("0.0001")
"""The coefficient is shown in percent rounded to 4 decimals (the class uses exact values)."""
MEAN_PLACES = Decimal("0.0001")
"""The mean is shown rounded to 4 decimals (half to even)."""
SCALES: dict[XyzMeasure, Decimal] = {
    "revenue": Decimal("0.01"),
    "revenue_without_vat": Decimal("0.01"),
    "profit": Decimal("0.01"),
    "quantity": Decimal("0.001"),
    "sales": Decimal(1),
    "intervals": Decimal(1),
}
"""The decimal places of a measure's values (money 2, quantities 3, counts and days none)."""


def ordinal(day: date, periodicity: Periodicity) -> int:
    """The number of the period containing ``day``; consecutive periods have consecutive numbers."""
    if periodicity == "day":
        return (day - EARLIEST).days
    if periodicity == "week":  # 1970-01-01 was a Thursday: weeks start on Monday
        return ((day - EARLIEST).days + 3) // 7
    months = day.year * 12 + day.month - 1
    if periodicity == "decade":
        return months * 3 + min((day.day - 1) // 10, 2)
    if periodicity == "month":
        return months
    if periodicity == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    if periodicity == "half-year":
        return day.year * 2 + (day.month - 1) // 6
    return day.year


def bounds(number: int, periodicity: Periodicity) -> tuple[date, date]:
    """The first and last day of the period :func:`ordinal` numbers ``number``."""
    if periodicity == "day":
        start = EARLIEST + timedelta(days=number)
        return start, start
    if periodicity == "week":
        start = EARLIEST + timedelta(days=number * 7 - 3)
        return start, start + timedelta(days=6)
    if periodicity == "decade":
        year, month = divmod(number // 3, 12)
        part = number % 3
        last = calendar.monthrange(year, month + 1)[1]
        return date(year, month + 1, part * 10 + 1), date(year, month + 1, last if part == 2 else part * 10 + 10)
    months = {"month": 1, "quarter": 3, "half-year": 6, "year": 12}[periodicity]
    year, first = divmod(number * months, 12)
    end_year, end_month = divmod(number * months + months - 1, 12)
    return date(year, first + 1, 1), date(end_year, end_month + 1, calendar.monthrange(end_year, end_month + 1)[1])


@dataclass(frozen=True, slots=True)
class XyzParameters:
    """What to analyse: the window, the measure, the bands, the one-time threshold and the currency."""

    to: date
    periodicity: Periodicity = "month"
    periods: int = 6
    measure: XyzMeasure = "revenue"
    x: Decimal = DEFAULT_X
    y: Decimal = DEFAULT_Y
    regular_periods: int = DEFAULT_REGULAR_PERIODS
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if not EARLIEST <= self.to <= LATEST:
            raise DomainError(f"must be a day from {EARLIEST} to {LATEST}", field="to")
        if not 2 <= self.periods <= MAX_PERIODS:
            raise DomainError(f"must be from 2 to {MAX_PERIODS}", field="periods")
        if self.first_day < EARLIEST:
            raise DomainError(f"the window would start before {EARLIEST}", field="periods")
        if not Decimal(0) <= self.x <= Decimal(1000):
            raise DomainError("must be a percentage from 0 to 1000", field="x")
        if not self.x <= self.y <= Decimal(1000):
            raise DomainError("must be a percentage from x to 1000", field="y")
        if not 2 <= self.regular_periods <= self.periods:
            raise DomainError("must be from 2 to the number of periods", field="regular_periods")

    @property
    def last(self) -> int:
        """The number of the window's last period (the one containing ``to``)."""
        return ordinal(self.to, self.periodicity)

    @property
    def first_day(self) -> date:
        """The first day of the window's first period."""
        number = self.last - self.periods + 1
        if number < ordinal(EARLIEST, self.periodicity):
            return EARLIEST - timedelta(days=1)  # before the dates stored
        return bounds(number, self.periodicity)[0]


def coefficient(count: int, total: Decimal, squares: Decimal) -> Decimal | None:
    """The coefficient of variation in percent (4 decimals) of ``count`` values summing to ``total``
    with squares summing to ``squares``; None when the mean is not positive."""
    if count <= 0 or total <= 0:
        return None
    with localcontext() as context:
        context.prec = 80
        spread = count * squares - total * total
        return (spread.sqrt() * 100 / total).quantize(COEFFICIENT_PLACES) if spread > 0 else Decimal("0.0000")


def mean(count: int, total: Decimal) -> Decimal | None:
    """``total / count`` rounded to 4 decimals; None without values."""
    if count <= 0:
        return None
    with localcontext() as context:
        context.prec = 80
        return (total / count).quantize(MEAN_PLACES)
