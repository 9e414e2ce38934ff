"""Stage runs: relationship stages and XYZ classes recorded with each customer's previous stage and
class, listed and read.

Recording (``analytics:classify``) computes the XYZ report (``application.xyz``) over the parameters
*at that moment* and records every customer's stage and class with those of the previous run of the
scheme (``domain.stage_run``), through the kernel command path. The run's id comes from its
parameters: recording them again records nothing and answers the run recorded before, without
computing anything. Reads (``analytics:read``) come from the runs view (``projections.runs``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from crm_analytics.application.links import CounterpartyLinks
from crm_analytics.application.run_log import RunCommands, RunViews, require_classify, require_read
from crm_analytics.application.xyz import XyzReport
from crm_analytics.domain import stage_run
from crm_analytics.domain.xyz import XyzParameters
from crm_analytics.projections.runs import STAGE_ROWS, STAGE_RUNS, order_of
from crm_shared.commands import CommandResult, Decider
from crm_shared.errors import NotFound
from crm_shared.eventstore import EventStore
from crm_shared.identity import Caller
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Document, Page, Query, ReadStore

DECIDER: Decider[stage_run.Command, stage_run.StageRun] = Decider(
    name="stage run",
    catalog=stage_run.catalog,
    stream=lambda command: stage_run.stream_of(command.run_id),
    decide=stage_run.decide,
    evolve=stage_run.evolve,
)

Result = CommandResult[stage_run.StageRun]


def document_of(state: stage_run.StageRun) -> Document:
    """A run as the view shows it, from its own stream (before the view has caught up)."""
    asked = state.asked
    return {
        "run_id": state.id,
        "scheme": state.scheme,
        "as_of": asked.to.isoformat(),
        "period_from": asked.first_day.isoformat(),
        "periodicity": asked.periodicity,
        "periods": asked.periods,
        "measure": asked.measure,
        "x": format(asked.x, "f"),
        "y": format(asked.y, "f"),
        "regular_periods": asked.regular_periods,
        "currency": asked.currency,
        "previous_run_id": state.previous_run_id,
        "customers": state.customers,
        "changed": state.changed,
        "stages": dict(state.stages),
        "classes": dict(state.classes),
        "recorded_by": state.recorded_by,
        "recorded_at": state.recorded_at.isoformat(),
    }


class StageRuns:
    """The application of stage runs: recording one, and the reads."""

    def __init__(
        self,
        store: EventStore,
        views: ReadStore,
        runner: ProjectionRunner,
        report: XyzReport,
        links: CounterpartyLinks,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.commands: RunCommands[stage_run.Command, stage_run.StageRun] = RunCommands(
            store, DECIDER, (stage_run.RecordStageRun,), clock
        )
        self._report = report
        self._links = links
        self.log = RunViews(store, views, runner, links)

    async def record(
        self,
        caller: Caller,
        asked: XyzParameters,
        *,
        idempotency_key: str | None = None,
        request: str | None = None,
    ) -> tuple[Result, bool]:
        """Record the run of these parameters (every customer's stage and class with the previous
        ones); when it is recorded already, answer it as it is. The flag: whether this call recorded it."""
        require_classify(caller)
        run_id = stage_run.run_id_of(asked)
        loaded = await self.commands.load(stage_run.stream_of(run_id))
        if loaded.state is not None:
            return loaded.current(), False
        scheme = stage_run.scheme_of(asked)
        async with self.log.lock(scheme):
            await self.log.sync()
            now = self.commands.now()
            previous_id = await self.log.previous_run(
                STAGE_RUNS, scheme, order_of(asked.to.isoformat(), now.isoformat())
            )
            previous: dict[str, tuple[Any, Any]] = {}
            if previous_id is not None:
                async for doc in self.log.rows_of(STAGE_ROWS, previous_id, "customer"):
                    previous[str(doc["customer"])] = (doc["stage"], doc.get("xyz_class"))
            found = [row async for row in self._report.every_row(caller, asked)]
            linked = await self._links.counterparties(r.customer for r in found if r.counterparty_id is None)
            rows = tuple(
                stage_run.StageRow(
                    customer=row.customer,
                    counterparty_id=row.counterparty_id or linked.get(row.customer),
                    stage=row.stage,
                    xyz_class=row.xyz_class,
                    previous_stage=previous.get(row.customer, (None, None))[0],
                    previous_class=previous.get(row.customer, (None, None))[1],
                )
                for row in found
            )
            command = stage_run.RecordStageRun(run_id, asked, rows, previous_id, caller.user_id, now)
            result = await self.commands.handle(command, caller, idempotency_key=idempotency_key, request=request)
            return result, True

    async def get(self, caller: Caller, run_id: str, *, min_position: int | None = None) -> Document:
        """A run: from the view, or from its own stream while the view has not caught up."""
        require_read(caller)
        await self.log.wait(min_position)
        found = await self.log.get(STAGE_RUNS, run_id)
        if found is not None:
            return found
        loaded = await self.commands.load(stage_run.stream_of(run_id))
        if loaded.state is None:
            raise NotFound(f"stage run {run_id} does not exist")
        return document_of(loaded.state)

    async def list(
        self,
        caller: Caller,
        *,
        scheme: str | None = None,
        after: tuple[Any, str] | None = None,
        limit: int = 50,
        min_position: int | None = None,
    ) -> Page:
        """Runs, newest first, optionally of one scheme."""
        require_read(caller)
        await self.log.wait(min_position)
        equals = {} if scheme is None else {"scheme": scheme}
        return await self.log.find(STAGE_RUNS, Query(equals, None, "newest", after, limit))

    async def rows(
        self,
        caller: Caller,
        run_id: str,
        *,
        after: tuple[Any, str] | None = None,
        limit: int = 100,
        min_position: int | None = None,
    ) -> Page:
        """A run's rows in customer code order, each with its previous stage and class."""
        await self.get(caller, run_id, min_position=min_position)
        return await self.log.linked(
            await self.log.find(STAGE_ROWS, Query({"run_id": run_id}, None, "customer", after, limit))
        )
