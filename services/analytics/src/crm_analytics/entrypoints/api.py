"""All analytics routes under ``/api/v1/analytics``."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.entrypoints import (
    abc,
    attribution,
    exports,
    facts,
    managers,
    rates,
    segment_files,
    sources,
    stage_runs,
    xyz,
)
from crm_shared.http import caller_dependency
from crm_shared.identity import Caller, CallerTokens


class AnalyticsIndex(BaseModel):
    """What analytics offers here."""

    reporting_currency: str = Field(description="The currency reports sum, and of facts that name none")
    time_zone: str = Field(
        description="The organisation's IANA time zone (CRM_ANALYTICS_TIME_ZONE): the day of a moment in reports "
        "and the schedules' today"
    )
    reports: list[str] = Field(description="The reports and segmentations under /api/v1/analytics/")


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The analytics API, bound to one wired service; every route needs a verified caller."""
    router = APIRouter()
    authenticated = caller_dependency(tokens)

    @router.get("/api/v1/analytics", response_model=AnalyticsIndex, tags=["analytics: segmentation"])
    async def index(caller: Caller = authenticated) -> AnalyticsIndex:
        """The reporting currency, the organisation's time zone and the reports there are."""
        return AnalyticsIndex(
            reporting_currency=service.settings.reporting_currency,
            time_zone=service.settings.time_zone,
            reports=["abc", "xyz", "sources", "effectiveness", "attribution", "managers"],
        )

    router.include_router(facts.build_router(service, tokens))
    router.include_router(rates.build_router(service, tokens))
    router.include_router(abc.build_router(service, tokens))
    router.include_router(exports.build_router(service, tokens))
    router.include_router(xyz.build_router(service, tokens))
    router.include_router(segment_files.build_router(service, tokens))
    router.include_router(stage_runs.build_router(service, tokens))
    router.include_router(sources.build_router(service, tokens))
    router.include_router(attribution.build_router(service, tokens))
    router.include_router(managers.build_router(service, tokens))
    return router
