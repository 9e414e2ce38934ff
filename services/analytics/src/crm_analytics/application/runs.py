"""ABC classification runs: created, previewed, confirmed (the result recorded with each customer's
previous class), overridden by hand with a reason, listed, read row by row, and a customer's history.

Commands go through the kernel command path (``RunCommands``: the permission ``analytics:classify``
before anything is read). Reads need ``analytics:read`` and come from the runs view
(``projections.runs``), which follows this service's own log.

**Confirming** computes the classification (``AbcReport``, in ClickHouse) over the run's
parameters *at that moment* and records it: facts corrected later do not change a confirmed run. The
previous classes come from the previous confirmed run of the same scheme (``domain.abc_run``'s
order: period end, then confirmation time), read from the runs view after it has applied the whole
log (``sync``), and confirmations of one scheme are serialised in the process, so two of them never
take the same previous run. (Two API replicas confirming runs of one scheme in the same instant
could; the scheduled run is made by one process.)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from crm_analytics.application.abc import AbcQuery, AbcReport, AbcResult, AbcRow
from crm_analytics.application.links import CounterpartyLinks
from crm_analytics.application.run_log import RunCommands, RunViews, require_classify, require_read
from crm_analytics.domain import abc_run as run
from crm_analytics.domain.abc import HUNDRED, SHARE_PLACES, AbcClass, Measure, Period, Shares
from crm_analytics.projections.runs import ROWS, RUNS, order_of, row_id
from crm_shared.commands import CommandResult, Decider
from crm_shared.errors import NotFound
from crm_shared.events import new_record_id
from crm_shared.eventstore import EventStore
from crm_shared.identity import Caller
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Document, Page, Query, ReadStore

_ID_NAMESPACE = uuid.UUID("3f2b8c1e-6a0d-4f7e-9b5a-2c8d1e4f6a70")

DECIDER: Decider[run.Command, run.AbcRun] = Decider(
    name="run",
    catalog=run.catalog,
    stream=lambda command: run.stream_of(command.run_id),
    decide=run.decide,
    evolve=run.evolve,
)

Result = CommandResult[run.AbcRun]


def new_run_id(idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the idempotency key so a retried creation finds itself."""
    return new_record_id(_ID_NAMESPACE, "create", idempotency_key)


def scheduled_run_id(schedule: str, period: Period, scheme: str) -> str:
    """The one id of the scheduled run of a period: a second start in the period finds it."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"schedule:{schedule}:{period.start}:{period.end}:{scheme}"))


def share_of(value: Decimal, total: Decimal) -> Decimal | None:
    """``value`` in percent of ``total`` (4 decimals); None when the total is not positive."""
    if total <= 0:
        return None
    return (value * HUNDRED / total).quantize(SHARE_PLACES)


def document_of(state: run.AbcRun) -> Document:
    """A run as the view shows it, from its own stream (before the view has caught up)."""
    return {
        "run_id": state.id,
        "scheme": state.scheme,
        "period_from": state.period.start.isoformat(),
        "period_to": state.period.end.isoformat(),
        "measure": state.measure,
        "shares": state.shares,
        "currency": state.currency,
        "schedule": state.schedule,
        "created_by": state.created_by,
        "created_at": state.created_at.isoformat(),
        "status": state.status,
        "confirmed_by": state.confirmed_by,
        "confirmed_at": None if state.confirmed_at is None else state.confirmed_at.isoformat(),
        "previous_run_id": state.previous_run_id,
        "customers": state.customers if state.confirmed else None,
        "total": format(state.total, "f") if state.confirmed else None,
        "classes": {c: {"customers": n.customers, "value": format(n.value, "f")} for c, n in state.classes.items()}
        if state.confirmed
        else None,
        "overrides": state.overrides,
    }


@dataclass(frozen=True, slots=True)
class Movement:
    """How many customers of a run moved from each previous class (None: new) to each class."""

    run: Document
    previous_run_id: str | None
    counts: dict[tuple[AbcClass | None, AbcClass], int]
    """(previous class, class in force) → customers; every pair, zeros included."""


def movement_of(pairs: Iterable[tuple[AbcClass | None, AbcClass]]) -> dict[tuple[AbcClass | None, AbcClass], int]:
    """Count (previous class, class) pairs over every combination (new = None), zeros included."""
    counts: dict[tuple[AbcClass | None, AbcClass], int] = {
        (before, now): 0 for before in ("A", "B", "C", None) for now in ("A", "B", "C")
    }
    for pair in pairs:
        counts[pair] += 1
    return counts


@dataclass(frozen=True, slots=True)
class Preview:
    """A page of what confirming the run now would record."""

    run: Document
    result: AbcResult
    previous_run_id: str | None
    previous: dict[str, AbcClass]
    """The previous class of each customer of the page that had one."""


class AbcRuns:
    """The application of runs: commands, the preview, the confirmation, and the reads."""

    def __init__(
        self,
        store: EventStore,
        views: ReadStore,
        runner: ProjectionRunner,
        report: AbcReport,
        links: CounterpartyLinks,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.commands: RunCommands[run.Command, run.AbcRun] = RunCommands(store, DECIDER, (run.CreateRun,), clock)
        self._store = store
        self._views = views
        self.runner = runner
        self._report = report
        self.log = RunViews(store, views, runner, links)

    # -- commands ---------------------------------------------------------------------------------

    async def create(
        self,
        caller: Caller,
        period: Period,
        measure: Measure,
        shares: Shares,
        currency: str,
        *,
        run_id: str | None = None,
        schedule: str | None = None,
        idempotency_key: str | None = None,
        request: str | None = None,
    ) -> Result:
        """A new run (a draft) with these parameters."""
        command = run.CreateRun(
            run_id=run_id or new_run_id(idempotency_key),
            period=period,
            measure=measure,
            shares=shares,
            currency=currency,
            by=caller.user_id,
            at=self.commands.now(),
            schedule=schedule,
        )
        return await self.commands.handle(command, caller, idempotency_key=idempotency_key, request=request)

    async def confirm(
        self,
        caller: Caller,
        run_id: str,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        request: str | None = None,
    ) -> Result:
        """Compute the run now and record its result with the previous classes; a confirmed run
        answers as it is (nothing recorded twice)."""
        require_classify(caller)
        loaded = await self.commands.load(run.stream_of(run_id))
        state = loaded.state
        if state is None:
            raise self.commands.not_found(loaded.stream)
        if state.confirmed:
            return loaded.current()
        async with self.log.lock(state.scheme):
            await self.log.sync()
            now = self.commands.now()
            previous_id = await self._previous_run(
                state.scheme, order_of(state.period.end.isoformat(), now.isoformat())
            )
            previous = await self._classes_of(previous_id) if previous_id else {}
            asked = self._query(state)
            rows: list[AbcRow] = [row async for row in self._report.every_row(caller, asked)]
            # Place 1 comes last in ascending order: its cumulative value is the total.
            total = next((row.cumulative_value for row in rows if row.place == 1), Decimal("0.00"))
            recorded = tuple(
                run.RunRow(
                    customer=row.customer,
                    counterparty_id=row.counterparty_id,
                    place=row.place,
                    value=row.value,
                    share=share_of(row.value, total),
                    cumulative_value=row.cumulative_value,
                    cumulative_share=row.cumulative_share,
                    abc_class=row.abc_class,
                    previous_class=previous.get(row.customer),
                    marker=run.marker(row.abc_class, previous.get(row.customer)),
                )
                for row in rows
            )
            command = run.ConfirmRun(run_id, recorded, total, previous_id, caller.user_id, now)
            return await self.commands.handle(
                command, caller, if_match=if_match, idempotency_key=idempotency_key, request=request
            )

    async def override(
        self,
        caller: Caller,
        run_id: str,
        customer: str,
        abc_class: AbcClass,
        reason: str,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        request: str | None = None,
    ) -> Result:
        """Set a customer's class in a confirmed run, for a reason (422 naming ``reason`` without one)."""
        command = run.OverrideClass(run_id, customer, abc_class, reason, caller.user_id, self.commands.now())
        return await self.commands.handle(
            command, caller, if_match=if_match, idempotency_key=idempotency_key, request=request
        )

    # -- reads ------------------------------------------------------------------------------------

    async def _wait(self, min_position: int | None) -> None:
        await self.log.wait(min_position)

    async def get(self, caller: Caller, run_id: str, *, min_position: int | None = None) -> Document:
        """A run: from the view, or from its own stream while the view has not caught up."""
        require_read(caller)
        await self._wait(min_position)
        found = await self._views.get(self.runner.collection(RUNS), run_id)
        if found is None:
            loaded = await self.commands.load(run.stream_of(run_id))
            if loaded.state is None:
                raise NotFound(f"run {run_id} does not exist")
            return {**document_of(loaded.state), "_version": loaded.version}
        return found

    async def list(
        self,
        caller: Caller,
        *,
        status: str | None = None,
        scheme: str | None = None,
        after: tuple[Any, str] | None = None,
        limit: int = 50,
        min_position: int | None = None,
    ) -> Page:
        """Runs, newest first."""
        require_read(caller)
        await self._wait(min_position)
        equals = {k: v for k, v in (("status", status), ("scheme", scheme)) if v is not None}
        return await self._views.find(self.runner.collection(RUNS), Query(equals, None, "newest", after, limit))

    async def rows(
        self,
        caller: Caller,
        run_id: str,
        *,
        abc_class: str | None = None,
        marker: str | None = None,
        after: tuple[Any, str] | None = None,
        limit: int = 100,
        min_position: int | None = None,
    ) -> Page:
        """A confirmed run's rows in place order, filtered by the class in force and by marker."""
        found = await self.get(caller, run_id, min_position=min_position)
        if found.get("status") != "confirmed":
            return Page([], None)
        equals: dict[str, Any] = {"run_id": run_id}
        if abc_class is not None:
            equals["abc_class"] = abc_class
        if marker is not None:
            equals["marker"] = marker
        return await self.log.linked(
            await self._views.find(self.runner.collection(ROWS), Query(equals, None, "place", after, limit))
        )

    async def history(
        self,
        caller: Caller,
        customer: str,
        *,
        scheme: str | None = None,
        after: tuple[Any, str] | None = None,
        limit: int = 100,
        min_position: int | None = None,
    ) -> Page:
        """A customer's class in every confirmed run, in the order runs follow each other (oldest
        first), with overrides."""
        require_read(caller)
        await self._wait(min_position)
        equals: dict[str, Any] = {"customer": customer}
        if scheme is not None:
            equals["scheme"] = scheme
        return await self.log.linked(
            await self._views.find(self.runner.collection(ROWS), Query(equals, None, "order", after, limit))
        )

    async def preview(
        self, caller: Caller, run_id: str, *, after: int = 0, limit: int = 100, min_position: int | None = None
    ) -> Preview:
        """A page of what confirming the run now would record: the classification over its parameters
        (the ABC report) with each customer's previous class."""
        require_read(caller)
        document = await self.get(caller, run_id, min_position=min_position)
        loaded = await self.commands.load(run.stream_of(run_id))
        assert loaded.state is not None
        state = loaded.state
        await self.log.sync()
        previous_id = await self._previous_run(
            state.scheme, order_of(state.period.end.isoformat(), self.commands.now().isoformat())
        )
        result = await self._report.classify(caller, self._query(state), after=after, limit=limit)
        previous: dict[str, AbcClass] = {}
        if previous_id is not None and result.rows:
            ids = [row_id(previous_id, row.customer) for row in result.rows]
            found = await self._views.get_many(self.runner.collection(ROWS), ids)
            previous = {str(doc["customer"]): doc["abc_class"] for doc in found.values()}
        return Preview(document, result, previous_id, previous)

    async def movement(self, caller: Caller, run_id: str, *, min_position: int | None = None) -> Movement:
        """How many customers moved from each previous class to each class: a confirmed run's recorded
        classes in force (overrides included), from its own stream; a draft's as confirming it now
        would record them."""
        await self.get(caller, run_id, min_position=min_position)  # reading allowed, the run exists
        loaded = await self.commands.load(run.stream_of(run_id))
        assert loaded.state is not None
        state = loaded.state
        document = document_of(state)  # the run as the counts saw it, even before the view caught up
        if state.confirmed:
            pairs = ((s.previous, s.current) for s in state.standings.values())
            return Movement(document, state.previous_run_id, movement_of(pairs))
        await self.log.sync()
        previous_id = await self._previous_run(
            state.scheme, order_of(state.period.end.isoformat(), self.commands.now().isoformat())
        )
        previous = await self._classes_of(previous_id) if previous_id else {}
        rows = [row async for row in self._report.every_row(caller, self._query(state))]
        return Movement(document, previous_id, movement_of((previous.get(row.customer), row.abc_class) for row in rows))

    # -- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _query(state: run.AbcRun) -> AbcQuery:
        return AbcQuery(
            period=state.period, measure=state.measure, shares=Shares.parse(state.shares), currency=state.currency
        )

    async def _previous_run(self, scheme: str, before: str) -> str | None:
        """The confirmed run of ``scheme`` just before the order ``before``, if any."""
        return await self.log.previous_run(RUNS, scheme, before, {"status": "confirmed"})

    async def _classes_of(self, run_id: str) -> dict[str, AbcClass]:
        """Each customer's class in force in a confirmed run."""
        return {str(doc["customer"]): doc["abc_class"] async for doc in self.log.rows_of(ROWS, run_id, "place")}
