"""Messages the CRM *receives* from the ERP (issue 14): the ERP owns these topics and writes them;
the CRM only reads. They are published in the AsyncAPI document as ``receive`` operations with a
JSON Schema each (``make events``), so ERP teams know the message. No CRM signature is asked of
them (the ERP is an outside producer): who may write them is fenced by Kafka ACLs and every message
is validated against its schema (ADR 17)."""

from __future__ import annotations

from pydantic import BaseModel

from crm_shared.contracts.erp import order, payment, trade_fact
from crm_shared.contracts.erp.order import TOPIC as ORDERS_TOPIC
from crm_shared.contracts.erp.payment import TOPIC as PAYMENTS_TOPIC
from crm_shared.contracts.erp.trade_fact import TOPIC as TRADE_FACTS_TOPIC

RECEIVED: dict[str, dict[str, type[BaseModel]]] = {
    trade_fact.TOPIC: {trade_fact.MESSAGE: trade_fact.TradeFact},
    order.TOPIC: {order.MESSAGE: order.Order},
    payment.TOPIC: {payment.MESSAGE: payment.Payment},
}
"""Every topic the CRM reads from the ERP, and the message (name → model) its records carry."""

__all__ = ["ORDERS_TOPIC", "PAYMENTS_TOPIC", "RECEIVED", "TRADE_FACTS_TOPIC"]
