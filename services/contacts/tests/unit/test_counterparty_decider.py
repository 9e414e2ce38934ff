"""Given events, when a command, then events (or a refusal): the counterparty decider."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm_contacts.domain import counterparty as cp
from crm_shared.errors import AlreadyExists, DomainError, NotFound

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
ID = "c-1"


def registered(**overrides: object) -> cp.CounterpartyRegistered:
    fields: dict[str, object] = {
        "counterparty_id": ID,
        "name": "Ромашка ООД",
        "kind": "buyer",
        "tax_id": "BG111",
        "main_manager": "ivan",
        "registered_at": NOW,
        "access_group": "general",
    }
    fields.update(overrides)
    return cp.CounterpartyRegistered.model_validate(fields)


def given(*events: cp.DomainEvent) -> cp.State:
    state: cp.State = None
    for event in events:
        state = cp.evolve(state, event)
    return state


def register(**overrides: object) -> cp.RegisterCounterparty:
    fields: dict[str, object] = {
        "counterparty_id": ID,
        "name": "Ромашка ООД",
        "kind": "buyer",
        "tax_id": "BG111",
        "main_manager": "ivan",
        "now": NOW,
    }
    fields.update(overrides)
    return cp.RegisterCounterparty(**fields)  # type: ignore[arg-type]


def test_registering_a_new_counterparty_records_it() -> None:
    assert cp.decide(register(), given()) == [registered()]


def test_registration_normalises_whitespace_in_the_name() -> None:
    [event] = cp.decide(register(name="  Ромашка \t ООД "), given())
    assert isinstance(event, cp.CounterpartyRegistered)
    assert event.name == "Ромашка ООД"


def test_a_blank_name_is_refused_naming_the_field() -> None:
    with pytest.raises(DomainError) as refused:
        cp.decide(register(name="   "), given())
    assert refused.value.field == "name"


def test_registering_twice_is_refused() -> None:
    with pytest.raises(AlreadyExists):
        cp.decide(register(), given(registered()))


def test_updating_a_missing_counterparty_is_refused() -> None:
    with pytest.raises(NotFound):
        cp.decide(cp.UpdateCounterparty(ID, name="X"), given())


def test_an_update_records_one_event_per_changed_detail() -> None:
    events = cp.decide(
        cp.UpdateCounterparty(ID, name="Лайка АД", kind="supplier", tax_id="BG222", main_manager="maria"),
        given(registered()),
    )
    assert events == [
        cp.CounterpartyRenamed(counterparty_id=ID, name="Лайка АД"),
        cp.CounterpartyKindChanged(counterparty_id=ID, kind="supplier"),
        cp.CounterpartyTaxIdChanged(counterparty_id=ID, tax_id="BG222"),
        cp.MainManagerAssigned(counterparty_id=ID, main_manager="maria"),
    ]


def test_an_update_that_changes_nothing_records_nothing() -> None:
    assert cp.decide(cp.UpdateCounterparty(ID, name="Ромашка  ООД", kind="buyer"), given(registered())) == []


def test_clearing_the_tax_id() -> None:
    assert cp.decide(cp.UpdateCounterparty(ID, clear_tax_id=True), given(registered())) == [
        cp.CounterpartyTaxIdChanged(counterparty_id=ID, tax_id=None)
    ]
    assert cp.decide(cp.UpdateCounterparty(ID, clear_tax_id=True), given(registered(tax_id=None))) == []


def test_setting_and_clearing_the_tax_id_at_once_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        cp.decide(cp.UpdateCounterparty(ID, tax_id="BG9", clear_tax_id=True), given(registered()))
    assert refused.value.field == "tax_id"


def test_evolve_folds_every_change() -> None:
    state = given(
        registered(),
        cp.CounterpartyRenamed(counterparty_id=ID, name="Б"),
        cp.CounterpartyKindChanged(counterparty_id=ID, kind="other"),
        cp.CounterpartyTaxIdChanged(counterparty_id=ID, tax_id=None),
        cp.MainManagerAssigned(counterparty_id=ID, main_manager="petar"),
    )
    assert state == cp.Counterparty(ID, "Б", "other", None, "petar", NOW)


def test_moving_to_another_access_group() -> None:
    assert cp.decide(cp.UpdateCounterparty(ID, access_group="south"), given(registered())) == [
        cp.CounterpartyAccessGroupChanged(counterparty_id=ID, access_group="south")
    ]
    assert given(registered(), cp.CounterpartyAccessGroupChanged(counterparty_id=ID, access_group="south")) == (
        cp.Counterparty(ID, "Ромашка ООД", "buyer", "BG111", "ivan", NOW, "south")
    )


def test_registration_in_a_chosen_access_group() -> None:
    [event] = cp.decide(register(access_group="north"), given())
    assert isinstance(event, cp.CounterpartyRegistered) and event.access_group == "north"


def test_every_event_has_a_stable_registered_name() -> None:
    assert cp.catalog.names() == [
        "contacts.CounterpartyAccessGroupChanged",
        "contacts.CounterpartyKindChanged",
        "contacts.CounterpartyRegistered",
        "contacts.CounterpartyRenamed",
        "contacts.CounterpartyTaxIdChanged",
        "contacts.MainManagerAssigned",
        "contacts.TaxIdReleased",
        "contacts.TaxIdReserved",
    ]


def test_tax_ids_are_compared_without_spaces_dashes_or_case() -> None:
    assert cp.normalise_tax_id(" bg 175-074-752 ") == "BG175074752"
    assert cp.tax_id_stream("bg175074752") == cp.tax_id_stream("BG 175 074 752")


def test_the_holder_of_a_tax_id_follows_its_reservations() -> None:
    def reserved(c: str) -> cp.TaxIdReserved:
        return cp.TaxIdReserved(tax_id="BG1", counterparty_id=c)

    def released(c: str) -> cp.TaxIdReleased:
        return cp.TaxIdReleased(tax_id="BG1", counterparty_id=c)

    assert cp.holder_of([]) is None
    assert cp.holder_of([reserved("a")]) == "a"
    assert cp.holder_of([reserved("a"), released("a")]) is None
    assert cp.holder_of([reserved("a"), reserved("b"), released("a")]) == "b"  # a stale release is ignored
