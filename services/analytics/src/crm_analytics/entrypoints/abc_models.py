"""Response bodies of the ABC route. Amounts and shares are decimal strings, never JSON numbers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from crm_analytics.application.abc import WithoutRate


class AbcRowOut(BaseModel):
    """One customer's class."""

    place: int = Field(description="1 for the greatest value")
    customer: str = Field(description="The ERP's customer code")
    counterparty_id: str | None = Field(description="The counterparty with this code; null until linked")
    manager: str | None = Field(
        default=None, description="User id of the counterparty's main manager as of the report; null until linked"
    )
    value: str = Field(description="Decimal text: the customer's value in the period (returns subtracted)")
    cumulative_value: str = Field(description="Decimal text: the values summed in ascending order up to here")
    cumulative_share: str | None = Field(
        description="Decimal text: cumulative_value in percent of the total; null when the total is not positive"
    )
    abc_class: Literal["A", "B", "C"] = Field(serialization_alias="class")


class ClassOut(BaseModel):
    """A class: how many customers and the sum of their values (decimal text)."""

    customers: int
    value: str


class WithoutRateOut(BaseModel):
    """Facts of one currency without a rate (none of their currency on or before their date)."""

    currency: str
    facts: int = Field(description="How many facts of the period in this currency have no rate")
    earliest: date = Field(description="The earliest date of those facts: a rate from then on converts them all")

    @classmethod
    def of(cls, found: list[WithoutRate]) -> list[WithoutRateOut]:
        """The answer's list, in currency order."""
        return [cls(currency=w.currency, facts=w.facts, earliest=w.earliest) for w in found]


WITHOUT_RATE = (
    "Facts of the period that have no rate (no rate of their currency on or before their date), by "
    "currency, with their earliest date: left out, never summed unconverted"
)
CURRENCY = (
    "The reporting currency (CRM_ANALYTICS_REPORTING_CURRENCY): facts in other currencies are converted "
    "at the rate of their date"
)


class AbcOut(BaseModel):
    """A page of the classification, with the summary of all of it."""

    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    by: Literal["revenue", "revenue_without_vat", "profit"]
    shares: str = Field(description="A/B/C in percent")
    currency: str = Field(description=CURRENCY)
    customers: int = Field(description="Customers classified: every one with a fact dated up to `to`")
    total: str = Field(description="Decimal text: the sum of every customer's value")
    classes: dict[Literal["A", "B", "C"], ClassOut]
    without_rate: list[WithoutRateOut] = Field(description=WITHOUT_RATE)
    rows: list[AbcRowOut]
    next_cursor: str | None


class MoveOut(BaseModel):
    """How many customers went from a previous class (or none: ``new``) to a class."""

    previous: Literal["A", "B", "C", "new"]
    abc_class: Literal["A", "B", "C"] = Field(serialization_alias="class")
    customers: int


class BacktestPeriodOut(BaseModel):
    """One period of a back-test: its classes and how they compare with the periods around it."""

    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    as_of: datetime | None = Field(description="The moment whose knowledge classified it; null: now")
    classes: dict[Literal["A", "B", "C"], ClassOut]
    movement: list[MoveOut] | None = Field(description="From the period before (every pair, zeros too); null first")
    kept_share: str | None = Field(
        description="Decimal text: customers of both periods keeping their class, in percent of them; null first"
    )
    next_share: dict[Literal["A", "B", "C", "new"], str | None] | None = Field(
        description="Decimal text: the next period's total value by this period's class of its customers (new: "
        "customers unknown in this period), in percent; null for the last period or a total that is not positive"
    )


class BacktestOut(BaseModel):
    """An ABC rule run over consecutive past periods and compared."""

    to: date
    periodicity: str
    periods: int
    by: str
    shares: str
    currency: str
    as_known: str
    time_zone: str
    without_rate: list[WithoutRateOut] = Field(description=WITHOUT_RATE + " (of every period)")
    items: list[BacktestPeriodOut] = Field(description="Oldest first")
