"""The ERP's payments on Kafka: topic ``erp.payments.v1``, written by the ERP, read by the CRM.

One message is one payment received from a customer: the record key is the payment's ``id``, the
value the payment as a UTF-8 JSON object. The amount is a decimal **string**, never a JSON number.
The CRM keeps the latest payment it received under each ``id``: sending a payment again changes
nothing, a corrected payment under the same ``id`` replaces the one before (so the ERP allocates an
advance to an order by sending the payment again with its ``order_id``).

The same model checks a payment sent in a batch over HTTP (``POST /api/v1/analytics/payments``).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.contracts.erp.trade_fact import Code, Currency, FactDate, Id, Money

TOPIC = "erp.payments.v1"
"""Owned by the ERP (the CRM never writes it); the analytics service consumes it."""
MESSAGE = "erp.Payment"
"""The name of the message in the AsyncAPI document and of its JSON Schema (``schemas/erp.Payment.json``)."""


class Payment(BaseModel):
    """A payment received from a customer, as the ERP has it: one Kafka record per payment, key = its `id`.

    Sending a payment again under its `id` replaces the one before (a correction, or an advance now
    allocated to an order); nothing counts twice. The amount is a decimal string, never a JSON
    number; the date is `YYYY-MM-DD`. Optional fields may be left out: `order_id` none (an advance, or
    a payment not allocated to an order), `currency` the CRM's reporting currency."""

    model_config = ConfigDict(extra="forbid")
    KAFKA_KEY: ClassVar[str] = "id"
    """The field whose value is the Kafka record's key."""
    id: Id = Field(description="The ERP's id of the payment")
    date: FactDate = Field(description="The day the payment was received")
    customer: Code = Field(description="The ERP's code of the customer who paid")
    order_id: Id | None = Field(
        default=None, description="The `id` of the order it pays; none for an advance or an unallocated payment"
    )
    amount: Money = Field(description='Received: decimal text, ≥ 0, up to 2 decimals, e.g. "1200.50"')
    currency: Currency | None = Field(default=None, description="ISO 4217; default the reporting currency")
