"""``/api/v1/analytics/xyz/runs``: stage runs (relationship stages and XYZ classes recorded with each
customer's previous ones and published), listed and read."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_analytics.application.stage_runs import document_of
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain import stage_run
from crm_analytics.domain import trade_fact as tf
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
from crm_analytics.entrypoints.facts_models import FactDate
from crm_analytics.entrypoints.runs import WAITS, Limit, RunId, _after, _cursor
from crm_shared.commands import fingerprint
from crm_shared.http import Cursor, HttpProblem, IdempotencyKey, MinPosition, answered, caller_dependency
from crm_shared.identity import Caller, CallerTokens

PREFIX = "/api/v1/analytics/xyz/runs"
Band = Annotated[str, StringConstraints(pattern=BAND_PATTERN)]


class StageRunIn(BaseModel):
    """A stage run's parameters: the XYZ report's."""

    model_config = ConfigDict(extra="forbid")
    to: FactDate = Field(description="The last day counted; its period is the window's last")
    periodicity: Periodicity = "month"
    periods: int = Field(default=6, ge=2, le=MAX_PERIODS, description="Periods in the window")
    by: XyzMeasure = Field(default="revenue", description="profit = revenue without VAT - cost")
    x: Band = Field(default="10", description="Upper bound of X in percent")
    y: Band = Field(default="25", description="Upper bound of Y in percent")
    regular_periods: int = Field(
        default=DEFAULT_REGULAR_PERIODS,
        ge=2,
        le=MAX_PERIODS,
        description="Active periods from which a customer is regular",
    )
    currency: Annotated[str, StringConstraints(pattern=tf.CURRENCY_PATTERN)] | None = Field(
        default=None, description="The reporting currency, the only one accepted (422 naming currency otherwise)"
    )


class StageRunOut(BaseModel):
    """A recorded stage run: its parameters and summary."""

    run_id: str = Field(description="Derived from the parameters: the same parameters find the same run")
    scheme: str = Field(description="periodicity:periods:measure:x/y:regular periods:currency")
    as_of: date = Field(description="The last day counted (`to`)")
    period_from: date = Field(description="The first day of the window")
    periodicity: Periodicity
    periods: int
    by: XyzMeasure
    x: str
    y: str
    regular_periods: int
    currency: str
    previous_run_id: str | None = Field(description="Where the previous stages come from")
    customers: int
    changed: int = Field(description="Customers new or with another stage or class than in the previous run")
    stages: dict[Stage, int]
    classes: dict[XyzClass, int]
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, doc: dict[str, Any]) -> StageRunOut:
        return cls.model_validate({**doc, "by": doc["measure"], "x": str(doc["x"]), "y": str(doc["y"])})


class StageRunListOut(BaseModel):
    """Stage runs, newest first."""

    items: list[StageRunOut]
    next_cursor: str | None


class StageRowOut(BaseModel):
    """A customer's stage and class in a run, with the previous run's."""

    customer: str
    counterparty_id: str | None
    stage: Stage
    xyz_class: XyzClass | None = Field(serialization_alias="class", description="Regular customers only")
    previous_stage: Stage | None = Field(description="null: new in this run")
    previous_class: XyzClass | None
    changed: bool = Field(description="New, or another stage or class than in the previous run (published)")


class StageRowsOut(BaseModel):
    """A run's rows in customer code order."""

    items: list[StageRowOut]
    next_cursor: str | None


def _row_out(doc: dict[str, Any]) -> StageRowOut:
    previous_stage, previous_class = doc.get("previous_stage"), doc.get("previous_class")
    changed = stage_run.changed(doc["stage"], doc.get("xyz_class"), previous_stage, previous_class)
    return StageRowOut(
        customer=doc["customer"],
        counterparty_id=doc.get("counterparty_id"),
        stage=doc["stage"],
        xyz_class=doc.get("xyz_class"),
        previous_stage=previous_stage,
        previous_class=previous_class,
        changed=changed,
    )


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The stage run routes; every route needs a verified caller."""
    router = APIRouter(prefix=PREFIX, tags=["analytics: segmentation"])
    authenticated = caller_dependency(tokens)
    runs = service.stage_runs

    @router.post(
        "",
        status_code=201,
        response_model=StageRunOut,
        responses={200: {"model": StageRunOut, "description": "Recorded before with these parameters"}},
    )
    async def record_run(
        body: StageRunIn, response: Response, idempotency_key: IdempotencyKey = None, caller: Caller = authenticated
    ) -> StageRunOut:
        """Record every customer's relationship stage and XYZ class over the XYZ report's parameters,
        with the previous run's of the same scheme, and publish the run and each customer whose stage
        or class changed (``crm.analytics.customer-stage.v1``). The same parameters again record
        nothing (200 with the run recorded before). Administrators and heads of sales
        (``analytics:classify``)."""
        currency = service.settings.reporting_currency
        if body.currency not in (None, currency):
            raise HttpProblem(
                422, "Not the reporting currency", f"must be the reporting currency {currency}", "currency"
            )
        asked = XyzParameters(
            to=body.to,
            periodicity=body.periodicity,
            periods=body.periods,
            measure=body.by,
            x=Decimal(body.x),
            y=Decimal(body.y),
            regular_periods=body.regular_periods,
            currency=currency,
        )
        result, recorded = await runs.record(
            caller,
            asked,
            idempotency_key=idempotency_key,
            request=fingerprint(body.model_dump(mode="json")) if idempotency_key else None,
        )
        answered(response, result, location=f"{PREFIX}/{result.state.id}")
        if not recorded:
            response.status_code = 200
        return StageRunOut.of(document_of(result.state))

    @router.get("", response_model=StageRunListOut, responses=WAITS)
    async def list_runs(
        scheme: Annotated[str | None, Query(max_length=100)] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> StageRunListOut:
        """Stage runs, newest first, optionally of one scheme."""
        page = await runs.list(caller, scheme=scheme, after=_after(cursor), limit=limit, min_position=min_position)
        return StageRunListOut(items=[StageRunOut.of(d) for d in page.items], next_cursor=_cursor(page.next_after))

    @router.get("/{run_id}", response_model=StageRunOut, responses=WAITS)
    async def get_run(run_id: RunId, min_position: MinPosition = None, caller: Caller = authenticated) -> StageRunOut:
        """A stage run."""
        return StageRunOut.of(await runs.get(caller, run_id, min_position=min_position))

    @router.get("/{run_id}/rows", response_model=StageRowsOut, response_model_by_alias=True, responses=WAITS)
    async def run_rows(
        run_id: RunId,
        limit: Limit = 100,
        cursor: Cursor = None,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> StageRowsOut:
        """A stage run's rows in customer code order, each with the previous stage and class."""
        page = await runs.rows(caller, run_id, after=_after(cursor), limit=limit, min_position=min_position)
        return StageRowsOut(items=[_row_out(d) for d in page.items], next_cursor=_cursor(page.next_after))

    return router
