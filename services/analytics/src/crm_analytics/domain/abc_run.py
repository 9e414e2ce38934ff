"""An ABC classification run as a decider: ``decide(command, state) -> events``, ``evolve(state, event)
-> state``. Stream: ``abc-run-<id>``.

A run is the ABC rule (``domain.abc``) applied with fixed parameters — the period, the measure, the
shares, the currency — whose result is recorded once confirmed. Runs with the same measure, shares
and currency belong to one **scheme**; a confirmed run records, for each customer, its class and the
**previous class**: the one it had in the previous confirmed run of the scheme (see
:func:`previous_order`), with a marker:

- ``new``: the customer was not in the previous run (or there was none);
- ``up``: a better class than before (C → B, C → A, B → A); ``down``: a worse one; ``same``.

Lifecycle: created (a draft: its preview is the live report over its parameters) → confirmed (the
result is recorded: :class:`AbcRunConfirmed`, then the rows in chunks of :data:`ROWS_PER_EVENT`).
After the confirmation a customer's class may be **overridden** with a reason
(:class:`AbcClassOverridden`): the computed class stays recorded beside it, and the marker follows
the class in force.

The computation itself (ClickHouse) and the previous classes (the previous run's rows) are read by
the application before deciding; this module checks and records them, and is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from crm_analytics.domain.abc import AbcClass, Measure, Period, Shares
from crm_shared.errors import DomainError, NotFound
from crm_shared.events import DomainEvent, EventCatalog

catalog = EventCatalog()

Marker = Literal["up", "down", "same", "new"]
MARKERS: tuple[Marker, ...] = get_args(Marker)
ROWS_PER_EVENT = 1000
"""Rows of a confirmed run per stored event (keeps each event small on every event store)."""
MAX_REASON = 1000
_RANK = {"A": 3, "B": 2, "C": 1}


def stream_of(run_id: str) -> str:
    """The event stream of one run."""
    return f"abc-run-{run_id}"


def scheme_of(measure: str, shares: Shares | str, currency: str) -> str:
    """The scheme of a run: runs of one scheme compare with each other (``revenue:70/20/10:EUR``)."""
    return f"{measure}:{shares}:{currency}"


def marker(abc_class: str, previous: str | None) -> Marker:
    """How a customer moved from its previous class to ``abc_class``."""
    if previous is None:
        return "new"
    if _RANK[abc_class] > _RANK[previous]:
        return "up"
    if _RANK[abc_class] < _RANK[previous]:
        return "down"
    return "same"


def previous_order(period_end: date, confirmed_at: datetime) -> tuple[str, str]:
    """The order in which runs of a scheme follow each other: by the end of the period, then by when
    they were confirmed. The previous run of a run is the confirmed run of its scheme just before it
    in this order (a second run of the same period follows the first one)."""
    return (period_end.isoformat(), confirmed_at.isoformat())


# -- events ---------------------------------------------------------------------------------------


class RunRow(BaseModel):
    """One customer's result in a confirmed run."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    customer: str
    """The ERP's customer code."""
    counterparty_id: str | None = None
    """The counterparty carrying the customer's code when the run was confirmed (None: unlinked)."""
    place: int
    """1 for the greatest value."""
    value: Decimal
    share: Decimal | None
    """``value`` in percent of the total (4 decimals); None when the total is not positive."""
    cumulative_value: Decimal
    cumulative_share: Decimal | None
    abc_class: AbcClass
    previous_class: AbcClass | None
    """The class in force in the previous confirmed run of the scheme (None: not in it, or none)."""
    marker: Marker


class ClassCount(BaseModel):
    """How many customers a class has and the sum of their values."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    customers: int
    value: Decimal


@catalog.register("analytics.AbcRunCreated")
class AbcRunCreated(DomainEvent):
    """A run was created with its parameters (a draft until confirmed)."""

    run_id: str
    scheme: str
    period_from: date
    period_to: date
    measure: Measure
    shares: str
    currency: str
    schedule: str | None = None
    """``monthly`` or ``quarterly`` for a run the service made by itself; None for one made by a user."""
    created_by: str
    created_at: datetime


@catalog.register("analytics.AbcRunConfirmed")
class AbcRunConfirmed(DomainEvent):
    """The run's result was recorded (its rows follow in :class:`AbcRunRowsRecorded` events)."""

    run_id: str
    scheme: str
    period_from: date
    period_to: date
    measure: Measure
    shares: str
    currency: str
    schedule: str | None = None
    previous_run_id: str | None
    """The confirmed run of the scheme the previous classes come from (None: the first)."""
    customers: int
    total: Decimal
    classes: dict[AbcClass, ClassCount]
    confirmed_by: str
    confirmed_at: datetime


@catalog.register("analytics.AbcRunRowsRecorded")
class AbcRunRowsRecorded(DomainEvent):
    """Rows of a confirmed run, in place order (at most :data:`ROWS_PER_EVENT`), with what places the
    run among the others of its scheme (so each row can be published alone)."""

    run_id: str
    scheme: str
    period_from: date
    period_to: date
    confirmed_at: datetime
    rows: list[RunRow]


@catalog.register("analytics.AbcClassOverridden")
class AbcClassOverridden(DomainEvent):
    """A customer's class in a confirmed run was set by hand."""

    run_id: str
    scheme: str
    period_from: date
    period_to: date
    confirmed_at: datetime
    customer: str
    counterparty_id: str | None = None
    abc_class: AbcClass
    """The class in force from now on."""
    computed_class: AbcClass
    """What the rule gave (kept)."""
    class_before: AbcClass
    """The class in force before this override."""
    previous_class: AbcClass | None
    """The class of the previous run (for the marker)."""
    marker: Marker
    """The marker of the class in force."""
    reason: str
    overridden_by: str
    overridden_at: datetime


# -- commands -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateRun:
    """Create a run with its parameters."""

    run_id: str
    period: Period
    measure: Measure
    shares: Shares
    currency: str
    by: str
    at: datetime
    schedule: str | None = None


@dataclass(frozen=True, slots=True)
class ConfirmRun:
    """Record the run's result: ``rows`` in place order with their previous classes (computed by the
    application when confirming), ``previous_run_id`` where those come from."""

    run_id: str
    rows: tuple[RunRow, ...]
    total: Decimal
    previous_run_id: str | None
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class OverrideClass:
    """Set a customer's class in a confirmed run by hand, for a reason."""

    run_id: str
    customer: str
    abc_class: AbcClass
    reason: str
    by: str
    at: datetime


Command = CreateRun | ConfirmRun | OverrideClass


# -- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Standing:
    """A customer in a confirmed run: the computed class, the class in force, the previous class."""

    computed: AbcClass
    current: AbcClass
    previous: AbcClass | None
    counterparty_id: str | None = None


@dataclass(frozen=True, slots=True)
class AbcRun:
    """A run: its parameters, and once confirmed its result."""

    id: str
    scheme: str
    period: Period
    measure: Measure
    shares: str
    currency: str
    schedule: str | None
    created_by: str
    created_at: datetime
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    previous_run_id: str | None = None
    customers: int = 0
    total: Decimal = Decimal("0.00")
    classes: Mapping[AbcClass, ClassCount] = field(default_factory=dict)
    standings: Mapping[str, Standing] = field(default_factory=dict)
    overrides: int = 0

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def status(self) -> Literal["draft", "confirmed"]:
        return "confirmed" if self.confirmed else "draft"


State = AbcRun | None


def evolve(state: State, event: DomainEvent) -> State:
    """Fold one event into the state."""
    if isinstance(event, AbcRunCreated):
        return AbcRun(
            id=event.run_id,
            scheme=event.scheme,
            period=Period(event.period_from, event.period_to),
            measure=event.measure,
            shares=event.shares,
            currency=event.currency,
            schedule=event.schedule,
            created_by=event.created_by,
            created_at=event.created_at,
        )
    if state is None:
        return None
    if isinstance(event, AbcRunConfirmed):
        return replace(
            state,
            confirmed_at=event.confirmed_at,
            confirmed_by=event.confirmed_by,
            previous_run_id=event.previous_run_id,
            customers=event.customers,
            total=event.total,
            classes=dict(event.classes),
        )
    if isinstance(event, AbcRunRowsRecorded):
        standings = dict(state.standings)
        for row in event.rows:
            standings[row.customer] = Standing(row.abc_class, row.abc_class, row.previous_class, row.counterparty_id)
        return replace(state, standings=standings)
    if isinstance(event, AbcClassOverridden):
        standings = dict(state.standings)
        before = standings[event.customer]
        standings[event.customer] = replace(before, current=event.abc_class)
        return replace(state, standings=standings, overrides=state.overrides + 1)
    return state


def _summary(rows: Sequence[RunRow]) -> dict[AbcClass, ClassCount]:
    counts: dict[AbcClass, tuple[int, Decimal]] = {
        "A": (0, Decimal("0.00")),
        "B": (0, Decimal("0.00")),
        "C": (0, Decimal("0.00")),
    }
    for row in rows:
        n, value = counts[row.abc_class]
        counts[row.abc_class] = (n + 1, value + row.value)
    return {c: ClassCount(customers=n, value=value) for c, (n, value) in counts.items()}


def decide(command: Command, state: State) -> list[DomainEvent]:
    """The events a command produces given the current state, or a :class:`DomainError`."""
    if isinstance(command, CreateRun):
        if state is not None:
            if (state.period, state.measure, state.shares, state.currency) != (
                command.period,
                command.measure,
                str(command.shares),
                command.currency,
            ):
                raise DomainError(f"run {command.run_id} exists with other parameters", field="run_id")
            return []  # created already (a retry, or the schedule's second start in a period)
        return [
            AbcRunCreated(
                run_id=command.run_id,
                scheme=scheme_of(command.measure, command.shares, command.currency),
                period_from=command.period.start,
                period_to=command.period.end,
                measure=command.measure,
                shares=str(command.shares),
                currency=command.currency,
                schedule=command.schedule,
                created_by=command.by,
                created_at=command.at,
            )
        ]
    if state is None:
        raise NotFound(f"run {command.run_id} does not exist")
    if isinstance(command, ConfirmRun):
        if state.confirmed:
            return []  # confirmed once; confirming again changes nothing
        return _confirm(command, state)
    return _override(command, state)


def _confirm(command: ConfirmRun, state: AbcRun) -> list[DomainEvent]:
    places = [row.place for row in command.rows]
    if places != list(range(1, len(places) + 1)):
        raise DomainError("rows must come in place order, from 1", field="rows")
    if len({row.customer for row in command.rows}) != len(command.rows):
        raise DomainError("a customer appears twice", field="rows")
    for row in command.rows:
        if row.marker != marker(row.abc_class, row.previous_class):
            raise DomainError(f"the marker of {row.customer} does not follow from its classes", field="rows")
    if command.previous_run_id == state.id:
        raise DomainError("a run cannot be its own previous run", field="previous_run_id")
    confirmed: list[DomainEvent] = [
        AbcRunConfirmed(
            run_id=state.id,
            scheme=state.scheme,
            period_from=state.period.start,
            period_to=state.period.end,
            measure=state.measure,
            shares=state.shares,
            currency=state.currency,
            schedule=state.schedule,
            previous_run_id=command.previous_run_id,
            customers=len(command.rows),
            total=command.total,
            classes=_summary(command.rows),
            confirmed_by=command.by,
            confirmed_at=command.at,
        )
    ]
    for first in range(0, len(command.rows), ROWS_PER_EVENT):
        confirmed.append(
            AbcRunRowsRecorded(
                run_id=state.id,
                scheme=state.scheme,
                period_from=state.period.start,
                period_to=state.period.end,
                confirmed_at=command.at,
                rows=list(command.rows[first : first + ROWS_PER_EVENT]),
            )
        )
    return confirmed


def _override(command: OverrideClass, state: AbcRun) -> list[DomainEvent]:
    reason = command.reason.strip()
    if not reason:
        raise DomainError("say why the class is set by hand", field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(f"at most {MAX_REASON} characters", field="reason")
    if not state.confirmed:
        raise DomainError("only a confirmed run's classes can be overridden; confirm it first", field="state")
    standing = state.standings.get(command.customer)
    if standing is None:
        raise DomainError(f"customer {command.customer} is not in run {state.id}", field="customer")
    if standing.current == command.abc_class:
        return []  # the class in force already
    assert state.confirmed_at is not None
    return [
        AbcClassOverridden(
            run_id=state.id,
            scheme=state.scheme,
            period_from=state.period.start,
            period_to=state.period.end,
            confirmed_at=state.confirmed_at,
            customer=command.customer,
            counterparty_id=standing.counterparty_id,
            abc_class=command.abc_class,
            computed_class=standing.computed,
            class_before=standing.current,
            previous_class=standing.previous,
            marker=marker(command.abc_class, standing.previous),
            reason=reason,
            overridden_by=command.by,
            overridden_at=command.at,
        )
    ]
