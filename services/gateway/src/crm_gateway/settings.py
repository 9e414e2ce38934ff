"""Settings of the gateway, from environment variables with the ``CRM_`` prefix."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Sign-in, session and lock-out policy. Secrets are ``SecretStr`` so they never print."""

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    admin_password: SecretStr | None = None
    """Password of the initial ``admin`` user (``CRM_ADMIN_PASSWORD``); generated and shown once if unset."""
    secure_cookies: bool = False
    """Mark the session cookie ``Secure`` (``CRM_SECURE_COOKIES=true`` behind HTTPS); off for localhost."""
    session_idle_hours: float = Field(default=8.0, gt=0)
    signin_rate_per_minute: int = Field(default=10, ge=1)
    """Sign-in attempts allowed per minute, per client address and per username."""
    lockout_threshold: int = Field(default=5, ge=1)
    """Consecutive failed sign-ins that lock an account."""
    lockout_minutes: float = Field(default=15.0, gt=0)
