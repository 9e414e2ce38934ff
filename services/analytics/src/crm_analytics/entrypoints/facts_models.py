"""Request and response bodies of the trade-fact routes. Amounts are decimal strings, never JSON
numbers (a float would lose cents); a fact is the ERP topic's contract, so both ways in check alike."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from crm_analytics.domain import trade_fact as tf
from crm_shared.contracts.erp import trade_fact as contract

FactDate = contract.FactDate
"""An ISO 8601 date of the years 1970–2148 (what the analytics tables store)."""


class FactIn(contract.TradeFact):
    """One line of a sale or a return, as the ERP has it (the published contract of topic
    ``erp.trade-facts.v1``: the same fields and rules). Sending a fact again under its ``id``
    replaces the one before (a correction); nothing counts twice."""

    def fact(self, default_currency: str) -> tf.TradeFact:
        """The domain fact, with the defaults filled in."""
        return tf.fact_of_message(self, default_currency)


MAX_BATCH = 5000


class FactBatch(BaseModel):
    """Facts to record, all or none: any wrong one answers 422 naming ``facts.<index>.<field>``."""

    model_config = ConfigDict(extra="forbid")
    facts: list[FactIn] = Field(min_length=1, max_length=MAX_BATCH)


class BatchOut(BaseModel):
    """How many facts were recorded (each replacing an earlier one with its id, if any)."""

    recorded: int
