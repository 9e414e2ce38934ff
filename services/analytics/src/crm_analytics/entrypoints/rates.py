"""``GET /api/v1/analytics/currency-rates``: the stored currency rates, a page at a time.

Rates come in through ``POST /api/v1/analytics/currency-rates`` (a batch) and
``POST /api/v1/analytics/imports/currency-rates`` (a CSV job), the routes of every kind of record
(``entrypoints.facts``, kind ``domain.records.CURRENCY_RATES``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from crm_analytics.application.rates import CurrencyRates
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.trade_fact import CURRENCY_PATTERN
from crm_analytics.entrypoints.facts import TAG
from crm_analytics.entrypoints.facts_models import FactDate
from crm_shared.http import Cursor, HttpProblem, caller_dependency
from crm_shared.identity import Caller, CallerTokens
from crm_shared.readstore.cursor import BadCursor, decode_cursor, encode_cursor


class RateOut(BaseModel):
    """One unit of `currency` is worth `rate` units of the reporting currency from `date` on."""

    currency: str
    date: date
    rate: str = Field(description="Decimal text with 6 decimals")


class RatesOut(BaseModel):
    """A page of rates in (currency, date) order."""

    items: list[RateOut]
    next_cursor: str | None


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The read route of the rates; it needs a verified caller with ``analytics:read``."""
    router = APIRouter(prefix="/api/v1/analytics", tags=[TAG])
    authenticated = caller_dependency(tokens)
    rates = CurrencyRates(service.analytics)

    @router.get("/currency-rates", response_model=RatesOut)
    async def list_rates(
        currency: Annotated[
            str | None, Query(pattern=CURRENCY_PATTERN, description="Only this currency (ISO 4217, capitals)")
        ] = None,
        start: Annotated[FactDate | None, Query(alias="from", description="Rates dated on or after this day")] = None,
        end: Annotated[FactDate | None, Query(alias="to", description="Rates dated on or before this day")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Cursor = None,
        caller: Caller = authenticated,
    ) -> RatesOut:
        """The stored rates (for each currency and date the one sent last), in currency then date
        order, a page at a time. A fact in `currency` dated on or after a rate's `date` and before the
        currency's next rate is converted at it. `to` before `from` is 422 naming `to`. Administrators,
        heads of sales and marketers (`analytics:read`)."""
        if start is not None and end is not None and end < start:
            raise HttpProblem(422, "Bad period", "to must not be before from", "to")
        try:
            after = decode_cursor(cursor)
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        key: tuple[str, date] | None = None
        if after is not None:
            try:
                if not (isinstance(after[0], str) and isinstance(after[1], str)):
                    raise ValueError
                key = (after[0], date.fromisoformat(after[1]))
            except ValueError:
                raise HttpProblem(400, "Bad cursor", "cursor is not one this API returned", "cursor") from None
        page = await rates.list(caller, currency=currency, start=start, end=end, after=key, limit=limit)
        return RatesOut(
            items=[RateOut(currency=r.currency, date=r.date, rate=format(r.rate, "f")) for r in page.rates],
            next_cursor=None if page.last is None else encode_cursor((page.last[0], page.last[1].isoformat())),
        )

    return router
