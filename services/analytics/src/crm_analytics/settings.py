"""Settings of the analytics service (``CRM_ANALYTICS_*``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_analytics.domain import days
from crm_analytics.domain.abc import SHARES_PATTERN


class AnalyticsSettings(BaseSettings):
    """Business rules an organisation may switch, and limits."""

    model_config = SettingsConfigDict(env_prefix="CRM_ANALYTICS_", extra="ignore")

    reporting_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    """The currency reports sum (``CRM_ANALYTICS_REPORTING_CURRENCY``), and of facts that name none."""
    time_zone: str = "UTC"
    """The organisation's IANA time zone (``CRM_ANALYTICS_TIME_ZONE``, e.g. ``Europe/Sofia``): the day of
    a moment — today for the ABC schedule, an event's day in reports (``toDate(time, {tz:String})``).
    Checked at start."""
    import_max_bytes: int = 1024 * 1024 * 1024
    """The largest CSV file of trade facts an upload may bring (``CRM_ANALYTICS_IMPORT_MAX_BYTES``)."""
    abc_schedule: Literal["off", "monthly", "quarterly"] = "monthly"
    """The ABC run the service makes by itself for the last completed period (``CRM_ANALYTICS_ABC_SCHEDULE``)."""
    abc_schedule_by: Literal["revenue", "revenue_without_vat", "profit"] = "revenue"
    """The measure of the scheduled run (``CRM_ANALYTICS_ABC_SCHEDULE_BY``)."""
    abc_schedule_shares: str = Field(default="70/20/10", pattern=SHARES_PATTERN)
    """The A/B/C shares of the scheduled run (``CRM_ANALYTICS_ABC_SCHEDULE_SHARES``)."""
    abc_schedule_day: int = Field(default=1, ge=1, le=28)
    """From which day of a month (or quarter) the previous one is run (``CRM_ANALYTICS_ABC_SCHEDULE_DAY``):
    later days leave the ERP time to send the last facts of the period."""
    abc_schedule_first_check_seconds: float = Field(default=300.0, ge=0)
    """How long after the start the service first checks for a due scheduled run
    (``CRM_ANALYTICS_ABC_SCHEDULE_FIRST_CHECK_SECONDS``)."""
    abc_schedule_check_seconds: float = Field(default=3600.0, gt=0)
    """How often the service checks whether a scheduled run is due (``CRM_ANALYTICS_ABC_SCHEDULE_CHECK_SECONDS``)."""

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return days.check_time_zone(value)

    def today(self, now: datetime | None = None) -> date:
        """Today in the organisation's time zone (see :mod:`crm_analytics.domain.days`)."""
        return days.today(self.time_zone, now)
