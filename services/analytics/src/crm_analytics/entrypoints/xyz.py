"""``GET /api/v1/analytics/xyz``: relationship stages and the XYZ classification of customers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from crm_analytics.application import xyz_backtest as backtest
from crm_analytics.application.backtest import MAX_PERIODS as MAX_RUNS
from crm_analytics.application.backtest import Known
from crm_analytics.application.backtest import Periodicity as Step
from crm_analytics.application.scope import scope_of
from crm_analytics.application.xyz import XyzReport
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.xyz import (
    BAND_PATTERN,
    DEFAULT_REGULAR_PERIODS,
    MAX_PERIODS,
    Periodicity,
    Stage,
    XyzClass,
    XyzMeasure,
    XyzParameters,
)
from crm_analytics.entrypoints.abc import reporting_currency
from crm_analytics.entrypoints.abc_models import CURRENCY, WITHOUT_RATE, WithoutRateOut
from crm_analytics.entrypoints.facts_models import FactDate
from crm_analytics.entrypoints.reports import AsOf
from crm_analytics.entrypoints.xyz_models import StandingMoveOut, XyzBacktestOut, XyzBacktestRunOut
from crm_shared.http import Cursor, HttpProblem, caller_dependency
from crm_shared.identity import Caller, CallerTokens
from crm_shared.readstore.cursor import BadCursor, decode_cursor, encode_cursor


class XyzRowOut(BaseModel):
    """One customer's relationship stage and XYZ class."""

    customer: str = Field(description="The ERP's customer code")
    counterparty_id: str | None = Field(description="The counterparty with this code; null until linked")
    stage: Stage
    xyz_class: XyzClass | None = Field(serialization_alias="class", description="Regular customers only")
    coefficient: str | None = Field(
        description="Decimal text: coefficient of variation in percent (population standard deviation / mean, "
        "4 decimals); null without values or when the mean is not positive"
    )
    mean: str | None = Field(description="Decimal text: the mean of the values (4 decimals); null without values")
    total: str = Field(description="Decimal text: the sum of the values")
    values: int = Field(description="How many values: the periods (zeros included), or the intervals between sale days")
    active_periods: int = Field(description="Periods of the window with at least one sale")


class XyzOut(BaseModel):
    """A page of the analysis, with the summary of all of it."""

    start: date = Field(serialization_alias="from", description="The first day of the window's first period")
    to: date
    periodicity: Periodicity
    periods: int
    by: XyzMeasure
    x: str = Field(description="Coefficient of variation up to this percent: X")
    y: str = Field(description="Coefficient of variation up to this percent: Y (above: Z)")
    regular_periods: int = Field(description="Active periods from which a customer is regular")
    currency: str = Field(description=CURRENCY)
    customers: int = Field(description="Every customer with a fact dated up to `to`")
    stages: dict[Stage, int]
    classes: dict[XyzClass, int]
    without_rate: list[WithoutRateOut] = Field(description=WITHOUT_RATE + " (money measures only; else empty)")
    rows: list[XyzRowOut]
    next_cursor: str | None


def _rule_fields(rule: XyzParameters) -> dict[str, Any]:
    """The rule's parameters as the report and its back-test echo them."""
    return {
        "to": rule.to,
        "periodicity": rule.periodicity,
        "periods": rule.periods,
        "by": rule.measure,
        "x": format(rule.x, "f"),
        "y": format(rule.y, "f"),
        "regular_periods": rule.regular_periods,
        "currency": rule.currency,
    }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def xyz_parameters(service: AnalyticsService) -> Callable[..., XyzParameters]:
    """The query parameters of the XYZ rule, as a dependency (the report and its back-test): checked
    by :class:`XyzParameters`, a wrong one 422 naming it."""

    def asked_of(
        to: Annotated[FactDate, Query(description="The last day counted; its period is the window's last")],
        periodicity: Annotated[
            Periodicity, Query(description="decade: the days 1-10, 11-20, 21 to the month's end; week: Monday-Sunday")
        ] = "month",
        periods: Annotated[int, Query(ge=2, le=MAX_PERIODS, description="Periods in the window")] = 6,
        by: Annotated[
            XyzMeasure,
            Query(description="profit = revenue without VAT - cost; sales = number of sale facts; intervals = days"),
        ] = "revenue",
        x: Annotated[str, Query(pattern=BAND_PATTERN, description="Upper bound of X in percent")] = "10",
        y: Annotated[str, Query(pattern=BAND_PATTERN, description="Upper bound of Y in percent")] = "25",
        regular_periods: Annotated[
            int, Query(ge=2, le=MAX_PERIODS, description="Active periods from which a customer is regular")
        ] = DEFAULT_REGULAR_PERIODS,
        currency: str | None = reporting_currency(service),
    ) -> XyzParameters:
        return XyzParameters(
            to=to,
            periodicity=periodicity,
            periods=periods,
            measure=by,
            x=Decimal(x),
            y=Decimal(y),
            regular_periods=regular_periods,
            currency=currency or service.settings.reporting_currency,
        )

    return asked_of


def xyz_backtest_parameters(service: AnalyticsService) -> Callable[..., backtest.XyzBacktestQuery]:
    """The query parameters of the XYZ back-test (the rule's, :func:`xyz_parameters`, and the runs'), as
    a dependency (the back-test and its files): a wrong one 422 naming it."""

    rule_parameters = Depends(xyz_parameters(service))

    def asked_of(
        rule: XyzParameters = rule_parameters,
        step: Annotated[
            Step,
            Query(description="Between two evaluation dates: each is the last day of a step, the last step holds `to`"),
        ] = "month",
        runs: Annotated[int, Query(ge=2, le=MAX_RUNS, description="How many evaluation dates")] = 12,
        as_known: Annotated[
            Known,
            Query(
                description="now: every run with what is known today; then: each with what the CRM knew at the end "
                "of its evaluation date in the organisation's time zone (what a run then would have said)"
            ),
        ] = "now",
    ) -> backtest.XyzBacktestQuery:
        return backtest.XyzBacktestQuery(rule, step, runs, as_known)

    return asked_of


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The XYZ route; it needs a verified caller with ``analytics:read``."""
    router = APIRouter(prefix="/api/v1/analytics", tags=["analytics: segmentation"])
    authenticated = caller_dependency(tokens)
    report = XyzReport(service.analytics)
    parameters = Depends(xyz_parameters(service))
    backtest_parameters = Depends(xyz_backtest_parameters(service))

    @router.get("/xyz", response_model=XyzOut, response_model_by_alias=True)
    async def xyz(
        asked: XyzParameters = parameters,
        as_of: AsOf = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Cursor = None,
        caller: Caller = authenticated,
    ) -> XyzOut:
        """Relationship stages (potential, one-time, regular, lost; 1C's transitions) and, for regular
        customers, the XYZ class by the coefficient of variation (population standard deviation / mean)
        of the measure over the periods of the window (periods without facts count as zero). Rows in
        customer code order, a page at a time, as of any moment (`as_of`). Administrators, heads of
        sales and marketers see every customer; sales managers and read-only users the customers of
        their access groups' counterparties (the counts are of those rows)."""
        scope_of(caller)
        try:
            after = decode_cursor(cursor)
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        if after is not None and (after[0] != "xyz" or not isinstance(after[1], str)):
            raise HttpProblem(400, "Bad cursor", "cursor is not one this API returned", "cursor")
        result = await report.classify(caller, asked, after="" if after is None else after[1], limit=limit, as_of=as_of)
        return XyzOut(
            start=result.first_day,
            **_rule_fields(asked),
            customers=result.customers,
            stages=result.stages,
            classes=result.classes,
            without_rate=WithoutRateOut.of(result.without_rate),
            rows=[
                XyzRowOut(
                    customer=r.customer,
                    counterparty_id=r.counterparty_id,
                    stage=r.stage,
                    xyz_class=r.xyz_class,
                    coefficient=_text(r.coefficient),
                    mean=_text(r.mean),
                    total=format(r.total, "f"),
                    values=r.values,
                    active_periods=r.active_periods,
                )
                for r in result.rows
            ],
            next_cursor=None if result.last_customer is None else encode_cursor(("xyz", result.last_customer)),
        )

    @router.get("/xyz/backtest", response_model=XyzBacktestOut, response_model_by_alias=True)
    async def xyz_backtest(
        asked: backtest.XyzBacktestQuery = backtest_parameters,
        caller: Caller = authenticated,
    ) -> XyzBacktestOut:
        """Back-testing: the stage and XYZ rule (the parameters of `/xyz`) evaluated at the last days of
        `runs` consecutive steps ending with the one holding `to` (oldest first) and compared — each
        run's stages and classes, the movement of customers between standings (stage, or XYZ class for
        a regular customer) from the run before and the share keeping theirs, and which part of the
        next run's window value came from this run's X, Y, Z, potential, one-time and lost customers
        and from new ones (how well the standings foretold the money); `without_rate`: the facts of the
        windows left out for lack of a rate. In the caller's scope, like the report."""
        scope_of(caller)
        rule = asked.rule
        found = await backtest.xyz_backtest(report, caller, asked, service.settings.time_zone)
        return XyzBacktestOut(
            **_rule_fields(rule),
            step=asked.step,
            runs=asked.runs,
            as_known=asked.as_known,
            time_zone=service.settings.time_zone,
            without_rate=WithoutRateOut.of(await backtest.without_rate(service.analytics, asked)),
            items=[
                XyzBacktestRunOut(
                    to=run.to,
                    start=run.first_day,
                    as_of=run.as_of,
                    customers=run.customers,
                    stages=run.stages,
                    classes=run.classes,
                    values={s: format(v, "f") for s, v in run.values.items()},
                    movement=None
                    if run.comparison.movement is None
                    else [
                        StandingMoveOut(previous=p, current=c, customers=n)
                        for (p, c), n in run.comparison.movement.items()
                    ],
                    kept_share=_text(run.comparison.kept_share),
                    next_share=None
                    if run.comparison.next_share is None
                    else {k: _text(v) for k, v in run.comparison.next_share.items()},
                )
                for run in found
            ],
        )

    return router
