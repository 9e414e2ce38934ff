"""The currency rates facts are converted with (``domain.currency_rate``), read a page at a time.

They come in as one more kind of record (``domain.records.CURRENCY_RATES``: the HTTP batch, the CSV
job, ``crm import currency-rates``); reading them needs ``analytics:read``, as the reports they feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from crm_analytics.application.abc import AbcReport
from crm_analytics.domain.currency_rate import Rate
from crm_analytics.domain.trade_fact import EARLIEST, LATEST
from crm_analytics.projections.tables import query
from crm_shared.analytics import AnalyticsStore
from crm_shared.identity import Caller

_RATES = query("rates")


@dataclass(frozen=True, slots=True)
class RatePage:
    rates: list[Rate]
    last: tuple[str, date] | None
    """The (currency, date) of the last rate when more follow."""


class CurrencyRates:
    """Reads the stored rates (the latest sent for each currency and date)."""

    def __init__(self, store: AnalyticsStore) -> None:
        self._store = store

    async def list(
        self,
        caller: Caller,
        *,
        currency: str | None = None,
        start: date | None = None,
        end: date | None = None,
        after: tuple[str, date] | None = None,
        limit: int = 100,
    ) -> RatePage:
        """Rates in (currency, date) order after ``after``, at most ``limit``, of one currency or all,
        dated ``start`` … ``end`` (both included)."""
        AbcReport.authorize(caller)
        found = await self._store.query(
            _RATES,
            {
                "currency": currency or "",
                "from": start or EARLIEST,
                "to": end or LATEST,
                "after_currency": after[0] if after else "",
                "after_date": after[1] if after else EARLIEST,
                "limit": limit + 1,
            },
        )
        rates = [Rate(str(r["currency"]), r["date"], r["rate"]) for r in found[:limit]]
        more = len(found) > limit and rates
        return RatePage(rates, (rates[-1].currency, rates[-1].date) if more else None)
