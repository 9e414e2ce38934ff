"""``/api/v1/analytics/abc/runs``: ABC classification runs (create, preview, confirm, list, rows,
overrides), a customer's history of classes, and the customers not linked to a counterparty."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from crm_analytics.application.runs import document_of, share_of
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.abc import Period, Shares
from crm_analytics.domain.abc_run import marker as marker_of
from crm_analytics.domain.trade_fact import CODE_PATTERN, MAX_CODE
from crm_analytics.entrypoints.abc_models import ClassOut, WithoutRateOut
from crm_analytics.entrypoints.runs_models import (
    RUN_ID_PATTERN,
    Class,
    Marker,
    MovementOut,
    MoveOut,
    OverrideIn,
    PreviewOut,
    PreviewRowOut,
    RunIn,
    RunListOut,
    RunOut,
    RunRowOut,
    RunRowsOut,
    UnlinkedListOut,
    UnlinkedOut,
)
from crm_shared.commands import CommandResult, fingerprint
from crm_shared.http import (
    VIEW_NOT_READY_RESPONSE,
    Cursor,
    HttpProblem,
    IdempotencyKey,
    IfMatch,
    MinPosition,
    answered,
    caller_dependency,
)
from crm_shared.identity import Caller, CallerTokens
from crm_shared.readstore.cursor import BadCursor, decode_cursor, encode_cursor

PREFIX = "/api/v1/analytics/abc"
WAITS: dict[int | str, dict[str, Any]] = {504: VIEW_NOT_READY_RESPONSE}
RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="The run's id (UUID)")]
Customer = Annotated[str, Path(pattern=CODE_PATTERN, max_length=MAX_CODE, description="The ERP's customer code")]
Limit = Annotated[int, Query(ge=1, le=1000)]


def _after(cursor: str | None) -> tuple[Any, str] | None:
    try:
        after = decode_cursor(cursor)
    except BadCursor as exc:
        raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
    if after is not None and not (isinstance(after, tuple) and len(after) == 2 and isinstance(after[1], str)):
        raise HttpProblem(400, "Bad cursor", "cursor is not one this API returned", "cursor")
    return after


def _cursor(next_after: tuple[Any, str] | None) -> str | None:
    return None if next_after is None else encode_cursor(next_after)


def _run_out(result: CommandResult[Any]) -> RunOut:
    return RunOut.of(document_of(result.state))


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The run routes; every route needs a verified caller."""
    router = APIRouter(prefix=PREFIX, tags=["analytics: segmentation"])
    authenticated = caller_dependency(tokens)
    runs = service.runs

    @router.post("/runs", status_code=201, response_model=RunOut, response_model_by_alias=True)
    async def create_run(
        body: RunIn, response: Response, idempotency_key: IdempotencyKey = None, caller: Caller = authenticated
    ) -> RunOut:
        """Create a run (a draft) with the ABC report's parameters; ``/preview`` shows what it would
        record, ``/confirm`` records it. Administrators and heads of sales (``analytics:classify``)."""
        currency = service.settings.reporting_currency
        if body.currency not in (None, currency):
            raise HttpProblem(
                422, "Not the reporting currency", f"must be the reporting currency {currency}", "currency"
            )
        result = await runs.create(
            caller,
            Period(body.start, body.end),
            body.by,
            Shares.parse(body.shares),
            currency,
            idempotency_key=idempotency_key,
            request=fingerprint(body.model_dump(mode="json")) if idempotency_key else None,
        )
        answered(response, result, location=f"{PREFIX}/runs/{result.state.id}")
        return _run_out(result)

    @router.get("/runs", response_model=RunListOut, response_model_by_alias=True, responses=WAITS)
    async def list_runs(
        status: Annotated[str | None, Query(pattern="^(draft|confirmed)$")] = None,
        scheme: Annotated[str | None, Query(max_length=100)] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> RunListOut:
        """Runs, newest first, optionally of one status or scheme."""
        page = await runs.list(
            caller, status=status, scheme=scheme, after=_after(cursor), limit=limit, min_position=min_position
        )
        return RunListOut(items=[RunOut.of(doc) for doc in page.items], next_cursor=_cursor(page.next_after))

    @router.get("/runs/{run_id}", response_model=RunOut, response_model_by_alias=True, responses=WAITS)
    async def get_run(
        run_id: RunId, response: Response, min_position: MinPosition = None, caller: Caller = authenticated
    ) -> RunOut:
        """A run."""
        doc = await runs.get(caller, run_id, min_position=min_position)
        return RunOut.of(doc)

    @router.get(
        "/runs/{run_id}/preview",
        response_model=PreviewOut,
        response_model_by_alias=True,
        responses=WAITS,
    )
    async def preview_run(
        run_id: RunId,
        limit: Limit = 100,
        cursor: Cursor = None,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> PreviewOut:
        """What confirming the run now would record: the ABC report over its parameters, each row with
        the previous class (from the previous confirmed run of the scheme) and its marker."""
        after = _after(cursor)
        if after is not None and not (isinstance(after[0], int) and after[0] >= 0):
            raise HttpProblem(400, "Bad cursor", "cursor is not one this API returned", "cursor")
        found = await runs.preview(
            caller, run_id, after=0 if after is None else after[0], limit=limit, min_position=min_position
        )
        result = found.result
        last = result.rows[-1] if result.rows else None
        rows = []
        for r in result.rows:
            previous = found.previous.get(r.customer)
            share = share_of(r.value, result.total)
            rows.append(
                PreviewRowOut(
                    place=r.place,
                    customer=r.customer,
                    counterparty_id=r.counterparty_id,
                    value=format(r.value, "f"),
                    share=None if share is None else format(share, "f"),
                    cumulative_value=format(r.cumulative_value, "f"),
                    cumulative_share=None if r.cumulative_share is None else format(r.cumulative_share, "f"),
                    abc_class=r.abc_class,
                    previous_class=previous,
                    marker=marker_of(r.abc_class, previous),
                )
            )
        return PreviewOut(
            run=RunOut.of(found.run),
            previous_run_id=found.previous_run_id,
            customers=result.customers,
            total=format(result.total, "f"),
            classes={c: ClassOut(customers=s.customers, value=format(s.value, "f")) for c, s in result.classes.items()},
            without_rate=WithoutRateOut.of(result.without_rate),
            rows=rows,
            next_cursor=None
            if result.last_place is None or last is None
            else encode_cursor((result.last_place, last.customer)),
        )

    @router.post("/runs/{run_id}/confirm", response_model=RunOut, response_model_by_alias=True)
    async def confirm_run(
        run_id: RunId,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> RunOut:
        """Compute the run now and record its result: each customer's class, value, share, cumulative
        share, previous class and marker; publishes the run and each changed class
        (``crm.analytics.*``). A confirmed run answers as it is."""
        result = await runs.confirm(
            caller, run_id, if_match=if_match, idempotency_key=idempotency_key, request=fingerprint({"confirm": run_id})
        )
        answered(response, result)
        return _run_out(result)

    @router.get(
        "/runs/{run_id}/rows",
        response_model=RunRowsOut,
        response_model_by_alias=True,
        responses=WAITS,
    )
    async def run_rows(
        run_id: RunId,
        abc_class: Annotated[Class | None, Query(alias="class", description="The class in force")] = None,
        marker: Annotated[Marker | None, Query()] = None,
        limit: Limit = 100,
        cursor: Cursor = None,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> RunRowsOut:
        """A confirmed run's rows in place order (empty for a draft), optionally of one class or marker."""
        page = await runs.rows(
            caller,
            run_id,
            abc_class=abc_class,
            marker=marker,
            after=_after(cursor),
            limit=limit,
            min_position=min_position,
        )
        return RunRowsOut(items=[RunRowOut.of(doc) for doc in page.items], next_cursor=_cursor(page.next_after))

    @router.get(
        "/runs/{run_id}/movement",
        response_model=MovementOut,
        response_model_by_alias=True,
        responses=WAITS,
    )
    async def run_movement(
        run_id: RunId, min_position: MinPosition = None, caller: Caller = authenticated
    ) -> MovementOut:
        """How many customers moved from each previous class (A, B, C, or new) to each class in force:
        a confirmed run's recorded classes (overrides included), a draft's as confirming it now would
        record them."""
        found = await runs.movement(caller, run_id, min_position=min_position)
        return MovementOut(
            run=RunOut.of(found.run),
            previous_run_id=found.previous_run_id,
            customers=sum(found.counts.values()),
            moves=[
                MoveOut(previous_class=before, abc_class=now, customers=n) for (before, now), n in found.counts.items()
            ],
        )

    @router.post("/runs/{run_id}/overrides", response_model=RunOut, response_model_by_alias=True)
    async def override_class(
        run_id: RunId,
        body: OverrideIn,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> RunOut:
        """Set a customer's class in a confirmed run by hand; ``reason`` is required (422 naming it when
        blank). The computed class stays beside it; the change is published."""
        result = await runs.override(
            caller,
            run_id,
            body.customer,
            body.abc_class,
            body.reason,
            if_match=if_match,
            idempotency_key=idempotency_key,
            request=fingerprint(body.model_dump(mode="json")) if idempotency_key else None,
        )
        answered(response, result)
        return _run_out(result)

    @router.get(
        "/customers/{customer}/history",
        response_model=RunRowsOut,
        response_model_by_alias=True,
        responses=WAITS,
    )
    async def customer_history(
        customer: Customer,
        scheme: Annotated[str | None, Query(max_length=100)] = None,
        limit: Limit = 100,
        cursor: Cursor = None,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> RunRowsOut:
        """A customer's class in every confirmed run (oldest period first), overrides included."""
        page = await runs.history(
            caller, customer, scheme=scheme, after=_after(cursor), limit=limit, min_position=min_position
        )
        return RunRowsOut(items=[RunRowOut.of(doc) for doc in page.items], next_cursor=_cursor(page.next_after))

    @router.get("/unlinked", response_model=UnlinkedListOut)
    async def unlinked(
        limit: Limit = 100,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        caller: Caller = authenticated,
    ) -> UnlinkedListOut:
        """Customers of the trade facts whose ERP code no counterparty carries yet, in code order (they
        link by themselves once a counterparty with the code appears in contacts)."""
        try:
            after = decode_cursor(cursor)
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        if after is not None and not isinstance(after[0], str):
            raise HttpProblem(400, "Bad cursor", "cursor is not one this API returned", "cursor")
        found, last = await service.abc.unlinked(caller, after="" if after is None else after[0], limit=limit)
        return UnlinkedListOut(
            items=[UnlinkedOut(customer=u.customer, facts=u.facts, last_date=u.last_date) for u in found],
            next_cursor=None if last is None else encode_cursor((last, "")),
        )

    return router
