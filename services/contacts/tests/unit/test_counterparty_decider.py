"""Given events, when a command, then events (or a refusal): the counterparty decider."""

from __future__ import annotations

from datetime import UTC, date, datetime

from crm_contacts.domain import counterparty as cp
from crm_contacts.domain.contact_info import ContactEntry
from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.testing import DeciderSpec, like

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
ID = "c-1"
spec = DeciderSpec(cp.decide, cp.evolve, None)


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
    spec.given().when(register()).then(registered())


def test_registration_normalises_whitespace_in_the_name() -> None:
    spec.given().when(register(name="  Ромашка \t ООД ")).then(like(cp.CounterpartyRegistered, name="Ромашка ООД"))


def test_a_blank_name_is_refused_naming_the_field() -> None:
    spec.given().when(register(name="   ")).then_raises(DomainError, field="name")


def test_relations_are_a_non_empty_set_in_a_fixed_order() -> None:
    spec.given().when(register(relations=("supplier", "buyer", "supplier"))).then(
        like(cp.CounterpartyRegistered, relations=["buyer", "supplier"])
    )
    for bad in ((), ("partner",)):
        spec.given().when(register(relations=bad)).then_raises(DomainError, field="relations")


def test_registration_brings_contact_information_properties_categories_and_a_source() -> None:
    spec.given().when(
        register(
            contact_info=(email("a@x.bg"), email("b@x.bg")),
            properties={"size": 10, "vip": None},
            categories=("vip", "vip", "retail"),
            source=cp.SourceRecord("exhibition", date(2026, 11, 1)),
            managers=("maria", "ivan"),
        )
    ).then(
        like(cp.CounterpartyRegistered, managers=["ivan", "maria"]),
        cp.ContactInformationChanged(
            counterparty_id=ID,
            entries=[
                {"kind": "email", "type": "email", "value": "a@x.bg", "key": "a@x.bg", "main": True, "comment": ""},
                {"kind": "email", "type": "email", "value": "b@x.bg", "key": "b@x.bg", "main": False, "comment": ""},
            ],
        ),
        cp.CounterpartyPropertiesChanged(counterparty_id=ID, values={"size": 10}),
        cp.CounterpartyCategoriesChanged(counterparty_id=ID, categories=["vip", "retail"]),
        cp.InformationSourceRecorded(counterparty_id=ID, source="exhibition", on=date(2026, 11, 1)),
    )


def test_two_main_entries_of_one_kind_are_refused() -> None:
    spec.given().when(register(contact_info=(email("a@x.bg", main=True), email("b@x.bg", main=True)))).then_raises(
        DomainError, field="contact_info"
    )


def test_a_counterparty_cannot_be_its_own_head() -> None:
    spec.given().when(register(head_counterparty_id=ID)).then_raises(DomainError, field="head_counterparty_id")
    spec.given(registered()).when(update(head_counterparty_id=ID)).then_raises(DomainError)


def test_registering_twice_is_refused() -> None:
    spec.given(registered()).when(register()).then_raises(AlreadyExists)


def test_updating_a_missing_counterparty_is_refused() -> None:
    spec.given().when(update(name="X")).then_raises(NotFound)


def test_an_update_records_one_event_per_changed_part() -> None:
    spec.given(registered()).when(
        update(
            name="Лайка АД",
            relations=["supplier"],
            tax_id="BG222",
            main_manager="maria",
            comment=" loyal ",
            region="sofia",
            group="wholesale",
        )
    ).then(
        cp.CounterpartyRenamed(counterparty_id=ID, name="Лайка АД"),
        cp.CounterpartyRelationsChanged(counterparty_id=ID, relations=["supplier"]),
        cp.CounterpartyTaxIdChanged(counterparty_id=ID, tax_id="BG222"),
        cp.CounterpartyDetailsChanged(counterparty_id=ID, changes={"region": "sofia", "comment": "loyal"}),
        cp.CounterpartyRegrouped(counterparty_id=ID, group="wholesale"),
        cp.MainManagerAssigned(counterparty_id=ID, main_manager="maria"),
    )


def test_an_update_that_changes_nothing_records_nothing() -> None:
    unchanged = update(name="Ромашка  ООД", relations=["buyer"], legal_form="legal", managers=[], categories=[])
    spec.given(registered()).when(unchanged).then_nothing()


def test_clearing_the_tax_id() -> None:
    spec.given(registered()).when(update(tax_id=None)).then(
        cp.CounterpartyTaxIdChanged(counterparty_id=ID, tax_id=None)
    )
    spec.given(registered(tax_id=None)).when(update(tax_id=None)).then_nothing()


def test_fields_that_cannot_be_changed_are_refused_by_name() -> None:
    spec.given(registered()).when(update(registered_at=NOW)).then_raises(DomainError, field="registered_at")


def test_the_main_manager_is_always_among_the_managers() -> None:
    spec.given(registered()).when(update(main_manager="maria", managers=["petar"])).then_state(
        like(cp.Counterparty, main_manager="maria", managers=("maria", "petar"))
    )


def test_properties_are_merged_and_none_removes_one() -> None:
    spec.given(registered(), cp.CounterpartyPropertiesChanged(counterparty_id=ID, values={"a": 1, "b": "x"})).when(
        update(properties={"a": None, "c": True})
    ).then(cp.CounterpartyPropertiesChanged(counterparty_id=ID, values={"b": "x", "c": True}))


def test_an_archived_counterparty_takes_no_changes_until_restored() -> None:
    spec.given(registered()).when(cp.ArchiveCounterparty(ID, "closed")).then(
        cp.CounterpartyArchived(counterparty_id=ID, reason="closed")
    ).then_state(like(cp.Counterparty, archived=True))
    archived = spec.given(registered(), cp.CounterpartyArchived(counterparty_id=ID, reason="closed"))
    archived.when(update(name="Нов")).then_raises(DomainError, field="archived")
    archived.when(cp.ArchiveCounterparty(ID)).then_nothing()
    restored = spec.given(
        registered(), cp.CounterpartyArchived(counterparty_id=ID), cp.CounterpartyRestored(counterparty_id=ID)
    )
    restored.then_state(like(cp.Counterparty, archived=False))
    restored.when(update(name="Нов")).then(cp.CounterpartyRenamed(counterparty_id=ID, name="Нов"))


def test_the_dated_history_of_sources() -> None:
    def dated(state: cp.State) -> None:
        assert state is not None
        assert [s.source for s in state.sources] == ["exhibition", "call"]
        assert state.source_on(date(2026, 2, 1)) == cp.SourceRecord("exhibition", date(2026, 1, 10))
        assert state.source_on(date(2026, 1, 1)) is None

    history = spec.given(
        registered(),
        cp.InformationSourceRecorded(counterparty_id=ID, source="call", on=date(2026, 3, 1)),
        cp.InformationSourceRecorded(counterparty_id=ID, source="exhibition", on=date(2026, 1, 10)),
    )
    history.then_state(dated)
    history.when(cp.RecordSource(ID, "call", date(2026, 3, 1))).then_nothing()


def test_merging_a_duplicate_archives_it_for_good_and_the_survivor_takes_what_it_brings() -> None:
    duplicate = spec.given(
        registered(counterparty_id="c-2", managers=["ivan", "petar"]),
        cp.ContactInformationChanged(
            counterparty_id="c-2", entries=[{"kind": "email", "type": "email", "value": "d@x.bg", "key": "d@x.bg"}]
        ),
        cp.CounterpartyCategoriesChanged(counterparty_id="c-2", categories=["vip"]),
    )
    duplicate_state = duplicate.state
    assert duplicate_state is not None
    duplicate.when(cp.MarkMerged("c-2", "c-2")).then_raises(DomainError)
    duplicate.when(cp.MarkMerged("c-2", ID)).then(cp.CounterpartyMerged(counterparty_id="c-2", into=ID)).then_state(
        like(cp.Counterparty, archived=True, merged_into=ID)
    )
    merged = spec.given(registered(counterparty_id="c-2"), cp.CounterpartyMerged(counterparty_id="c-2", into=ID))
    merged.when(cp.RestoreCounterparty("c-2")).then_raises(DomainError)
    spec.given(registered()).when(cp.Absorb(ID, duplicate_state)).then_state(
        like(
            cp.Counterparty,
            merged=("c-2",),
            contact_info=(ContactEntry("email", "email", "d@x.bg", "d@x.bg", main=True),),
            categories=("vip",),
            managers=("ivan", "petar"),
        )
    )


def test_version_2_events_fold_into_relations() -> None:
    spec.given(registered(), cp.CounterpartyKindChanged(counterparty_id=ID, kind="other")).then_state(
        like(cp.Counterparty, relations=("other",))
    )


def test_moving_to_another_access_group() -> None:
    spec.given(registered()).when(update(access_group="south")).then(
        cp.CounterpartyAccessGroupChanged(counterparty_id=ID, access_group="south")
    )


def test_registration_in_a_chosen_access_group() -> None:
    spec.given().when(register(access_group="north")).then(like(cp.CounterpartyRegistered, access_group="north"))


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


def test_an_unconfirmed_claimant_becomes_the_holder_when_the_holder_lets_the_tax_id_go() -> None:
    def reserved(c: str) -> cp.TaxIdReserved:
        return cp.TaxIdReserved(tax_id="BG1", counterparty_id=c)

    def unconfirmed(c: str) -> cp.TaxIdClaimedUnconfirmed:
        return cp.TaxIdClaimedUnconfirmed(tax_id="BG1", counterparty_id=c, access_group="south")

    def released(c: str) -> cp.TaxIdReleased:
        return cp.TaxIdReleased(tax_id="BG1", counterparty_id=c)

    assert cp.holder_of([reserved("a"), unconfirmed("b")]) == "a"
    assert cp.holder_of([reserved("a"), unconfirmed("b"), unconfirmed("c"), released("a")]) == "b"  # oldest first
    assert cp.holder_of([reserved("a"), unconfirmed("b"), unconfirmed("c"), released("a"), released("b")]) == "c"
    assert cp.holder_of([reserved("a"), unconfirmed("b"), released("b"), released("a")]) is None
    assert cp.holder_of([reserved("a"), unconfirmed("b"), released("c")]) == "a"  # not a claimant: nothing
