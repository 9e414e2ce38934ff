"""All analytics routes under ``/api/v1/analytics``."""

from __future__ import annotations

from fastapi import APIRouter

from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.entrypoints import abc, facts
from crm_shared.identity import CallerTokens


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The analytics API, bound to one wired service; every route needs a verified caller."""
    router = APIRouter()
    router.include_router(facts.build_router(service, tokens))
    router.include_router(abc.build_router(service, tokens))
    return router
