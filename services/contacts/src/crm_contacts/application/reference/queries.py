"""Reads of reference data, for everyone who may read counterparties."""

from __future__ import annotations

from crm_contacts.application.reference.data import ReferenceData, ReferencePage, ReferenceResult, query_of
from crm_contacts.application.reference.publishing import translate_reference
from crm_contacts.domain import reference as ref
from crm_contacts.projections.reference import COLLECTION, entry_of
from crm_shared.commands import CommandResult
from crm_shared.errors import Forbidden
from crm_shared.eventstore import EventStore
from crm_shared.identity import Caller, Permission
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import ReadStore
from crm_shared.readstore.cursor import decode_cursor, encode_cursor


class ReferenceQueries:
    """Reads of reference data, for everyone who may read counterparties."""

    def __init__(self, views: ReadStore, runner: ProjectionRunner, store: EventStore, data: ReferenceData) -> None:
        self._views = views
        self._runner = runner
        self._store = store
        self._data = data

    @staticmethod
    def _allow(caller: Caller) -> None:
        if not caller.can(Permission.COUNTERPARTY_READ):
            raise Forbidden("your roles do not allow reading reference data")

    def catalogs(self, caller: Caller) -> dict[str, tuple[ref.Attribute, ...]]:
        """Every catalog and the attributes of its entries."""
        self._allow(caller)
        return dict(ref.SCHEMAS)

    async def get(self, catalog: str, code: str, caller: Caller) -> ReferenceResult | None:
        """One entry as its stream has it now (retired ones too), or None."""
        self._allow(caller)
        ref.check_catalog(catalog)
        if not ref.is_code(code):
            return None
        state, events = await self._data.load(catalog, code)
        if state is None:
            return None
        return CommandResult(state, events[-1].stream_version, events[-1].position)

    async def list(
        self,
        catalog: str,
        caller: Caller,
        *,
        include_retired: bool = False,
        limit: int = 100,
        cursor: str | None = None,
        min_position: int | None = None,
    ) -> ReferencePage:
        """A page of a catalog's entries sorted by name; raises ``BadCursor`` for a cursor not made here."""
        self._allow(caller)
        ref.check_catalog(catalog)
        after = decode_cursor(cursor)
        if min_position:
            await self._runner.wait_for(self._store, min_position, translate=translate_reference)
        page = await self._views.find(
            self._runner.collection(COLLECTION), query_of(catalog, include_retired, after, limit)
        )
        return ReferencePage(
            items=[CommandResult(entry_of(doc), int(doc["_version"]), 0) for doc in page.items],
            next_cursor=encode_cursor(page.next_after),
        )
