"""The gateway as one object (:class:`crm_shared.service.Service`), for the launcher.

The gateway is also the front door (the web UI, the identity middleware and, in distributed mode, the
proxy to the other services: :mod:`crm_gateway.entrypoints.proxy`); what is here is what it has in
common with every service: its stores, its first-start data (the ``admin`` user), its API and views.
"""

from __future__ import annotations

from fastapi import APIRouter

from crm_gateway import bootstrap
from crm_gateway.bootstrap import GatewayService
from crm_gateway.entrypoints.http import build_router
from crm_gateway.entrypoints.oidc import build_oidc_router
from crm_gateway.settings import GatewaySettings
from crm_shared.identity import CallerTokens
from crm_shared.service import Service
from crm_shared.settings import KernelSettings


class Gateway:
    """Sign-in (password and OIDC), users, roles, access groups, API keys, the user directory and the
    audit trail."""

    name = bootstrap.SERVICE
    prefixes = ("session", "me", "users", "roles", "access-groups", "directory", "api-keys", "audit", "auth")
    background_apart = False
    """The API keys it checks are cached in its API's memory, kept fresh by following its log there."""

    def __init__(self, settings: GatewaySettings | None = None) -> None:
        self.settings = settings
        """``None``: :class:`GatewaySettings` from the environment, read at :meth:`build`."""

    async def build(self, settings: KernelSettings) -> GatewayService:
        """Wired with this object's :class:`GatewaySettings`."""
        return await bootstrap.build(settings, self.settings)

    def router(self, wired: GatewayService, tokens: CallerTokens) -> APIRouter:
        """The gateway's API, OIDC sign-in included (``/auth/oidc/...`` and ``/api/v1/auth/providers``)."""
        router = APIRouter()
        router.include_router(build_router(wired, tokens))
        router.include_router(build_oidc_router(wired))
        return router


def gateway(settings: GatewaySettings | None = None) -> Service[GatewayService]:
    """The gateway on ``settings`` (default: from the environment)."""
    return Gateway(settings)


GATEWAY = gateway()
