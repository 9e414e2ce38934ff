"""Request and response bodies of the trade-fact routes. Amounts are decimal strings, never JSON
numbers (a float would lose cents), with the patterns of ``domain.trade_fact``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from crm_analytics.domain import trade_fact as tf
from crm_shared import inputs

Id = Annotated[str, StringConstraints(pattern=tf.CODE_PATTERN, min_length=1, max_length=tf.MAX_ID)]
Code = Annotated[str, StringConstraints(pattern=tf.CODE_PATTERN, min_length=1, max_length=tf.MAX_CODE)]
Name = Annotated[str, StringConstraints(pattern=tf.CODE_PATTERN, min_length=1, max_length=tf.MAX_NAME)]
Money = Annotated[str, StringConstraints(pattern=tf.MONEY_PATTERN)]
Quantity = Annotated[str, StringConstraints(pattern=tf.QUANTITY_PATTERN)]
Currency = Annotated[str, StringConstraints(pattern=tf.CURRENCY_PATTERN)]


def _in_range(value: date) -> date:
    if not tf.EARLIEST <= value <= tf.LATEST:
        raise ValueError(f"must be between {tf.EARLIEST} and {tf.LATEST}")
    return value


FactDate = Annotated[inputs.IsoDate, AfterValidator(_in_range), inputs.Stated(pattern=tf.DATE_PATTERN)]
"""An ISO 8601 date of the years 1970–2148 (what the analytics tables store)."""


class FactIn(BaseModel):
    """One line of a sale or a return, as the ERP has it. Sending a fact again under its ``id``
    replaces the one before (a correction); nothing counts twice."""

    model_config = ConfigDict(extra="forbid")
    id: Id = Field(description="The ERP's id of the line (unique across sales and returns)")
    kind: Literal["sale", "return"] = Field(default="sale", description="A return subtracts what a sale adds")
    date: FactDate = Field(description="The day of the sale or return")
    customer: Code = Field(description="The ERP's customer code")
    item: Name | None = Field(default=None, description="The item (product or service) code")
    division: Name | None = Field(default=None, description="The division that sold")
    manager: Name | None = Field(default=None, description="The sales manager, as the ERP names them")
    quantity: Quantity = Field(description='Decimal text, ≥ 0, up to 3 decimals, e.g. "2.5"')
    revenue: Money = Field(description='With VAT: decimal text, ≥ 0, up to 2 decimals, e.g. "1200.50"')
    revenue_without_vat: Money | None = Field(default=None, description="Default: the revenue")
    cost: Money | None = Field(default=None, description="Cost of the goods sold; default 0")
    currency: Currency | None = Field(default=None, description="ISO 4217; default the reporting currency")

    def fact(self, default_currency: str) -> tf.TradeFact:
        """The domain fact, with the defaults filled in."""
        return tf.TradeFact(
            id=self.id,
            kind=self.kind,
            date=self.date,
            customer=self.customer,
            item=self.item or "",
            division=self.division or "",
            manager=self.manager or "",
            quantity=tf.quantity(self.quantity),
            revenue=tf.money(self.revenue, "revenue"),
            revenue_without_vat=tf.money(self.revenue_without_vat or self.revenue, "revenue_without_vat"),
            cost=tf.money(self.cost or "0", "cost"),
            currency=self.currency or default_currency,
        )


MAX_BATCH = 5000


class FactBatch(BaseModel):
    """Facts to record, all or none: any wrong one answers 422 naming ``facts.<index>.<field>``."""

    model_config = ConfigDict(extra="forbid")
    facts: list[FactIn] = Field(min_length=1, max_length=MAX_BATCH)


class BatchOut(BaseModel):
    """How many facts were recorded (each replacing an earlier one with its id, if any)."""

    recorded: int
