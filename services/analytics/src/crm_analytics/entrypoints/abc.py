"""``GET /api/v1/analytics/abc``: the ABC classification of customers for a period."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from crm_analytics.application.abc import AbcQuery
from crm_analytics.application.backtest import MAX_PERIODS, BacktestQuery, Known, Periodicity, backtest, without_rate
from crm_analytics.application.scope import scope_of
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.abc import SHARES_PATTERN, Period, Shares
from crm_analytics.entrypoints import runs
from crm_analytics.entrypoints.abc_models import (
    AbcOut,
    AbcRowOut,
    BacktestOut,
    BacktestPeriodOut,
    ClassOut,
    MoveOut,
    WithoutRateOut,
)
from crm_analytics.entrypoints.facts_models import FactDate
from crm_analytics.entrypoints.reports import AsOf
from crm_shared.http import Cursor, HttpProblem, caller_dependency
from crm_shared.identity import Caller, CallerTokens
from crm_shared.readstore.cursor import BadCursor, decode_cursor, encode_cursor

ByQuery = Annotated[
    Literal["revenue", "revenue_without_vat", "profit"], Query(description="profit = revenue without VAT - cost")
]
"""The ABC measure as a query parameter (the report, its files and the back-test)."""
SharesQuery = Annotated[str, Query(pattern=SHARES_PATTERN, description="A/B/C in percent, summing to 100")]
"""The A/B/C shares as a query parameter."""


def _money(value: object) -> str:
    return format(value, "f")


def reporting_currency(service: AnalyticsService) -> Any:
    """The ``currency`` query parameter of the reports (a default value, not an annotation: the
    annotations are text resolved in the module): only the reporting currency (its pattern is that
    currency alone, so another is 422 naming ``currency``); left out, the same."""
    return Query(
        None,
        pattern=f"^{service.settings.reporting_currency}$",
        description=f"The reporting currency, {service.settings.reporting_currency} (the only one accepted; "
        "CRM_ANALYTICS_REPORTING_CURRENCY). Values are in it: facts in other currencies are converted at "
        "the rate of their date, and facts without a rate are left out and listed in `without_rate`",
    )


def abc_parameters(service: AnalyticsService) -> Callable[..., AbcQuery]:
    """The query parameters of the ABC classification, as a dependency (the report and its files)."""

    def asked_of(
        start: Annotated[FactDate, Query(alias="from", description="First day of the period")],
        end: Annotated[FactDate, Query(alias="to", description="Last day of the period (included)")],
        by: ByQuery = "revenue",
        shares: SharesQuery = "70/20/10",
        currency: str | None = reporting_currency(service),
        as_of: AsOf = None,
    ) -> AbcQuery:
        return AbcQuery(
            period=Period(start, end),
            measure=by,
            shares=Shares.parse(shares),
            currency=currency or service.settings.reporting_currency,
            as_of=as_of,
        )

    return asked_of


def abc_backtest_parameters(service: AnalyticsService) -> Callable[..., BacktestQuery]:
    """The query parameters of the ABC back-test, as a dependency (the back-test and its files)."""

    def asked_of(
        to: Annotated[FactDate, Query(description="A day of the last period")],
        periodicity: Annotated[Periodicity, Query()] = "month",
        periods: Annotated[int, Query(ge=2, le=MAX_PERIODS, description="How many consecutive periods")] = 12,
        by: ByQuery = "revenue",
        shares: SharesQuery = "70/20/10",
        currency: str | None = reporting_currency(service),
        as_known: Annotated[
            Known,
            Query(
                description="now: every period with what is known today; then: each with what the CRM knew at "
                "the end of its last day in the organisation's time zone (what a run then would have said)"
            ),
        ] = "now",
    ) -> BacktestQuery:
        return BacktestQuery(
            to=to,
            periodicity=periodicity,
            periods=periods,
            measure=by,
            shares=Shares.parse(shares),
            currency=currency or service.settings.reporting_currency,
            as_known=as_known,
        )

    return asked_of


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The segmentation routes; every route needs a verified caller."""
    router = APIRouter(prefix="/api/v1/analytics", tags=["analytics: segmentation"])
    authenticated = caller_dependency(tokens)
    parameters = Depends(abc_parameters(service))
    backtest_parameters = Depends(abc_backtest_parameters(service))

    @router.get("/abc", response_model=AbcOut, response_model_by_alias=True)
    async def abc(
        asked: AbcQuery = parameters,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Cursor = None,
        caller: Caller = authenticated,
    ) -> AbcOut:
        """The ABC classification of customers (1C's rule): each customer's value in the period, sorted
        ascending (ties by customer code) and accumulated; cumulative share ≤ C → C, ≤ C + B → B,
        else A. Returns subtract; customers with no sales in the period are C. Rows in place order
        (the greatest value first), a page at a time, as of any moment (`as_of`). Administrators,
        heads of sales and marketers see every customer; sales managers and read-only users the
        customers of their access groups' counterparties, each with the class the rule gives it among
        every customer, and cumulative values, total and summary over their rows only."""
        scope_of(caller)
        try:
            after = decode_cursor(cursor)
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        if after is not None and not (isinstance(after[0], int) and after[0] >= 0):
            raise HttpProblem(400, "Bad cursor", "cursor is not one this API returned", "cursor")
        result = await service.abc.classify(caller, asked, after=0 if after is None else after[0], limit=limit)
        last = result.rows[-1] if result.rows else None
        return AbcOut(
            start=asked.period.start,
            end=asked.period.end,
            by=asked.measure,
            shares=str(asked.shares),
            currency=asked.currency,
            customers=result.customers,
            total=_money(result.total),
            classes={c: ClassOut(customers=s.customers, value=_money(s.value)) for c, s in result.classes.items()},
            without_rate=WithoutRateOut.of(result.without_rate),
            rows=[
                AbcRowOut(
                    place=r.place,
                    customer=r.customer,
                    counterparty_id=r.counterparty_id,
                    manager=r.manager,
                    value=_money(r.value),
                    cumulative_value=_money(r.cumulative_value),
                    cumulative_share=None if r.cumulative_share is None else _money(r.cumulative_share),
                    abc_class=r.abc_class,
                )
                for r in result.rows
            ],
            next_cursor=None
            if result.last_place is None or last is None
            else encode_cursor((result.last_place, last.customer)),
        )

    @router.get("/abc/backtest", response_model=BacktestOut, response_model_by_alias=True)
    async def abc_backtest(
        asked: BacktestQuery = backtest_parameters,
        caller: Caller = authenticated,
    ) -> BacktestOut:
        """Back-testing: the ABC rule run over consecutive past periods (oldest first) and compared —
        each period's classes, the movement from the period before and the share of customers keeping
        their class, and which part of the next period's value came from this period's A, B and C
        customers (how well the classes foretold the money); `without_rate`: the facts of the periods
        left out for lack of a rate. In the caller's scope, like the report."""
        scope_of(caller)
        found = await backtest(service.abc, caller, asked, service.settings.time_zone)
        return BacktestOut(
            to=asked.to,
            periodicity=asked.periodicity,
            periods=asked.periods,
            by=asked.measure,
            shares=str(asked.shares),
            currency=asked.currency,
            as_known=asked.as_known,
            time_zone=service.settings.time_zone,
            without_rate=WithoutRateOut.of(await without_rate(service.analytics, asked)),
            items=[
                BacktestPeriodOut(
                    start=p.period.start,
                    end=p.period.end,
                    as_of=p.as_of,
                    classes={c: ClassOut(customers=p.customers[c], value=_money(p.values[c])) for c in p.customers},
                    movement=None
                    if p.movement is None
                    else [MoveOut(previous=f, abc_class=t, customers=n) for (f, t), n in p.movement.items()],
                    kept_share=None if p.kept_share is None else _money(p.kept_share),
                    next_share=None
                    if p.next_share is None
                    else {k: None if v is None else _money(v) for k, v in p.next_share.items()},
                )
                for p in found
            ],
        )

    routes = APIRouter()
    routes.include_router(router)
    routes.include_router(runs.build_router(service, tokens))
    return routes
