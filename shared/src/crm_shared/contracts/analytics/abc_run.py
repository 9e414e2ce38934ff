"""Public events of ABC classification runs: topic ``crm.analytics.abc-run.v1``.

The Kafka key (``ce_subject``) is the run's id. A run is published once it is confirmed (drafts are
not). Amounts and shares are decimal strings, never JSON numbers; dates are ISO 8601.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from crm_shared.integration import IntegrationEvent

SOURCE = "crm/analytics"
TOPIC = "crm.analytics.abc-run.v1"

AbcClass = Literal["A", "B", "C"]
DecimalText = str


class ClassTotals(IntegrationEvent):
    """A class of a run: how many customers and the sum of their values."""

    customers: int
    value: DecimalText = Field(description="Decimal text.")


class AbcRunConfirmed(IntegrationEvent):
    """An ABC classification run was confirmed: its result is recorded, and each customer whose class
    changed is published on ``crm.analytics.customer-class.v1``. Type ``crm.analytics.AbcRunConfirmed``."""

    run_id: str = Field(description="Stable id of the run (UUID).")
    scheme: str = Field(
        description="Runs that compare with each other: measure, shares and currency, e.g. `revenue:70/20/10:EUR`."
    )
    period_from: date = Field(description="First day of the period.")
    period_to: date = Field(description="Last day of the period (included).")
    measure: Literal["revenue", "revenue_without_vat", "profit"]
    shares: str = Field(description="A/B/C in percent, e.g. `70/20/10`.")
    currency: str = Field(description="Only facts in this currency were summed (ISO 4217).")
    schedule: Literal["monthly", "quarterly"] | None = Field(
        default=None, description="Set when the service ran it by itself on its schedule."
    )
    previous_run_id: str | None = Field(description="The confirmed run of the scheme the previous classes come from.")
    customers: int = Field(description="Customers classified.")
    total: DecimalText = Field(description="Decimal text: the sum of every customer's value.")
    classes: dict[AbcClass, ClassTotals]
    confirmed_by: str = Field(description="User id of who confirmed it (`system` for a scheduled run).")
    confirmed_at: datetime


EVENT_TYPES: dict[str, type[IntegrationEvent]] = {
    "crm.analytics.AbcRunConfirmed": AbcRunConfirmed,
}
"""Every public event type of this topic, by its CloudEvents type."""
