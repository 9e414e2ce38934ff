"""``GET /api/v1/analytics/effectiveness`` and ``/attribution`` (and their ``.csv``): contact
effectiveness and multi-touch attribution — see ``application.effectiveness`` and
``application.attribution`` for the rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from crm_analytics.application.attribution import AttributionReport, AttributionResult
from crm_analytics.application.effectiveness import EffectivenessReport, EffectivenessResult
from crm_analytics.application.scope import scope_of
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.attribution import (
    DEFAULT_HALF_LIFE_DAYS,
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_WINDOW_DAYS,
    MAX_HALF_LIFE_DAYS,
    MAX_LOOKBACK_DAYS,
    MAX_PERIOD_DAYS,
    MAX_WINDOW_DAYS,
    AttributionQuery,
    EffectivenessQuery,
    Grouping,
    Model,
    checked_period,
)
from crm_analytics.entrypoints.abc_models import WithoutRateOut
from crm_analytics.entrypoints.facts_models import FactDate
from crm_analytics.entrypoints.reports import CSV_RESPONSE, AsOf, csv_response
from crm_shared.http import Cursor, HttpProblem, caller_dependency
from crm_shared.identity import Caller, CallerTokens
from crm_shared.readstore.cursor import BadCursor, decode_cursor, encode_cursor

ACCESS = (
    " Administrators, heads of sales and marketers read every row; sales managers and read-only users the "
    "touches and sales of their access groups' counterparties (totals and percentages of those only; customer "
    "codes no counterparty carries are outside); 403 for others."
)
KEY = (
    "The group: the interaction's kind, its responsible user's id or the counterparty's information source code "
    "in force on the interaction's day ('' for none)"
)
EFFECTIVENESS_COLUMNS = ("key", "interactions", "followed", "conversion", "revenue", "profit")
ATTRIBUTION_COLUMNS = ("key", "no_touch", "revenue", "profit", "share", "sales")
SHARE_PLACES = Decimal("0.0001")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


class EffectivenessRowOut(BaseModel):
    """The touches of one group and what followed them."""

    key: str = Field(description=KEY)
    interactions: int = Field(description="Completed interactions with a counterparty whose day is in the period")
    followed: int = Field(description="Of those, how many had a sale (a fact of kind sale) in their window")
    conversion: str | None = Field(description="Decimal text: followed / interactions in percent, 2 decimals")
    revenue: str = Field(description="Decimal text: revenue of the windows, returns subtracted (reporting currency)")
    profit: str = Field(description="Decimal text: revenue without VAT - cost of the windows, returns subtracted")


class EffectivenessOut(BaseModel):
    """A page of groups and the totals of all of them."""

    start: date = Field(serialization_alias="from")
    to: date
    window_days: int
    by: Grouping
    as_of: datetime
    currency: str = Field(description="The reporting currency of the amounts")
    groups: int = Field(description="Groups in all")
    total: EffectivenessRowOut = Field(description="Every touch of the report (key '')")
    without_rate: list[WithoutRateOut] = Field(description="Facts in the windows without a rate: left out")
    rows: list[EffectivenessRowOut]
    next_cursor: str | None


class AttributionRowOut(BaseModel):
    """What was credited to one group, or the facts with no touch."""

    key: str | None = Field(description=KEY + "; null for the no-touch row")
    no_touch: bool = Field(description="The facts with no touch in their window (unlinked customers' too)")
    revenue: str = Field(description="Decimal text: credited revenue (reporting currency), returns negative")
    profit: str = Field(description="Decimal text: credited revenue without VAT - cost")
    share: str | None = Field(description="Decimal text: revenue in percent of the period's (4 decimals)")
    sales: int = Field(description="Facts that credited this group a part of weight above 0 (no touch: the facts)")


class AttributionOut(BaseModel):
    """A page of groups (keys in order, the no-touch row last) and the totals of the period."""

    start: date = Field(serialization_alias="from")
    to: date
    model: Model
    lookback_days: int
    half_life_days: int
    by: Grouping
    as_of: datetime
    currency: str = Field(description="The reporting currency of the amounts")
    revenue: str = Field(description="Decimal text: the revenue of the period in scope, the sum of every row's")
    profit: str = Field(description="Decimal text: the profit of the period in scope")
    sales: int = Field(description="Facts of the period in scope with a rate")
    untouched: int = Field(description="Facts with no touch in their window")
    unlinked: int = Field(description="Of those, facts whose customer code no counterparty carried")
    groups: int = Field(description="Rows in all, the no-touch row included")
    without_rate: list[WithoutRateOut] = Field(description="Facts of the period without a rate: left out")
    rows: list[AttributionRowOut]
    next_cursor: str | None


From = Annotated[FactDate, Query(alias="from", description="First day of the period")]
To = Annotated[
    FactDate,
    Query(
        alias="to", description=f"Last day of the period (included); not before `from`, {MAX_PERIOD_DAYS} days at most"
    ),
]
By = Annotated[Grouping, Query(description="Group by the interaction's kind, its responsible manager or the source")]


def effectiveness_parameters() -> Callable[..., tuple[EffectivenessQuery, datetime | None]]:
    """The report's query parameters as a dependency (the report and its file)."""

    def asked_of(
        start: From,
        end: To,
        window_days: Annotated[
            int,
            Query(
                ge=0, le=MAX_WINDOW_DAYS, description="Days after an interaction's day whose facts count (its day too)"
            ),
        ] = DEFAULT_WINDOW_DAYS,
        by: By = "kind",
        as_of: AsOf = None,
    ) -> tuple[EffectivenessQuery, datetime | None]:
        return EffectivenessQuery(checked_period(start, end), window_days, by), as_of

    return asked_of


def attribution_parameters() -> Callable[..., tuple[AttributionQuery, datetime | None]]:
    """The report's query parameters as a dependency (the report and its file)."""

    def asked_of(
        start: From,
        end: To,
        model: Annotated[
            Model,
            Query(
                description="first | last: all to the earliest | latest touch; linear: equal parts; position: 40 % "
                "first, 40 % last, 20 % shared by those between (one touch: all, two: half each); time_decay: "
                "weights 2^(-age / half_life_days)"
            ),
        ] = "linear",
        lookback_days: Annotated[
            int,
            Query(
                ge=0, le=MAX_LOOKBACK_DAYS, description="Days before a fact's date whose touches count (its day too)"
            ),
        ] = DEFAULT_LOOKBACK_DAYS,
        half_life_days: Annotated[
            int, Query(ge=1, le=MAX_HALF_LIFE_DAYS, description="time_decay: the age at which a touch weighs half")
        ] = DEFAULT_HALF_LIFE_DAYS,
        by: By = "kind",
        as_of: AsOf = None,
    ) -> tuple[AttributionQuery, datetime | None]:
        asked = AttributionQuery(checked_period(start, end), model, lookback_days, half_life_days, by)
        return asked, as_of

    return asked_of


def _after(cursor: str | None, name: str) -> str | None:
    try:
        after = decode_cursor(cursor)
    except BadCursor as exc:
        raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
    if after is not None and after[0] != name:
        raise HttpProblem(400, "Bad cursor", "cursor is not one this API returned", "cursor")
    return None if after is None else after[1]


def _effectiveness_rows(result: EffectivenessResult) -> list[EffectivenessRowOut]:
    return [
        EffectivenessRowOut(
            key=r.key,
            interactions=r.interactions,
            followed=r.followed,
            conversion=_text(r.conversion),
            revenue=format(r.revenue, "f"),
            profit=format(r.profit, "f"),
        )
        for r in (*result.rows, result.total)
    ]


def _share(value: Decimal, total: Decimal) -> Decimal | None:
    return None if total <= 0 else (value * 100 / total).quantize(SHARE_PLACES)


def _attribution_rows(result: AttributionResult) -> list[AttributionRowOut]:
    return [
        AttributionRowOut(
            key=r.key,
            no_touch=r.key is None,
            revenue=format(r.revenue, "f"),
            profit=format(r.profit, "f"),
            share=_text(_share(r.revenue, result.revenue)),
            sales=r.sales,
        )
        for r in result.rows
    ]


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The two reports' routes; every route needs a verified caller."""
    router = APIRouter(prefix="/api/v1/analytics", tags=["analytics: reports"])
    authenticated = caller_dependency(tokens)
    tz = getattr(service.settings, "time_zone", "UTC")
    effectiveness_report = EffectivenessReport(service.analytics, tz=tz)
    attribution_report = AttributionReport(service.analytics, tz=tz)
    currency = service.settings.reporting_currency
    effectiveness_asked = Depends(effectiveness_parameters())
    attribution_asked = Depends(attribution_parameters())

    @router.get("/effectiveness", response_model=EffectivenessOut, response_model_by_alias=True)
    async def effectiveness(
        asked: tuple[EffectivenessQuery, datetime | None] = effectiveness_asked,
        limit: Annotated[int, Query(ge=1, le=1000, description="Groups per page")] = 100,
        cursor: Cursor = None,
        caller: Caller = authenticated,
    ) -> EffectivenessOut:
        (
            """Contact effectiveness: each completed interaction with a counterparty whose day (its end in
        the organisation's time zone) is in the period, and the revenue and profit of that counterparty's
        trade facts dated from that day to `window_days` after it (its own day included), grouped by
        the interaction's kind, responsible manager or the counterparty's source in force that day.
        A fact in the windows of two interactions counts after each: this is not an attribution (see
        /attribution). Groups in key order, a page at a time."""
            + ACCESS
        )
        query, as_of = asked
        scope_of(caller)
        after = _after(cursor, "effectiveness")
        result = await effectiveness_report.report(caller, query, as_of=as_of, after=after, limit=limit)
        *rows, total = _effectiveness_rows(result)
        return EffectivenessOut(
            start=query.period.start,
            to=query.period.end,
            window_days=query.window_days,
            by=query.by,
            as_of=result.as_of,
            currency=currency,
            groups=result.groups,
            total=total,
            without_rate=WithoutRateOut.of(result.without_rate),
            rows=rows,
            next_cursor=None if result.last_key is None else encode_cursor(("effectiveness", result.last_key)),
        )

    @router.get("/effectiveness.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
    async def effectiveness_csv(
        asked: tuple[EffectivenessQuery, datetime | None] = effectiveness_asked, caller: Caller = authenticated
    ) -> StreamingResponse:
        (
            """The whole report (the parameters of `GET /api/v1/analytics/effectiveness`) as CSV, UTF-8
        with a byte order mark: `key,interactions,followed,conversion,revenue,profit`, one line per
        group in key order, amounts as decimal text."""
            + ACCESS
        )
        query, as_of = asked
        result = await effectiveness_report.report(caller, query, as_of=as_of, limit=1_000_000)
        rows = _effectiveness_rows(result)[:-1]
        lines = ((r.key, r.interactions, r.followed, r.conversion, r.revenue, r.profit) for r in rows)
        name = f"effectiveness-{query.period.start}-{query.period.end}-{query.by}.csv"
        return csv_response(lines, EFFECTIVENESS_COLUMNS, name)

    @router.get("/attribution", response_model=AttributionOut, response_model_by_alias=True)
    async def attribution(
        asked: tuple[AttributionQuery, datetime | None] = attribution_asked,
        limit: Annotated[int, Query(ge=1, le=1000, description="Rows per page")] = 100,
        cursor: Cursor = None,
        caller: Caller = authenticated,
    ) -> AttributionOut:
        (
            """Multi-touch attribution: each trade fact of the period (a return negative; in the reporting
        currency) is split among the completed interactions with its counterparty whose day is from
        `lookback_days` before the fact's date to that date, by `model`, and credited to each
        interaction's kind, responsible manager or the counterparty's source in force on its day.
        Split exactly to the cent: each part is rounded down and the cents left go to the largest
        remainders (ties: the earlier interaction), so the parts sum to the fact and the rows to the
        period's revenue. Facts with no interaction in their window (unlinked customers' too) are the
        no-touch row. Rows in key order, the no-touch row last, a page at a time."""
            + ACCESS
        )
        query, as_of = asked
        scope_of(caller)
        after = _after(cursor, "attribution")
        result = await attribution_report.report(caller, query, as_of=as_of, after=after, limit=limit)
        return AttributionOut(
            start=query.period.start,
            to=query.period.end,
            model=query.model,
            lookback_days=query.lookback_days,
            half_life_days=query.half_life_days,
            by=query.by,
            as_of=result.as_of,
            currency=currency,
            revenue=format(result.revenue, "f"),
            profit=format(result.profit, "f"),
            sales=result.sales,
            untouched=result.untouched,
            unlinked=result.unlinked,
            groups=result.groups,
            without_rate=WithoutRateOut.of(result.without_rate),
            rows=_attribution_rows(result),
            next_cursor=None if result.last_key is None else encode_cursor(("attribution", result.last_key)),
        )

    @router.get("/attribution.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
    async def attribution_csv(
        asked: tuple[AttributionQuery, datetime | None] = attribution_asked, caller: Caller = authenticated
    ) -> StreamingResponse:
        (
            """The whole attribution (the parameters of `GET /api/v1/analytics/attribution`) as CSV, UTF-8
        with a byte order mark: `key,no_touch,revenue,profit,share,sales`, one line per group in key
        order and the no-touch line last, amounts as decimal text."""
            + ACCESS
        )
        query, as_of = asked
        result = await attribution_report.groups(caller, query, as_of=as_of)
        lines = (
            (r.key, "true" if r.no_touch else "false", r.revenue, r.profit, r.share, r.sales)
            for r in _attribution_rows(result)
        )
        name = f"attribution-{query.period.start}-{query.period.end}-{query.model}-{query.by}.csv"
        return csv_response(lines, ATTRIBUTION_COLUMNS, name)

    return router
