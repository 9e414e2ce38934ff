"""The counterparty aggregate as a decider: ``decide(command, state) -> events``,
``evolve(state, event) -> state``. Stream: ``counterparty-<id>``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.events import DomainEvent, EventCatalog

Kind = Literal["buyer", "supplier", "other"]
DEFAULT_ACCESS_GROUP = "general"
catalog = EventCatalog()


def stream_of(counterparty_id: str) -> str:
    """The event stream of one counterparty."""
    return f"counterparty-{counterparty_id}"


# -- events ---------------------------------------------------------------------------------------


@catalog.register("contacts.CounterpartyRegistered", version=2)
class CounterpartyRegistered(DomainEvent):
    counterparty_id: str
    name: str
    kind: Kind
    tax_id: str | None
    main_manager: str
    registered_at: datetime
    access_group: str


@catalog.upcaster("contacts.CounterpartyRegistered", from_version=1)
def _into_the_default_access_group(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 predates access groups: such counterparties belong to the default group."""
    return {**data, "access_group": DEFAULT_ACCESS_GROUP}


@catalog.register("contacts.CounterpartyRenamed")
class CounterpartyRenamed(DomainEvent):
    counterparty_id: str
    name: str


@catalog.register("contacts.CounterpartyKindChanged")
class CounterpartyKindChanged(DomainEvent):
    counterparty_id: str
    kind: Kind


@catalog.register("contacts.CounterpartyTaxIdChanged")
class CounterpartyTaxIdChanged(DomainEvent):
    counterparty_id: str
    tax_id: str | None


@catalog.register("contacts.MainManagerAssigned")
class MainManagerAssigned(DomainEvent):
    counterparty_id: str
    main_manager: str


@catalog.register("contacts.CounterpartyAccessGroupChanged")
class CounterpartyAccessGroupChanged(DomainEvent):
    counterparty_id: str
    access_group: str


# -- commands -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterCounterparty:
    counterparty_id: str
    name: str
    kind: Kind
    tax_id: str | None
    main_manager: str
    now: datetime
    access_group: str = DEFAULT_ACCESS_GROUP


@dataclass(frozen=True, slots=True)
class UpdateCounterparty:
    """Change some details; fields left ``None`` stay as they are (``clear_tax_id`` removes it)."""

    counterparty_id: str
    name: str | None = None
    kind: Kind | None = None
    tax_id: str | None = None
    clear_tax_id: bool = False
    main_manager: str | None = None
    access_group: str | None = None


Command = RegisterCounterparty | UpdateCounterparty


# -- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counterparty:
    id: str
    name: str
    kind: Kind
    tax_id: str | None
    main_manager: str
    registered_at: datetime
    access_group: str = DEFAULT_ACCESS_GROUP


State = Counterparty | None


def evolve(state: State, event: DomainEvent) -> State:
    """Fold one event into the state."""
    match event:
        case CounterpartyRegistered():
            return Counterparty(
                id=event.counterparty_id,
                name=event.name,
                kind=event.kind,
                tax_id=event.tax_id,
                main_manager=event.main_manager,
                registered_at=event.registered_at,
                access_group=event.access_group,
            )
        case CounterpartyRenamed() if state is not None:
            return replace(state, name=event.name)
        case CounterpartyKindChanged() if state is not None:
            return replace(state, kind=event.kind)
        case CounterpartyTaxIdChanged() if state is not None:
            return replace(state, tax_id=event.tax_id)
        case MainManagerAssigned() if state is not None:
            return replace(state, main_manager=event.main_manager)
        case CounterpartyAccessGroupChanged() if state is not None:
            return replace(state, access_group=event.access_group)
    return state


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise DomainError("name must not be blank", field="name")
    return cleaned


def decide(command: Command, state: State) -> list[DomainEvent]:
    """The events a command produces given the current state, or a :class:`DomainError`."""
    match command:
        case RegisterCounterparty():
            if state is not None:
                raise AlreadyExists(f"counterparty {command.counterparty_id} already exists")
            return [
                CounterpartyRegistered(
                    counterparty_id=command.counterparty_id,
                    name=_clean_name(command.name),
                    kind=command.kind,
                    tax_id=command.tax_id,
                    main_manager=command.main_manager,
                    registered_at=command.now,
                    access_group=command.access_group,
                )
            ]
        case UpdateCounterparty():
            if state is None:
                raise NotFound(f"counterparty {command.counterparty_id} does not exist")
            return _update(command, state)


def _update(command: UpdateCounterparty, state: Counterparty) -> list[DomainEvent]:
    if command.clear_tax_id and command.tax_id is not None:
        raise DomainError("give a tax id or clear it, not both", field="tax_id")
    events: list[DomainEvent] = []
    cid = state.id
    if command.name is not None and _clean_name(command.name) != state.name:
        events.append(CounterpartyRenamed(counterparty_id=cid, name=_clean_name(command.name)))
    if command.kind is not None and command.kind != state.kind:
        events.append(CounterpartyKindChanged(counterparty_id=cid, kind=command.kind))
    new_tax_id = None if command.clear_tax_id else (command.tax_id or state.tax_id)
    if new_tax_id != state.tax_id:
        events.append(CounterpartyTaxIdChanged(counterparty_id=cid, tax_id=new_tax_id))
    if command.main_manager is not None and command.main_manager != state.main_manager:
        events.append(MainManagerAssigned(counterparty_id=cid, main_manager=command.main_manager))
    if command.access_group is not None and command.access_group != state.access_group:
        events.append(CounterpartyAccessGroupChanged(counterparty_id=cid, access_group=command.access_group))
    return events


# -- tax-id reservations (stream ``taxid-<normalised tax id>``) ------------------------------------


def normalise_tax_id(tax_id: str) -> str:
    """The form under which tax ids are compared: no spaces or dashes, upper case."""
    return "".join(tax_id.split()).replace("-", "").upper()


def tax_id_stream(tax_id: str) -> str:
    """The reservation stream of a tax id: one counterparty at a time may hold it."""
    return f"taxid-{normalise_tax_id(tax_id)}"


@catalog.register("contacts.TaxIdReserved")
class TaxIdReserved(DomainEvent):
    tax_id: str
    counterparty_id: str


@catalog.register("contacts.TaxIdReleased")
class TaxIdReleased(DomainEvent):
    tax_id: str
    counterparty_id: str


def holder_of(reservations: list[DomainEvent]) -> str | None:
    """Who holds a tax id after its reservation events (None when free)."""
    holder: str | None = None
    for event in reservations:
        if isinstance(event, TaxIdReserved):
            holder = event.counterparty_id
        elif isinstance(event, TaxIdReleased) and holder == event.counterparty_id:
            holder = None
    return holder
