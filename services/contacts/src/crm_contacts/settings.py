"""Settings of the contacts service (``CRM_CONTACTS_*``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ContactsSettings(BaseSettings):
    """Business rules an organisation may switch."""

    model_config = SettingsConfigDict(env_prefix="CRM_CONTACTS_", extra="ignore")

    unique_tax_id: bool = True
    """At most one counterparty per tax id (``CRM_CONTACTS_UNIQUE_TAX_ID``)."""

    default_country: str = "BG"
    """ISO 3166 country of phone numbers written without a country code (``CRM_CONTACTS_DEFAULT_COUNTRY``)."""
