"""Settings of the analytics service (``CRM_ANALYTICS_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnalyticsSettings(BaseSettings):
    """Business rules an organisation may switch, and limits."""

    model_config = SettingsConfigDict(env_prefix="CRM_ANALYTICS_", extra="ignore")

    reporting_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    """The currency reports sum (``CRM_ANALYTICS_REPORTING_CURRENCY``), and of facts that name none."""
    import_max_bytes: int = 1024 * 1024 * 1024
    """The largest CSV file of trade facts an upload may bring (``CRM_ANALYTICS_IMPORT_MAX_BYTES``)."""
