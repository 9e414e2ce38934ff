"""Trade facts in: a batch from the API, checked in full before anything is written."""

from __future__ import annotations

from collections.abc import Sequence

from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections.tables import write_facts
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import Forbidden
from crm_shared.identity import Caller, Permission


def require_writer(caller: Caller) -> None:
    """:class:`Forbidden` unless the caller may send trade facts."""
    if not caller.can(Permission.TRADE_FACTS_WRITE):
        raise Forbidden("your roles do not allow sending trade facts")


class TradeFacts:
    """Writes the ERP's facts: the same id again replaces the fact before (see ``domain.trade_fact``)."""

    def __init__(self, store: AnalyticsStore) -> None:
        self._store = store

    async def ingest(self, caller: Caller, facts: Sequence[TradeFact]) -> int:
        """Write a batch (all or nothing); returns how many facts it held."""
        require_writer(caller)
        return await write_facts(self._store, facts)
