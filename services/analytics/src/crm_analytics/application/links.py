"""Which counterparty carries which ERP customer code, read from contacts' events in the analytics store
(the view ``customer_links`` of ``projections/sql/crm_events.sql``). Facts keep the customer code as
the ERP sent it; they are linked when read, so a customer links by itself as soon as a counterparty
with its code appears in contacts, and a report as of a past moment links as the CRM knew then."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from crm_shared.analytics import AnalyticsStore

LINKS = (
    "SELECT customer, counterparty_id FROM customer_links(as_of = {as_of:DateTime64(6, 'UTC')})"
    " WHERE customer IN {codes:Array(String)}"
)


class CounterpartyLinks:
    """Reads of the links between ERP customer codes and counterparties."""

    def __init__(self, store: AnalyticsStore) -> None:
        self._store = store

    async def counterparties(self, codes: Iterable[str], as_of: datetime | None = None) -> dict[str, str]:
        """The counterparty of each code that one carries (the others left out), as of ``as_of``
        (default: now)."""
        wanted = sorted(set(codes))
        moment = as_of or datetime.now(UTC)
        found: dict[str, str] = {}
        for first in range(0, len(wanted), 1000):
            rows = await self._store.query(LINKS, {"as_of": moment, "codes": wanted[first : first + 1000]})
            found.update({str(r["customer"]): str(r["counterparty_id"]) for r in rows})
        return found
