"""Queries over the gateway's views: users, API keys, the audit trail (keyset pagination)."""

from __future__ import annotations

from typing import Any

from crm_gateway.projections.views import API_KEYS, AUDIT, USERS, username_key
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Page, Query, ReadStore
from crm_shared.readstore.cursor import decode_cursor


class GatewayQueries:
    """Reads of the gateway's views."""

    def __init__(self, views: ReadStore, runner: ProjectionRunner) -> None:
        self._views = views
        self._runner = runner

    async def users(self, *, search: str | None = None, limit: int = 50, cursor: str | None = None) -> Page:
        """Users sorted by username, optionally by username prefix (any case)."""
        prefix = ("username_key", username_key(search.strip())) if search and search.strip() else None
        query = Query(prefix=prefix, sort="username_key", after=decode_cursor(cursor), limit=limit)
        return await self._views.find(self._runner.collection(USERS), query)

    async def api_keys(self, *, user_id: str | None, limit: int = 100, cursor: str | None = None) -> Page:
        """API keys in issue order: one user's, or (``user_id`` None) everyone's."""
        equals = {} if user_id is None else {"user_id": user_id}
        query = Query(equals=equals, sort="issued_at", after=decode_cursor(cursor), limit=limit)
        return await self._views.find(self._runner.collection(API_KEYS), query)

    async def audit(
        self, *, user_id: str | None = None, actor: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """Audit entries, newest first, optionally about one user or by one actor."""
        equals: dict[str, Any] = {}
        if user_id:
            equals["user_id"] = user_id
        if actor:
            equals["actor"] = actor
        query = Query(equals=equals, sort="order", after=decode_cursor(cursor), limit=limit)
        return await self._views.find(self._runner.collection(AUDIT), query)
