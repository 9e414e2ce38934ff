"""Settings of the analytics service (``CRM_ANALYTICS_*``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_analytics.domain import days
from crm_analytics.domain.abc import SHARES_PATTERN
from crm_analytics.domain.trade_fact import LATEST
from crm_analytics.domain.xyz import (
    DEFAULT_REGULAR_PERIODS,
    DEFAULT_X,
    DEFAULT_Y,
    MAX_PERIODS,
    Periodicity,
    XyzMeasure,
    XyzParameters,
)
from crm_shared.errors import DomainError


class AnalyticsSettings(BaseSettings):
    """Business rules an organisation may switch, and limits."""

    model_config = SettingsConfigDict(env_prefix="CRM_ANALYTICS_", extra="ignore")

    reporting_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    """The currency reports sum (``CRM_ANALYTICS_REPORTING_CURRENCY``), and of facts that name none."""
    time_zone: str = "UTC"
    """The organisation's IANA time zone (``CRM_ANALYTICS_TIME_ZONE``, e.g. ``Europe/Sofia``): the day of
    a moment — today for the ABC and stage schedules, an event's day in reports (``toDate(time, {tz:String})``).
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
    """How long after the start the service first checks for a due scheduled run, ABC or stage
    (``CRM_ANALYTICS_ABC_SCHEDULE_FIRST_CHECK_SECONDS``: one scheduler checks both schedules)."""
    abc_schedule_check_seconds: float = Field(default=3600.0, gt=0)
    """How often the service checks whether a scheduled run, ABC or stage, is due
    (``CRM_ANALYTICS_ABC_SCHEDULE_CHECK_SECONDS``)."""
    stage_schedule: Literal["off", "monthly", "quarterly"] = "monthly"
    """The stage run (relationship stages and XYZ classes) the service records by itself for the last
    completed month or quarter, counting up to its last day (``CRM_ANALYTICS_STAGE_SCHEDULE``)."""
    stage_schedule_day: int = Field(default=1, ge=1, le=28)
    """From which day of a month (or quarter) the previous one's stage run is recorded
    (``CRM_ANALYTICS_STAGE_SCHEDULE_DAY``)."""
    stage_schedule_periodicity: Periodicity = "month"
    """The scheduled stage run's window: its periodicity (``CRM_ANALYTICS_STAGE_SCHEDULE_PERIODICITY``)."""
    stage_schedule_periods: int = Field(default=6, ge=2, le=MAX_PERIODS)
    """The scheduled stage run's window: how many periods (``CRM_ANALYTICS_STAGE_SCHEDULE_PERIODS``)."""
    stage_schedule_by: XyzMeasure = "revenue"
    """The measure of the scheduled stage run's XYZ classes (``CRM_ANALYTICS_STAGE_SCHEDULE_BY``)."""
    stage_schedule_x: Decimal = Field(default=DEFAULT_X, ge=0, le=1000, decimal_places=2)
    """The upper bound of X in percent (``CRM_ANALYTICS_STAGE_SCHEDULE_X``)."""
    stage_schedule_y: Decimal = Field(default=DEFAULT_Y, ge=0, le=1000, decimal_places=2)
    """The upper bound of Y in percent, at least X (``CRM_ANALYTICS_STAGE_SCHEDULE_Y``)."""
    stage_schedule_regular_periods: int = Field(default=DEFAULT_REGULAR_PERIODS, ge=2, le=MAX_PERIODS)
    """Active periods from which a customer is regular, at most the periods
    (``CRM_ANALYTICS_STAGE_SCHEDULE_REGULAR_PERIODS``)."""

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return days.check_time_zone(value)

    @model_validator(mode="after")
    def _stage_rule_holds(self) -> AnalyticsSettings:
        try:
            self.stage_rule(LATEST)
        except DomainError as exc:
            raise ValueError(f"CRM_ANALYTICS_STAGE_SCHEDULE_{(exc.field or '').upper()}: {exc}") from None
        return self

    def stage_rule(self, to: date) -> XyzParameters:
        """The scheduled stage run's rule, counting up to ``to``."""
        return XyzParameters(
            to=to,
            periodicity=self.stage_schedule_periodicity,
            periods=self.stage_schedule_periods,
            measure=self.stage_schedule_by,
            x=self.stage_schedule_x,
            y=self.stage_schedule_y,
            regular_periods=self.stage_schedule_regular_periods,
            currency=self.reporting_currency,
        )

    def today(self, now: datetime | None = None) -> date:
        """Today in the organisation's time zone (see :mod:`crm_analytics.domain.days`)."""
        return days.today(self.time_zone, now)
