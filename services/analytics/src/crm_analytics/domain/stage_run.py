"""A stage run as a decider: ``decide(command, state) -> events``, ``evolve(state, event) -> state``.
Stream: ``stage-run-<id>``.

A stage run is the report of relationship stages and XYZ classes (``domain.xyz``) over fixed
parameters, recorded at once: every customer's stage and class with the **previous** ones, those of
the previous run of the same **scheme** (the parameters but the day ``to``), in the order
(``as_of``, recorded at) — the ABC runs' order (:func:`..abc_run.previous_order`). There is no draft:
the XYZ report over the same parameters is the preview, and a run has nothing to confirm or override.

The run's id is derived from its parameters (:func:`run_id_of`), so recording the same parameters
again finds the run and records nothing (the first recording stands, even if facts changed since).
The computation (ClickHouse) and the previous stages are read by the application before deciding;
this module checks and records them, and is pure.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from crm_analytics.domain.abc_run import ROWS_PER_EVENT
from crm_analytics.domain.xyz import STAGES, XYZ_CLASSES, Periodicity, Stage, XyzClass, XyzMeasure, XyzParameters
from crm_shared.errors import DomainError
from crm_shared.events import DomainEvent, EventCatalog

catalog = EventCatalog()

_ID_NAMESPACE = uuid.UUID("8c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5")


def stream_of(run_id: str) -> str:
    """The event stream of one stage run."""
    return f"stage-run-{run_id}"


def scheme_of(asked: XyzParameters) -> str:
    """Runs that compare with each other: every parameter but the day (``month:6:revenue:10/25:2:EUR``)."""
    bands = f"{format(asked.x.normalize(), 'f')}/{format(asked.y.normalize(), 'f')}"
    return f"{asked.periodicity}:{asked.periods}:{asked.measure}:{bands}:{asked.regular_periods}:{asked.currency}"


def run_id_of(asked: XyzParameters) -> str:
    """The one id of the run of these parameters: recording them again finds it."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{asked.to.isoformat()}|{scheme_of(asked)}"))


def changed(
    stage: Stage, xyz_class: XyzClass | None, previous_stage: Stage | None, previous_class: XyzClass | None
) -> bool:
    """Whether a customer is new in a run or its stage or class differs from the previous run's."""
    return previous_stage is None or (stage, xyz_class) != (previous_stage, previous_class)


# -- events ---------------------------------------------------------------------------------------


class StageRow(BaseModel):
    """One customer's result in a stage run."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    customer: str
    """The ERP's customer code."""
    counterparty_id: str | None = None
    """The counterparty carrying the code when the run was recorded (None: unlinked)."""
    stage: Stage
    xyz_class: XyzClass | None
    previous_stage: Stage | None
    """The stage in the previous run of the scheme (None: not in it, or there is none)."""
    previous_class: XyzClass | None


@catalog.register("analytics.StageRunRecorded")
class StageRunRecorded(DomainEvent):
    """A stage run was recorded with its parameters and summary (its rows follow in
    :class:`StageRunRowsRecorded` events)."""

    run_id: str
    scheme: str
    as_of: date
    period_from: date
    periodicity: Periodicity
    periods: int
    measure: XyzMeasure
    x: Decimal
    y: Decimal
    regular_periods: int
    currency: str
    previous_run_id: str | None
    customers: int
    changed: int
    stages: dict[Stage, int]
    classes: dict[XyzClass, int]
    recorded_by: str
    recorded_at: datetime


@catalog.register("analytics.StageRunRowsRecorded")
class StageRunRowsRecorded(DomainEvent):
    """Rows of a stage run in customer code order (at most :data:`ROWS_PER_EVENT`), with what places
    the run among the others of its scheme (so each row can be published alone)."""

    run_id: str
    scheme: str
    as_of: date
    recorded_at: datetime
    rows: list[StageRow]


# -- commands -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordStageRun:
    """Record a run: ``rows`` in customer code order with their previous stages and classes (read by
    the application), ``previous_run_id`` where those come from."""

    run_id: str
    asked: XyzParameters
    rows: tuple[StageRow, ...]
    previous_run_id: str | None
    by: str
    at: datetime


Command = RecordStageRun


# -- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StageRun:
    """A recorded run: its parameters, summary and each customer's stage and class."""

    id: str
    scheme: str
    asked: XyzParameters
    recorded_by: str
    recorded_at: datetime
    previous_run_id: str | None
    customers: int
    changed: int
    stages: Mapping[Stage, int]
    classes: Mapping[XyzClass, int]
    standings: Mapping[str, StageRow] = field(default_factory=dict)


State = StageRun | None


def evolve(state: State, event: DomainEvent) -> State:
    """Fold one event into the state."""
    if isinstance(event, StageRunRecorded):
        asked = XyzParameters(
            to=event.as_of,
            periodicity=event.periodicity,
            periods=event.periods,
            measure=event.measure,
            x=event.x,
            y=event.y,
            regular_periods=event.regular_periods,
            currency=event.currency,
        )
        return StageRun(
            id=event.run_id,
            scheme=event.scheme,
            asked=asked,
            recorded_by=event.recorded_by,
            recorded_at=event.recorded_at,
            previous_run_id=event.previous_run_id,
            customers=event.customers,
            changed=event.changed,
            stages=dict(event.stages),
            classes=dict(event.classes),
        )
    if state is None:
        return None
    if isinstance(event, StageRunRowsRecorded):
        return replace(state, standings={**state.standings, **{row.customer: row for row in event.rows}})
    return state


def _summary(rows: Sequence[StageRow]) -> tuple[dict[Stage, int], dict[XyzClass, int]]:
    stages = dict.fromkeys(STAGES, 0)
    classes = dict.fromkeys(XYZ_CLASSES, 0)
    for row in rows:
        stages[row.stage] += 1
        if row.xyz_class is not None:
            classes[row.xyz_class] += 1
    return stages, classes


def decide(command: Command, state: State) -> list[DomainEvent]:
    """The events of recording a run; none when it is recorded already."""
    if state is not None:
        return []  # recorded once: the same parameters again change nothing
    if command.run_id != run_id_of(command.asked):
        raise DomainError("a stage run's id is derived from its parameters", field="run_id")
    if command.previous_run_id == command.run_id:
        raise DomainError("a run cannot be its own previous run", field="previous_run_id")
    customers = [row.customer for row in command.rows]
    if customers != sorted(customers) or len(set(customers)) != len(customers):
        raise DomainError("rows must come once each, in customer code order", field="rows")
    for row in command.rows:
        if (row.stage == "regular") != (row.xyz_class is not None):
            raise DomainError(f"{row.customer}: regular customers and only they have a class", field="rows")
    stages, classes = _summary(command.rows)
    scheme = scheme_of(command.asked)
    asked = command.asked
    recorded: list[DomainEvent] = [
        StageRunRecorded(
            run_id=command.run_id,
            scheme=scheme,
            as_of=asked.to,
            period_from=asked.first_day,
            periodicity=asked.periodicity,
            periods=asked.periods,
            measure=asked.measure,
            x=asked.x,
            y=asked.y,
            regular_periods=asked.regular_periods,
            currency=asked.currency,
            previous_run_id=command.previous_run_id,
            customers=len(command.rows),
            changed=sum(changed(r.stage, r.xyz_class, r.previous_stage, r.previous_class) for r in command.rows),
            stages=stages,
            classes=classes,
            recorded_by=command.by,
            recorded_at=command.at,
        )
    ]
    for first in range(0, len(command.rows), ROWS_PER_EVENT):
        recorded.append(
            StageRunRowsRecorded(
                run_id=command.run_id,
                scheme=scheme,
                as_of=asked.to,
                recorded_at=command.at,
                rows=list(command.rows[first : first + ROWS_PER_EVENT]),
            )
        )
    return recorded
