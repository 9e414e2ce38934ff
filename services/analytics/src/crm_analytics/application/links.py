"""Which counterparty carries which ERP customer code, read from the local copy of contacts
(:mod:`crm_analytics.projections.counterparties`). Facts keep the customer code as the ERP sent it;
they are linked when read, so a customer links by itself as soon as a counterparty with its code
appears in contacts."""

from __future__ import annotations

from collections.abc import Iterable

from crm_analytics.projections.counterparties import ERP_CODES
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import ReadStore


class CounterpartyLinks:
    """Reads of the local copy of ERP codes."""

    def __init__(self, views: ReadStore, runner: ProjectionRunner) -> None:
        self._views = views
        self.runner = runner

    async def counterparties(self, codes: Iterable[str]) -> dict[str, str]:
        """The counterparty of each code that one carries (the others left out)."""
        wanted = sorted(set(codes))
        found: dict[str, str] = {}
        target = self.runner.collection(ERP_CODES)
        for first in range(0, len(wanted), 1000):
            page = await self._views.get_many(target, wanted[first : first + 1000])
            found.update({code: str(doc["counterparty_id"]) for code, doc in page.items()})
        return found
