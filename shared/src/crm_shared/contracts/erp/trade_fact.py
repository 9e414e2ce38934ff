"""The ERP's trade facts on Kafka: topic ``erp.trade-facts.v1``, written by the ERP, read by the CRM.

One message is one fact: one line of a sale or a return. The record key is the fact's ``id`` (so
every version of a line lands on one partition, in the order the ERP sent them); the value is the
fact as a UTF-8 JSON object. Amounts are decimal **strings**, never JSON numbers (a float would lose
cents). The CRM keeps the latest fact it received under each ``id``: sending a fact again changes
nothing, a corrected fact under the same ``id`` replaces the one before.

The same model checks a fact sent in a batch over HTTP (``POST /api/v1/analytics/trade-facts``),
so both ways in accept exactly the same facts.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from crm_shared import inputs

TOPIC = "erp.trade-facts.v1"
"""Owned by the ERP (the CRM never writes it); the analytics service consumes it."""
MESSAGE = "erp.TradeFact"
"""The name of the message in the AsyncAPI document and of its JSON Schema (``schemas/erp.TradeFact.json``)."""

CODE_PATTERN = r"^[^\x00-\x20\x7F-\x9F](?:[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F])?$"
"""An id or a code (customer, item, division, manager): no control character, no space at either end."""
MAX_ID = 100
MAX_CODE = 64
MAX_NAME = 200
"""Item, division and manager: codes or names of the ERP, up to this many characters."""
MONEY_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"
"""An amount of money as text: up to 16 digits, a point and up to 2 decimals (``1200.5``, ``0.99``)."""
QUANTITY_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,3})?$"
"""A quantity as text: up to 15 digits, a point and up to 3 decimals."""
CURRENCY_PATTERN = r"^[A-Z]{3}$"
"""An ISO 4217 currency code in capitals (``EUR``, ``BGN``)."""
DATE_PATTERN = r"^(19[7-9][0-9]|20[0-9]{2}|21[0-4][0-9])-[0-9]{2}-[0-9]{2}$"
"""An ISO 8601 date of the years 1970–2148."""
EARLIEST = date(1970, 1, 1)
LATEST = date(2148, 12, 31)
"""Within the range of ClickHouse's ``Date`` type (1970-01-01 … 2149-06-06), which stores the dates."""

Id = Annotated[str, StringConstraints(pattern=CODE_PATTERN, min_length=1, max_length=MAX_ID)]
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN, min_length=1, max_length=MAX_CODE)]
Name = Annotated[str, StringConstraints(pattern=CODE_PATTERN, min_length=1, max_length=MAX_NAME)]
Money = Annotated[str, StringConstraints(pattern=MONEY_PATTERN)]
Quantity = Annotated[str, StringConstraints(pattern=QUANTITY_PATTERN)]
Currency = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]


def _in_range(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return value


FactDate = Annotated[inputs.IsoDate, AfterValidator(_in_range), inputs.Stated(pattern=DATE_PATTERN)]
"""An ISO 8601 date of the years 1970–2148 (what the analytics tables store)."""


class TradeFact(BaseModel):
    """One line of a sale or a return, as the ERP has it: one Kafka record per fact, key = the fact's `id`.

    Sending a fact again under its `id` replaces the one before (a correction); nothing counts twice.
    Amounts and quantities are decimal strings, never JSON numbers; dates are `YYYY-MM-DD`. Optional
    fields may be left out: `kind` sale, `revenue_without_vat` the revenue, `cost` 0, `discount` 0,
    `currency` the CRM's reporting currency, `item`, `division` and `manager` empty."""

    model_config = ConfigDict(extra="forbid")
    KAFKA_KEY: ClassVar[str] = "id"
    """The field whose value is the Kafka record's key."""
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
    discount: Money | None = Field(
        default=None,
        description="The discount granted on the line (in `currency`, ≥ 0; a return's subtracts like its"
        " revenue); default 0",
    )
    currency: Currency | None = Field(default=None, description="ISO 4217; default the reporting currency")
