"""Request and response bodies of the routes that take the ERP's records (trade facts, orders,
payments). Amounts are decimal strings, never JSON numbers (a float would lose cents); an item of a
batch is its kind's published contract (the model of its Kafka topic), so both ways in check alike."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from crm_analytics.domain.records import KINDS, RecordKind
from crm_shared.contracts.erp import trade_fact as contract

FactDate = contract.FactDate
"""An ISO 8601 date of the years 1970–2148 (what the analytics tables store)."""


def batch_model(kind: RecordKind[Any]) -> type[BaseModel]:
    """The body of ``POST /api/v1/analytics/<slug>``: ``{<items>: [1 to max_batch of the kind's contract]}``
    (``TradeFactBatch`` of ``TradeFactIn``…), all or none; a wrong item answers 422 naming
    ``<items>.<index>.<field>``."""
    name = kind.contract.__name__
    item: Any = create_model(f"{name}In", __base__=kind.contract, __doc__=kind.contract.__doc__)
    field = Field(
        min_length=1,
        max_length=kind.max_batch,
        description=f"1 to {kind.max_batch:,} {kind.what}; one with the {kind.key} of one recorded before replaces it",
    )
    fields: dict[str, Any] = {kind.items: (list[item], field)}
    batch: type[BaseModel] = create_model(
        f"{name}Batch",
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"{kind.what.capitalize()} to record, all or none: any wrong one answers 422 naming "
        f"`{kind.items}.<index>.<field>`.",
        **fields,
    )
    return batch


BATCHES: dict[str, type[BaseModel]] = {kind.slug: batch_model(kind) for kind in KINDS}
"""The batch body of each kind, by slug."""


class BatchOut(BaseModel):
    """How many records were recorded (each replacing an earlier one with its id, if any)."""

    recorded: int
