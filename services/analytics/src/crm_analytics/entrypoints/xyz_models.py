"""Response bodies of the XYZ back-test (``GET /api/v1/analytics/xyz/backtest``). Values and shares are
decimal strings, never JSON numbers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from crm_analytics.application.xyz_backtest import Standing
from crm_analytics.domain.xyz import Periodicity, Stage, XyzClass, XyzMeasure
from crm_analytics.entrypoints.abc_models import CURRENCY, WITHOUT_RATE, WithoutRateOut

STANDING = "A customer's stage, with a regular customer's XYZ class in its place: potential, one-time, X, Y, Z, lost"


class StandingMoveOut(BaseModel):
    """How many customers went from a previous standing (or none: ``new``) to a standing."""

    previous: Standing | Literal["new"] = Field(description=STANDING + "; new: not in the run before")
    current: Standing = Field(description=STANDING)
    customers: int


class XyzBacktestRunOut(BaseModel):
    """One evaluation of the rule and how it compares with the runs around it."""

    to: date = Field(description="The evaluation date: the last day of its step, the last day counted")
    start: date = Field(serialization_alias="from", description="The first day of the window evaluated")
    as_of: datetime | None = Field(description="The moment whose knowledge evaluated it; null: now")
    customers: int = Field(description="Customers evaluated: every one (of the caller's scope) with a fact up to `to`")
    stages: dict[Stage, int] = Field(description="Customers per stage")
    classes: dict[XyzClass, int] = Field(description="Regular customers per XYZ class")
    values: dict[Standing, str] = Field(
        description="Decimal text: the window value (the customers' `total` of the measure) per standing"
    )
    movement: list[StandingMoveOut] | None = Field(
        description="From the run before (every pair, zeros too); null for the first run"
    )
    kept_share: str | None = Field(
        description="Decimal text: customers of both runs keeping their standing, in percent of them; null first"
    )
    next_share: dict[Standing | Literal["new"], str | None] | None = Field(
        description="Decimal text: the next run's window value by this run's standing of its customers (new: "
        "customers unknown in this run), in percent rounded half-up to 2 decimals; null for the last run, or a "
        "next total that is not positive"
    )


class XyzBacktestOut(BaseModel):
    """The stage and XYZ rule evaluated at consecutive past dates and compared."""

    to: date = Field(description="A day of the last step")
    step: Literal["month", "quarter", "half-year", "year"] = Field(description="Between two evaluation dates")
    runs: int = Field(description="How many evaluation dates")
    periodicity: Periodicity = Field(description="The rule's window: its periodicity")
    periods: int = Field(description="The rule's window: its number of periods")
    by: XyzMeasure
    x: str = Field(description="Coefficient of variation up to this percent: X")
    y: str = Field(description="Coefficient of variation up to this percent: Y (above: Z)")
    regular_periods: int = Field(description="Active periods from which a customer is regular")
    currency: str = Field(description=CURRENCY)
    as_known: Literal["now", "then"]
    time_zone: str = Field(description="The organisation's time zone: where an evaluation date ends (as_known=then)")
    without_rate: list[WithoutRateOut] = Field(
        description=WITHOUT_RATE + " (of every run's window; money measures only, else empty)"
    )
    items: list[XyzBacktestRunOut] = Field(description="Oldest first")
