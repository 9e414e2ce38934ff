"""The ERP's records in (trade facts, orders, payments): a batch from the API, checked in full before
anything is written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from crm_analytics.domain.records import TRADE_FACTS, RecordKind
from crm_analytics.projections.tables import write_records
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import Forbidden
from crm_shared.identity import Caller

R = TypeVar("R")


def require_writer(caller: Caller, kind: RecordKind[Any] = TRADE_FACTS) -> None:
    """:class:`Forbidden` unless the caller may send records of ``kind``."""
    if not caller.can(kind.permission):
        raise Forbidden(f"your roles do not allow sending {kind.what}")


class TradeFacts:
    """Writes the ERP's records of every kind: the same id again replaces the record before (see
    ``domain.records``)."""

    def __init__(self, store: AnalyticsStore) -> None:
        self._store = store

    async def ingest(self, caller: Caller, kind: RecordKind[R], records: Sequence[R]) -> int:
        """Write a batch of ``kind`` (all or nothing); returns how many records it held."""
        require_writer(caller, kind)
        return await write_records(self._store, kind, records)
