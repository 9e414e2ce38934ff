"""Writing the ERP's records of any kind (:class:`~crm_analytics.domain.records.RecordKind`) to their table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from crm_analytics.domain.records import RecordKind
from crm_analytics.projections.tables import VERSIONS
from crm_shared.analytics import AnalyticsStore

R = TypeVar("R")


async def write_records(store: AnalyticsStore, kind: RecordKind[R], records: Sequence[R]) -> int:
    """Write ``records`` to ``kind``'s table in one insert, each with a new version, so the latest
    received under a key replaces the ones before (a later one of the batch too; ``ReplacingMergeTree``,
    read with ``FINAL``)."""
    if not records:
        return 0
    first = VERSIONS.take(len(records))
    rows = [(*kind.row(record), first + i) for i, record in enumerate(records)]
    return await store.insert(kind.table, (*kind.columns, "version"), rows)
