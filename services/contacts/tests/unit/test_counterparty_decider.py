"""Given events, when a command, then events (or a refusal): the counterparty decider."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm_contacts.domain import counterparty as cp
from crm_contacts.domain.contact_info import ContactEntry
from crm_shared.errors import AlreadyExists, DomainError, NotFound

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
ID = "c-1"


def registered(**overrides: object) -> cp.CounterpartyRegistered:
    fields: dict[str, object] = {
        "counterparty_id": ID,
        "name": "Ромашка ООД",
        "relations": ["buyer"],
        "tax_id": "BG111",
        "main_manager": "ivan",
        "registered_at": NOW,
        "access_group": "general",
        "managers": ["ivan"],
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
        "relations": ("buyer",),
        "tax_id": "BG111",
        "main_manager": "ivan",
        "now": NOW,
    }
    fields.update(overrides)
    return cp.RegisterCounterparty(**fields)  # type: ignore[arg-type]


def update(**changes: object) -> cp.UpdateCounterparty:
    return cp.UpdateCounterparty(ID, changes)


def email(value: str, *, main: bool = False, kind: str = "email") -> ContactEntry:
    return ContactEntry(kind, "email", value, value.casefold(), main)


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


def test_relations_are_a_non_empty_set_in_a_fixed_order() -> None:
    [event] = cp.decide(register(relations=("supplier", "buyer", "supplier")), given())
    assert isinstance(event, cp.CounterpartyRegistered) and event.relations == ["buyer", "supplier"]
    for bad in ((), ("partner",)):
        with pytest.raises(DomainError) as refused:
            cp.decide(register(relations=bad), given())
        assert refused.value.field == "relations"


def test_registration_brings_contact_information_properties_categories_and_a_source() -> None:
    events = cp.decide(
        register(
            contact_info=(email("a@x.bg"), email("b@x.bg")),
            properties={"size": 10, "vip": None},
            categories=("vip", "vip", "retail"),
            source=cp.SourceRecord("exhibition", date(2026, 11, 1)),
            managers=("maria", "ivan"),
        ),
        given(),
    )
    first, info, props, categories, source = events
    assert isinstance(first, cp.CounterpartyRegistered) and first.managers == ["ivan", "maria"]
    assert isinstance(info, cp.ContactInformationChanged)
    assert [(e["value"], e["main"]) for e in info.entries] == [("a@x.bg", True), ("b@x.bg", False)]
    assert props == cp.CounterpartyPropertiesChanged(counterparty_id=ID, values={"size": 10})
    assert categories == cp.CounterpartyCategoriesChanged(counterparty_id=ID, categories=["vip", "retail"])
    assert source == cp.InformationSourceRecorded(counterparty_id=ID, source="exhibition", on=date(2026, 11, 1))


def test_two_main_entries_of_one_kind_are_refused() -> None:
    with pytest.raises(DomainError) as refused:
        cp.decide(register(contact_info=(email("a@x.bg", main=True), email("b@x.bg", main=True))), given())
    assert refused.value.field == "contact_info"


def test_a_counterparty_cannot_be_its_own_head() -> None:
    with pytest.raises(DomainError) as refused:
        cp.decide(register(head_counterparty_id=ID), given())
    assert refused.value.field == "head_counterparty_id"
    with pytest.raises(DomainError):
        cp.decide(update(head_counterparty_id=ID), given(registered()))


def test_registering_twice_is_refused() -> None:
    with pytest.raises(AlreadyExists):
        cp.decide(register(), given(registered()))


def test_updating_a_missing_counterparty_is_refused() -> None:
    with pytest.raises(NotFound):
        cp.decide(update(name="X"), given())


def test_an_update_records_one_event_per_changed_part() -> None:
    events = cp.decide(
        update(
            name="Лайка АД",
            relations=["supplier"],
            tax_id="BG222",
            main_manager="maria",
            comment=" loyal ",
            region="sofia",
            group="wholesale",
        ),
        given(registered()),
    )
    assert events == [
        cp.CounterpartyRenamed(counterparty_id=ID, name="Лайка АД"),
        cp.CounterpartyRelationsChanged(counterparty_id=ID, relations=["supplier"]),
        cp.CounterpartyTaxIdChanged(counterparty_id=ID, tax_id="BG222"),
        cp.CounterpartyDetailsChanged(counterparty_id=ID, changes={"region": "sofia", "comment": "loyal"}),
        cp.CounterpartyRegrouped(counterparty_id=ID, group="wholesale"),
        cp.MainManagerAssigned(counterparty_id=ID, main_manager="maria"),
    ]


def test_an_update_that_changes_nothing_records_nothing() -> None:
    unchanged = update(name="Ромашка  ООД", relations=["buyer"], legal_form="legal", managers=[], categories=[])
    assert cp.decide(unchanged, given(registered())) == []


def test_clearing_the_tax_id() -> None:
    assert cp.decide(update(tax_id=None), given(registered())) == [
        cp.CounterpartyTaxIdChanged(counterparty_id=ID, tax_id=None)
    ]
    assert cp.decide(update(tax_id=None), given(registered(tax_id=None))) == []


def test_fields_that_cannot_be_changed_are_refused_by_name() -> None:
    with pytest.raises(DomainError) as refused:
        cp.decide(update(registered_at=NOW), given(registered()))
    assert refused.value.field == "registered_at"


def test_the_main_manager_is_always_among_the_managers() -> None:
    state = given(registered(), *cp.decide(update(main_manager="maria", managers=["petar"]), given(registered())))
    assert state is not None and state.main_manager == "maria" and state.managers == ("maria", "petar")


def test_properties_are_merged_and_none_removes_one() -> None:
    state = given(registered(), cp.CounterpartyPropertiesChanged(counterparty_id=ID, values={"a": 1, "b": "x"}))
    assert cp.decide(update(properties={"a": None, "c": True}), state) == [
        cp.CounterpartyPropertiesChanged(counterparty_id=ID, values={"b": "x", "c": True})
    ]


def test_an_archived_counterparty_takes_no_changes_until_restored() -> None:
    archived = given(registered(), *cp.decide(cp.ArchiveCounterparty(ID, "closed"), given(registered())))
    assert archived is not None and archived.archived
    with pytest.raises(DomainError) as refused:
        cp.decide(update(name="Нов"), archived)
    assert refused.value.field == "archived"
    assert cp.decide(cp.ArchiveCounterparty(ID), archived) == []
    restored = given(
        registered(), cp.CounterpartyArchived(counterparty_id=ID), cp.CounterpartyRestored(counterparty_id=ID)
    )
    assert restored is not None and not restored.archived
    assert cp.decide(update(name="Нов"), restored) == [cp.CounterpartyRenamed(counterparty_id=ID, name="Нов")]


def test_the_dated_history_of_sources() -> None:
    state = given(
        registered(),
        cp.InformationSourceRecorded(counterparty_id=ID, source="call", on=date(2026, 3, 1)),
        cp.InformationSourceRecorded(counterparty_id=ID, source="exhibition", on=date(2026, 1, 10)),
    )
    assert state is not None
    assert [s.source for s in state.sources] == ["exhibition", "call"]
    assert state.source_on(date(2026, 2, 1)) == cp.SourceRecord("exhibition", date(2026, 1, 10))
    assert state.source_on(date(2026, 1, 1)) is None
    assert cp.decide(cp.RecordSource(ID, "call", date(2026, 3, 1)), state) == []


def test_merging_a_duplicate_archives_it_for_good_and_the_survivor_takes_what_it_brings() -> None:
    duplicate = given(
        registered(counterparty_id="c-2", managers=["ivan", "petar"]),
        cp.ContactInformationChanged(
            counterparty_id="c-2", entries=[{"kind": "email", "type": "email", "value": "d@x.bg", "key": "d@x.bg"}]
        ),
        cp.CounterpartyCategoriesChanged(counterparty_id="c-2", categories=["vip"]),
    )
    assert duplicate is not None
    with pytest.raises(DomainError):
        cp.decide(cp.MarkMerged("c-2", "c-2"), duplicate)
    merged = given(registered(counterparty_id="c-2"), *cp.decide(cp.MarkMerged("c-2", ID), duplicate))
    assert merged is not None and merged.archived and merged.merged_into == ID
    with pytest.raises(DomainError):
        cp.decide(cp.RestoreCounterparty("c-2"), merged)
    survivor = given(registered(), *cp.decide(cp.Absorb(ID, duplicate), given(registered())))
    assert survivor is not None
    assert survivor.merged == ("c-2",)
    assert [e.value for e in survivor.contact_info] == ["d@x.bg"] and survivor.contact_info[0].main
    assert survivor.categories == ("vip",) and survivor.managers == ("ivan", "petar")


def test_version_2_events_fold_into_relations() -> None:
    state = given(registered(), cp.CounterpartyKindChanged(counterparty_id=ID, kind="other"))
    assert state is not None and state.relations == ("other",)


def test_moving_to_another_access_group() -> None:
    assert cp.decide(update(access_group="south"), given(registered())) == [
        cp.CounterpartyAccessGroupChanged(counterparty_id=ID, access_group="south")
    ]


def test_registration_in_a_chosen_access_group() -> None:
    [event] = cp.decide(register(access_group="north"), given())
    assert isinstance(event, cp.CounterpartyRegistered) and event.access_group == "north"


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
