"""Public events of customers' ABC classes: topic ``crm.analytics.customer-class.v1``.

The Kafka key (``ce_subject``) is the ERP's customer code, so the events of one customer arrive in
order. A customer's class is the one of the confirmed run of a scheme with the latest period (of two
runs of one period, the one confirmed later): a consumer keeping the current class keeps the event
with the greatest ``(period_to, confirmed_at)`` of the scheme it follows and ignores older ones
arriving late (a period run again after a later one was confirmed).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from crm_shared.integration import IntegrationEvent

SOURCE = "crm/analytics"
TOPIC = "crm.analytics.customer-class.v1"

AbcClass = Literal["A", "B", "C"]


class CustomerClassChanged(IntegrationEvent):
    """A customer's ABC class in force changed: a confirmed run gave it a class other than the one of
    the previous run of the scheme (or it is ``new`` there), or its class in a run was overridden by
    hand. Customers whose class stayed the same in a run are not published.
    Type ``crm.analytics.CustomerClassChanged``."""

    customer: str = Field(description="The ERP's customer code (as in trade facts).")
    counterparty_id: str | None = Field(
        default=None, description="The counterparty (crm.contacts) carrying this ERP code when the run was confirmed."
    )
    abc_class: AbcClass = Field(description="The class in force.")
    previous_class: AbcClass | None = Field(description="The class in the previous run of the scheme; null: new.")
    marker: Literal["up", "down", "new", "same"] = Field(
        description="From previous_class to abc_class (`same` only after an override put back the previous class)."
    )
    computed_class: AbcClass = Field(description="The class the rule gave (differs from abc_class when overridden).")
    overridden: bool = Field(description="Set by hand (the reason is read through the API).")
    run_id: str
    scheme: str = Field(description="e.g. `revenue:70/20/10:EUR`")
    period_from: date
    period_to: date
    confirmed_at: datetime = Field(description="When the run was confirmed (orders two runs of one period).")


EVENT_TYPES: dict[str, type[IntegrationEvent]] = {
    "crm.analytics.CustomerClassChanged": CustomerClassChanged,
}
"""Every public event type of this topic, by its CloudEvents type."""
