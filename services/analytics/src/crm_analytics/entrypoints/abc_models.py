"""Response bodies of the ABC route. Amounts and shares are decimal strings, never JSON numbers."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field


class AbcRowOut(BaseModel):
    """One customer's class."""

    place: int = Field(description="1 for the greatest value")
    customer: str = Field(description="The ERP's customer code")
    counterparty_id: str | None = Field(description="The counterparty with this code; null until linked")
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


class AbcOut(BaseModel):
    """A page of the classification, with the summary of all of it."""

    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    by: Literal["revenue", "revenue_without_vat", "profit"]
    shares: str = Field(description="A/B/C in percent")
    currency: str = Field(description="Only facts in this currency are summed")
    customers: int = Field(description="Customers classified: every one with a fact dated up to `to`")
    total: str = Field(description="Decimal text: the sum of every customer's value")
    classes: dict[Literal["A", "B", "C"], ClassOut]
    other_currencies: dict[str, int] = Field(
        description="Facts of the period in other currencies, by currency: left out, never summed unconverted"
    )
    rows: list[AbcRowOut]
    next_cursor: str | None
