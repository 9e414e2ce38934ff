"""Settings of the gateway, from environment variables with the ``CRM_`` prefix."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_shared.identity import Role


class GatewaySettings(BaseSettings):
    """Sign-in, session and lock-out policy. Secrets are ``SecretStr`` so they never print."""

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    admin_password: SecretStr | None = None
    """Password of the initial ``admin`` user (``CRM_ADMIN_PASSWORD``); generated and shown once if unset."""
    secure_cookies: bool = False
    """Mark the session cookie ``Secure`` (``CRM_SECURE_COOKIES=true`` behind HTTPS); off for localhost."""
    session_idle_hours: float = Field(default=8.0, gt=0)
    signin_rate_per_minute: int = Field(default=10, ge=1)
    """Sign-in attempts allowed per minute, per client address and per username from that address."""
    signin_free_failures: int = Field(default=4, ge=1)
    """Consecutive wrong passwords for a username, from one client address, before delays begin."""
    signin_first_delay_seconds: float = Field(default=2.0, gt=0)
    """The first delay; each further wrong password from that address doubles it."""
    signin_max_delay_minutes: float = Field(default=15.0, gt=0)
    """The longest delay between two attempts for a username from one client address."""

    # -- OIDC sign-in (authorization code with PKCE); enabled when issuer and client id are set ----
    oidc_issuer: str | None = None
    """The identity provider's issuer URL, exactly as its ID tokens name it (``CRM_OIDC_ISSUER``)."""
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    """Absent for a public client (PKCE alone); else sent as the discovery document allows."""
    oidc_redirect_uri: str = "http://127.0.0.1:8000/auth/oidc/callback"
    """Must be registered at the provider exactly as written here."""
    oidc_scopes: str = "openid profile email"
    oidc_default_roles: list[Role] = ["read_only"]
    """Roles of a user created at the first OIDC sign-in (JSON list in the environment)."""
    oidc_roles_claim: str | None = None
    """ID-token claim with role names (e.g. ``crm_roles``); when set, the provider decides roles."""
    oidc_groups_claim: str | None = None
    """ID-token claim with access-group codes; when set, the provider decides access groups among the
    catalogue's: a code with no active entry is not granted (a retired one already held stays), and
    the sign-in's audit entry names what was refused."""

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_is_url(cls, value: str | None) -> str | None:
        # Not normalised: the ``iss`` claim must equal the issuer character for character.
        if not value:
            return None  # CRM_OIDC_ISSUER= (empty) leaves OIDC off
        if not is_allowed_url(value) or urlsplit(value).query or urlsplit(value).fragment:
            raise ValueError("the OIDC issuer must be an https URL without query (http only on a loopback host)")
        return value

    @field_validator("oidc_scopes")
    @classmethod
    def _scopes_have_openid(cls, value: str) -> str:
        if "openid" not in value.split():
            raise ValueError("the OIDC scopes must include 'openid'")
        return value

    @property
    def oidc_enabled(self) -> bool:
        """Whether OIDC sign-in is configured (issuer and client id)."""
        return bool(self.oidc_issuer and self.oidc_client_id)


def is_allowed_url(url: str) -> bool:
    """An https URL, or http on a loopback host (development and tests): tokens never cross plain HTTP."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. a malformed IPv6 address
        return False
    if not host:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and host in ("127.0.0.1", "localhost", "::1"))
