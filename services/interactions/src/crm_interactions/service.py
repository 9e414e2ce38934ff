"""The interactions service as one object (:class:`crm_shared.service.Service`), for the launcher."""

from __future__ import annotations

from fastapi import APIRouter

from crm_interactions import bootstrap
from crm_interactions.bootstrap import InteractionsService
from crm_interactions.entrypoints.api import build_router
from crm_shared.identity import CallerTokens
from crm_shared.service import Service
from crm_shared.settings import KernelSettings


class Interactions:
    """Calls, meetings and letters, planned and done: the timeline and the calendar."""

    name = bootstrap.SERVICE
    prefixes = ("interactions",)
    background_apart = True
    """Its views, local copies and relay share nothing with its API but the stores."""

    async def build(self, settings: KernelSettings) -> InteractionsService:
        """Wired with :class:`~crm_interactions.settings.InteractionsSettings` from the environment."""
        return await bootstrap.build(settings)

    def router(self, wired: InteractionsService, tokens: CallerTokens) -> APIRouter:
        """The interactions API."""
        return build_router(wired, tokens)


INTERACTIONS: Service[InteractionsService] = Interactions()
