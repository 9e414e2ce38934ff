"""Queries over the counterparty view, with read-your-writes."""

from __future__ import annotations

from typing import Any

from crm_contacts.application.publishing import translate
from crm_contacts.domain.counterparty import DEFAULT_ACCESS_GROUP
from crm_contacts.projections.counterparties import COLLECTION, name_key
from crm_shared.errors import Forbidden
from crm_shared.eventstore import EventStore
from crm_shared.identity import Caller, Permission
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Document, Page, Query, ReadStore
from crm_shared.readstore.cursor import decode_cursor


class CounterpartyQueries:
    """Reads of the counterparty view."""

    def __init__(self, views: ReadStore, runner: ProjectionRunner, store: EventStore) -> None:
        self._views = views
        self._runner = runner
        self._store = store

    async def _wait(self, min_position: int | None) -> None:
        if min_position:
            await self._runner.wait_for(self._store, min_position, translate=translate)

    async def get(self, counterparty_id: str, caller: Caller, *, min_position: int | None = None) -> Document | None:
        """One counterparty, or None (also when it is outside the caller's access groups)."""
        if not caller.can(Permission.COUNTERPARTY_READ):
            raise Forbidden("your roles do not allow reading counterparties")
        await self._wait(min_position)
        doc = await self._views.get(self._runner.collection(COLLECTION), counterparty_id)
        if doc is None or not caller.sees_group(str(doc.get("access_group", DEFAULT_ACCESS_GROUP))):
            return None
        return doc

    async def list(
        self,
        caller: Caller,
        *,
        search: str | None = None,
        kind: str | None = None,
        main_manager: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        min_position: int | None = None,
    ) -> Page:
        """A page of the counterparties the caller may see, sorted by name, optionally by name prefix,
        kind and manager."""
        if not caller.can(Permission.COUNTERPARTY_READ):
            raise Forbidden("your roles do not allow reading counterparties")
        await self._wait(min_position)
        groups = caller.visible_groups()
        equals: dict[str, Any] = {}
        if kind:
            equals["kind"] = kind
        if main_manager:
            equals["main_manager"] = main_manager
        prefix = ("name_key", name_key(search)) if search and search.strip() else None
        query = Query(
            equals=equals,
            prefix=prefix,
            sort="name_key",
            after=None if cursor is None else decode_cursor(cursor),
            limit=limit,
            within=None if groups is None else ("access_group", tuple(sorted(groups))),
        )
        return await self._views.find(self._runner.collection(COLLECTION), query)
