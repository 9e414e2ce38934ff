"""All interactions routes under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from crm_interactions.bootstrap import InteractionsService
from crm_interactions.entrypoints import interactions
from crm_shared.identity import CallerTokens


def build_router(service: InteractionsService, tokens: CallerTokens) -> APIRouter:
    """The interactions API, bound to one wired service; every route needs a verified caller."""
    router = APIRouter()
    router.include_router(interactions.build_router(service, tokens))
    return router
