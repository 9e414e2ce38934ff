"""The analytics service as one object (:class:`crm_shared.service.Service`), for the launcher."""

from __future__ import annotations

from fastapi import APIRouter

from crm_analytics import bootstrap
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.entrypoints.api import build_router
from crm_shared.identity import CallerTokens
from crm_shared.service import Service
from crm_shared.settings import KernelSettings


class Analytics:
    """The ERP's trade facts and what is built on them: the ABC classification of customers."""

    name = bootstrap.SERVICE
    prefixes = ("analytics",)
    background_apart = False
    """The embedded analytics store (chDB) is one process's alone."""

    async def build(self, settings: KernelSettings) -> AnalyticsService:
        """Wired with :class:`~crm_analytics.settings.AnalyticsSettings` from the environment."""
        return await bootstrap.build(settings)

    def router(self, wired: AnalyticsService, tokens: CallerTokens) -> APIRouter:
        """The analytics API."""
        return build_router(wired, tokens)


ANALYTICS: Service[AnalyticsService] = Analytics()
