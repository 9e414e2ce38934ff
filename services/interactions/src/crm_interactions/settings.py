"""Settings of the interactions service (``CRM_INTERACTIONS_*``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class InteractionsSettings(BaseSettings):
    """Business rules an organisation may switch."""

    model_config = SettingsConfigDict(env_prefix="CRM_INTERACTIONS_", extra="ignore")

    source_prompt: bool = True
    """Prompt for the information source on incoming interactions of buyers whose source is missing or
    expired (``CRM_INTERACTIONS_SOURCE_PROMPT``)."""
