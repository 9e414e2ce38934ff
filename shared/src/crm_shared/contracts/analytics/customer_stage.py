"""Public events of relationship stages and XYZ classes: topic ``crm.analytics.customer-stage.v1``.

Two event types share the topic. ``StageRunRecorded`` (key: the run's id) says a stage run was
recorded; ``CustomerStageChanged`` (key: the ERP's customer code, so one customer's events arrive in
order) says a customer's stage or XYZ class in that run differs from the previous run of the scheme
(or the customer is new there). A customer's stage in force is the one of the run of its scheme with
the latest ``(as_of, recorded_at)``: a consumer keeping it ignores an older event arriving late (a
past day recorded after a later one). No personal data: codes, ids, stages and classes only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from crm_shared.integration import IntegrationEvent

SOURCE = "crm/analytics"
TOPIC = "crm.analytics.customer-stage.v1"

Stage = Literal["potential", "one-time", "regular", "lost"]
XyzClass = Literal["X", "Y", "Z"]


class StageRunRecorded(IntegrationEvent):
    """A stage run was recorded: every customer's relationship stage and (regular customers) XYZ
    class as of ``as_of``; each customer whose stage or class changed follows as a
    ``CustomerStageChanged``. Type ``crm.analytics.StageRunRecorded``."""

    run_id: str = Field(description="Stable id of the run (UUID, derived from its parameters).")
    scheme: str = Field(
        description="Runs that compare with each other: periodicity, periods, measure, bands, regular periods and "
        "currency, e.g. `month:6:revenue:10/25:2:EUR`."
    )
    as_of: date = Field(description="The last day counted (the report's `to`).")
    period_from: date = Field(description="The first day of the window's first period.")
    periodicity: Literal["day", "week", "decade", "month", "quarter", "half-year", "year"]
    periods: int
    measure: Literal["revenue", "revenue_without_vat", "profit", "sales", "quantity", "intervals"]
    x: str = Field(description="Decimal text: upper bound of X in percent.")
    y: str = Field(description="Decimal text: upper bound of Y in percent.")
    regular_periods: int = Field(description="Active periods from which a customer is regular.")
    currency: str = Field(description="The reporting currency (ISO 4217).")
    previous_run_id: str | None = Field(description="The run of the scheme the previous stages come from.")
    customers: int = Field(description="Customers in the run.")
    changed: int = Field(description="Customers whose stage or class changed, or new ones (each published).")
    stages: dict[Stage, int] = Field(description="Customers per stage.")
    classes: dict[XyzClass, int] = Field(description="Regular customers per XYZ class.")
    recorded_by: str = Field(description="User id of who recorded it.")
    recorded_at: datetime


class CustomerStageChanged(IntegrationEvent):
    """A customer's relationship stage or XYZ class differs from the previous stage run of the scheme,
    or it is new there. Customers whose stage and class stayed the same are not published.
    Type ``crm.analytics.CustomerStageChanged``."""

    customer: str = Field(description="The ERP's customer code (as in trade facts).")
    counterparty_id: str | None = Field(
        default=None, description="The counterparty (crm.contacts) carrying this ERP code when the run was recorded."
    )
    stage: Stage
    xyz_class: XyzClass | None = Field(description="Regular customers only.")
    previous_stage: Stage | None = Field(description="The stage in the previous run of the scheme; null: new.")
    previous_class: XyzClass | None = Field(description="The class in the previous run of the scheme.")
    run_id: str
    scheme: str = Field(description="e.g. `month:6:revenue:10/25:2:EUR`")
    as_of: date = Field(description="The last day counted.")
    recorded_at: datetime = Field(description="When the run was recorded (orders two runs of one day).")


EVENT_TYPES: dict[str, type[IntegrationEvent]] = {
    "crm.analytics.StageRunRecorded": StageRunRecorded,
    "crm.analytics.CustomerStageChanged": CustomerStageChanged,
}
"""Every public event type of this topic, by its CloudEvents type."""
