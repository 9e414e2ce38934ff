"""The ERP's orders on Kafka: topic ``erp.orders.v1``, written by the ERP, read by the CRM.

One message is one order (an invoice issued to a customer): the record key is the order's ``id``, the
value the order as a UTF-8 JSON object. The amount is a decimal **string**, never a JSON number. The
CRM keeps the latest order it received under each ``id``: sending an order again changes nothing, a
corrected order under the same ``id`` replaces the one before. Payments (``erp.payments.v1``) name
the order they settle by its ``id``.

The same model checks an order sent in a batch over HTTP (``POST /api/v1/analytics/orders``).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from crm_shared.contracts.erp.trade_fact import Code, Currency, FactDate, Id, Money, Name

TOPIC = "erp.orders.v1"
"""Owned by the ERP (the CRM never writes it); the analytics service consumes it."""
MESSAGE = "erp.Order"
"""The name of the message in the AsyncAPI document and of its JSON Schema (``schemas/erp.Order.json``)."""
DUE_BEFORE_ISSUE = "must not be before the order's date"


class Order(BaseModel):
    """An order (invoice) issued to a customer, as the ERP has it: one Kafka record per order, key = its `id`.

    Sending an order again under its `id` replaces the one before (a correction); nothing counts
    twice. The amount is a decimal string, never a JSON number; dates are `YYYY-MM-DD`. Optional
    fields may be left out: `due_date` the order's `date` (due at once), `currency` the CRM's
    reporting currency, `manager` empty. `due_date` must not be before `date`."""

    model_config = ConfigDict(extra="forbid")
    KAFKA_KEY: ClassVar[str] = "id"
    """The field whose value is the Kafka record's key."""
    id: Id = Field(description="The ERP's id of the order; payments name it in `order_id`")
    date: FactDate = Field(description="The day the order was issued")
    customer: Code = Field(description="The ERP's customer code")
    manager: Name | None = Field(default=None, description="The sales manager, as the ERP names them")
    amount: Money = Field(description='To be paid, with VAT: decimal text, ≥ 0, up to 2 decimals, e.g. "1200.50"')
    currency: Currency | None = Field(default=None, description="ISO 4217; default the reporting currency")
    due_date: FactDate | None = Field(
        default=None, description="The day payment is due: on or after `date`; default `date`"
    )

    @field_validator("due_date")
    @classmethod
    def _not_before_issue(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        issued = info.data.get("date")  # absent when the date itself was wrong
        if value is not None and isinstance(issued, dt.date) and value < issued:
            raise ValueError(DUE_BEFORE_ISSUE)
        return value
