"""Given events, when a command, then events (or a refusal): the reference-data decider."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.domain import reference as ref
from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.events import DomainEvent


def given(*events: DomainEvent) -> ref.State:
    state: ref.State = None
    for event in events:
        state = ref.evolve(state, event)
    return state


def defined(catalog: str, code: str, name: str = "Име", **attributes: Any) -> ref.ReferenceEntryDefined:
    full = ref.clean_attributes(catalog, attributes)
    return ref.ReferenceEntryDefined(catalog=catalog, code=code, name=name, attributes=full)


def refused(command: ref.Command, state: ref.State = None) -> DomainError:
    with pytest.raises(DomainError) as caught:
        ref.decide(command, state)
    return caught.value


def group(code: str, parent: str | None = None, retired: bool = False) -> ref.Ancestor:
    return ref.Ancestor(code=code, parent=parent, retired=retired)


# -- defining ---------------------------------------------------------------------------------------


def test_defining_a_source_records_it_with_its_actuality_period() -> None:
    events = ref.decide(
        ref.DefineEntry("sources", "exhibition", "  Изложение   Пловдив ", {"actuality_days": 90}), None
    )
    assert events == [
        ref.ReferenceEntryDefined(
            catalog="sources", code="exhibition", name="Изложение Пловдив", attributes={"actuality_days": 90}
        )
    ]
    state = given(*events)
    assert state == ref.ReferenceEntry("sources", "exhibition", "Изложение Пловдив", {"actuality_days": 90})


def test_attributes_left_out_take_their_defaults() -> None:
    [event] = ref.decide(ref.DefineEntry("sources", "call", "Call"), None)
    assert isinstance(event, ref.ReferenceEntryDefined)
    assert event.attributes == {"actuality_days": 0}
    [category] = ref.decide(ref.DefineEntry("categories", "vip", "VIP"), None)
    assert isinstance(category, ref.ReferenceEntryDefined)
    assert category.attributes == {"applies_to": "both"}
    [region] = ref.decide(ref.DefineEntry("regions", "north", "Север"), None)
    assert isinstance(region, ref.ReferenceEntryDefined)
    assert region.attributes == {}


def test_a_contact_kind_needs_a_contact_type() -> None:
    assert refused(ref.DefineEntry("contact-kinds", "work-phone", "Work phone")).field == "attributes.type"
    bad = refused(ref.DefineEntry("contact-kinds", "work-phone", "Work phone", {"type": "fax"}))
    assert bad.field == "attributes.type"
    [event] = ref.decide(ref.DefineEntry("contact-kinds", "work-phone", "Work phone", {"type": "phone"}), None)
    assert isinstance(event, ref.ReferenceEntryDefined)
    assert event.attributes == {"type": "phone", "applies_to": "both"}


def test_defining_an_existing_code_is_refused_even_when_it_is_retired() -> None:
    state = given(defined("regions", "north"))
    with pytest.raises(AlreadyExists) as caught:
        ref.decide(ref.DefineEntry("regions", "north", "Other"), state)
    assert caught.value.field == "code"
    retired = given(defined("regions", "north"), ref.ReferenceEntryRetired(catalog="regions", code="north"))
    with pytest.raises(AlreadyExists, match="restore"):
        ref.decide(ref.DefineEntry("regions", "north", "Other"), retired)


@pytest.mark.parametrize("code", ["", "North", "-north", "_x", "a b", "ä", "x" * 65, "a/b"])
def test_badly_formed_codes_are_refused(code: str) -> None:
    assert refused(ref.DefineEntry("regions", code, "Name")).field == "code"


@pytest.mark.parametrize("code", ["a", "0", "north-east", "b2b_clients", "x" * 64])
def test_well_formed_codes_are_taken(code: str) -> None:
    assert ref.decide(ref.DefineEntry("regions", code, "Name"), None)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_names_are_1_to_200_characters(name: str) -> None:
    assert refused(ref.DefineEntry("regions", "north", name)).field == "name"


def test_an_unknown_catalog_is_not_found() -> None:
    with pytest.raises(NotFound) as caught:
        ref.decide(ref.DefineEntry("colours", "red", "Red"), None)
    assert "colours" in str(caught.value)


def test_attributes_of_another_catalog_are_refused_by_name() -> None:
    error = refused(ref.DefineEntry("regions", "north", "North", {"actuality_days": 3}))
    assert error.field == "attributes.actuality_days"


@pytest.mark.parametrize("days", [-1, ref.MAX_ACTUALITY_DAYS + 1, "30", 1.5, True, None])
def test_the_actuality_period_is_a_whole_number_of_days_from_zero(days: object) -> None:
    assert refused(ref.DefineEntry("sources", "call", "Call", {"actuality_days": days})).field == (
        "attributes.actuality_days"
    )


# -- properties -------------------------------------------------------------------------------------


def test_a_choice_property_needs_its_choices_and_they_are_cleaned() -> None:
    missing = refused(ref.DefineEntry("properties", "size", "Size", {"value_type": "choice"}))
    assert missing.field == "attributes.choices"
    empty = refused(ref.DefineEntry("properties", "size", "Size", {"value_type": "choice", "choices": []}))
    assert empty.field == "attributes.choices"
    [event] = ref.decide(
        ref.DefineEntry("properties", "size", "Size", {"value_type": "choice", "choices": [" малък ", "голям"]}), None
    )
    assert isinstance(event, ref.ReferenceEntryDefined)
    assert event.attributes == {"value_type": "choice", "choices": ["малък", "голям"], "applies_to": "both"}


@pytest.mark.parametrize(
    "choices",
    [["a", "A"], ["ok", ""], ["ok", "   "], ["x" * 201], "abc", [1, 2], ["c"] * (ref.MAX_CHOICES + 1)],
)
def test_choices_are_distinct_non_blank_texts(choices: object) -> None:
    error = refused(ref.DefineEntry("properties", "p", "P", {"value_type": "choice", "choices": choices}))
    assert error.field == "attributes.choices"


def test_only_choice_properties_have_choices() -> None:
    error = refused(ref.DefineEntry("properties", "p", "P", {"value_type": "number", "choices": ["1"]}))
    assert error.field == "attributes.choices"
    assert refused(ref.DefineEntry("properties", "p", "P", {})).field == "attributes.value_type"
    assert refused(ref.DefineEntry("properties", "p", "P", {"value_type": "colour"})).field == "attributes.value_type"


def test_a_property_keeps_its_value_type_but_its_choices_may_change() -> None:
    state = given(defined("properties", "size", value_type="choice", choices=["S", "M"]))
    error = refused(ref.ChangeEntry("properties", "size", attributes={"value_type": "string", "choices": []}), state)
    assert error.field == "attributes.value_type"
    assert "cannot change" in str(error)
    # The same value type again is no change at all.
    assert ref.decide(ref.ChangeEntry("properties", "size", attributes={"value_type": "choice"}), state) == []
    [event] = ref.decide(ref.ChangeEntry("properties", "size", attributes={"choices": ["S", "M", "L"]}), state)
    assert isinstance(event, ref.ReferenceEntryChanged)
    assert event.attributes == {"value_type": "choice", "choices": ["S", "M", "L"], "applies_to": "both"}
    emptied = refused(ref.ChangeEntry("properties", "size", attributes={"choices": []}), state)
    assert emptied.field == "attributes.choices"


def test_a_contact_kind_keeps_its_type() -> None:
    state = given(defined("contact-kinds", "mobile", type="phone"))
    assert refused(ref.ChangeEntry("contact-kinds", "mobile", attributes={"type": "email"}), state).field == (
        "attributes.type"
    )
    [event] = ref.decide(ref.ChangeEntry("contact-kinds", "mobile", attributes={"applies_to": "person"}), state)
    assert isinstance(event, ref.ReferenceEntryChanged)
    assert event.attributes == {"type": "phone", "applies_to": "person"}


# -- changing, retiring, restoring ------------------------------------------------------------------


def test_a_change_carries_the_whole_entry_after_it() -> None:
    state = given(defined("sources", "call", "Call", actuality_days=30))
    [event] = ref.decide(ref.ChangeEntry("sources", "call", name="Phone call"), state)
    assert event == ref.ReferenceEntryChanged(
        catalog="sources", code="call", name="Phone call", attributes={"actuality_days": 30}
    )
    [event] = ref.decide(ref.ChangeEntry("sources", "call", attributes={"actuality_days": 0}), state)
    assert event == ref.ReferenceEntryChanged(
        catalog="sources", code="call", name="Call", attributes={"actuality_days": 0}
    )
    assert given(defined("sources", "call", "Call", actuality_days=30), event) == ref.ReferenceEntry(
        "sources", "call", "Call", {"actuality_days": 0}
    )


def test_a_change_that_changes_nothing_records_nothing() -> None:
    state = given(defined("sources", "call", "Call", actuality_days=30))
    assert ref.decide(ref.ChangeEntry("sources", "call", name=" Call ", attributes={"actuality_days": 30}), state) == []


def test_changing_retiring_or_restoring_an_unknown_entry_is_not_found() -> None:
    for command in (
        ref.ChangeEntry("regions", "north", name="N"),
        ref.RetireEntry("regions", "north"),
        ref.RestoreEntry("regions", "north"),
    ):
        with pytest.raises(NotFound):
            ref.decide(command, None)


def test_retire_and_restore_flip_the_entry_and_repeating_them_records_nothing() -> None:
    state = given(defined("regions", "north"))
    retired_events = ref.decide(ref.RetireEntry("regions", "north"), state)
    assert retired_events == [ref.ReferenceEntryRetired(catalog="regions", code="north")]
    retired = given(defined("regions", "north"), *retired_events)
    assert retired is not None and retired.retired
    assert ref.decide(ref.RetireEntry("regions", "north"), retired) == []
    restored_events = ref.decide(ref.RestoreEntry("regions", "north"), retired)
    assert restored_events == [ref.ReferenceEntryRestored(catalog="regions", code="north")]
    restored = given(defined("regions", "north"), *retired_events, *restored_events)
    assert restored is not None and not restored.retired
    assert ref.decide(ref.RestoreEntry("regions", "north"), restored) == []


def test_a_retired_entry_can_still_be_renamed() -> None:
    state = given(defined("regions", "north"), ref.ReferenceEntryRetired(catalog="regions", code="north"))
    [event] = ref.decide(ref.ChangeEntry("regions", "north", name="Север (стар)"), state)
    after = ref.evolve(state, event)
    assert after is not None and after.retired and after.name == "Север (стар)"


# -- groups -----------------------------------------------------------------------------------------


def test_a_top_level_group_needs_no_ancestors() -> None:
    [event] = ref.decide(ref.DefineEntry("groups", "wholesale", "Wholesale"), None)
    assert isinstance(event, ref.ReferenceEntryDefined)
    assert event.attributes == {"parent": None}


def test_a_group_goes_under_an_existing_active_group() -> None:
    command = ref.DefineEntry(
        "groups", "sofia", "Sofia", {"parent": "bulgaria"}, ancestors=(group("bulgaria", "europe"), group("europe"))
    )
    [event] = ref.decide(command, None)
    assert isinstance(event, ref.ReferenceEntryDefined)
    assert event.attributes == {"parent": "bulgaria"}


def test_the_parent_must_exist() -> None:
    error = refused(ref.DefineEntry("groups", "sofia", "Sofia", {"parent": "bulgaria"}, ancestors=()))
    assert error.field == "attributes.parent"
    assert "bulgaria" in str(error)


def test_the_parent_must_not_be_retired() -> None:
    error = refused(
        ref.DefineEntry("groups", "sofia", "Sofia", {"parent": "old"}, ancestors=(group("old", retired=True),))
    )
    assert error.field == "attributes.parent"
    assert "retired" in str(error)


def test_a_group_cannot_be_its_own_parent() -> None:
    state = given(defined("groups", "a"))
    error = refused(ref.ChangeEntry("groups", "a", attributes={"parent": "a"}, ancestors=(group("a"),)), state)
    assert error.field == "attributes.parent"
    assert "inside itself" in str(error)


def test_a_group_cannot_move_under_its_own_descendant() -> None:
    # a ← b ← c (c is under b, b under a); moving a under c would close a cycle.
    state = given(defined("groups", "a"))
    ancestors = (group("c", "b"), group("b", "a"), group("a"))
    error = refused(ref.ChangeEntry("groups", "a", attributes={"parent": "c"}, ancestors=ancestors), state)
    assert error.field == "attributes.parent"
    assert "a → c → b → a" in str(error)


def test_a_group_can_move_to_another_branch_and_back_to_the_top() -> None:
    state = given(defined("groups", "b", parent="a"))
    [moved] = ref.decide(ref.ChangeEntry("groups", "b", attributes={"parent": "x"}, ancestors=(group("x"),)), state)
    assert isinstance(moved, ref.ReferenceEntryChanged)
    assert moved.attributes == {"parent": "x"}
    [top] = ref.decide(ref.ChangeEntry("groups", "b", attributes={"parent": None}), state)
    assert isinstance(top, ref.ReferenceEntryChanged)
    assert top.attributes == {"parent": None}


def test_keeping_the_parent_needs_no_check_even_when_it_was_retired_since() -> None:
    state = given(defined("groups", "b", parent="a"))
    [renamed] = ref.decide(ref.ChangeEntry("groups", "b", name="B2", attributes={"parent": "a"}), state)
    assert isinstance(renamed, ref.ReferenceEntryChanged)
    assert renamed.attributes == {"parent": "a"}


def test_groups_nest_only_so_deep() -> None:
    deep = tuple(
        group(f"g{i}", f"g{i + 1}" if i + 1 < ref.MAX_GROUP_DEPTH else None) for i in range(ref.MAX_GROUP_DEPTH)
    )
    error = refused(ref.DefineEntry("groups", "new", "New", {"parent": "g0"}, ancestors=deep))
    assert "levels deep" in str(error)
    shallower = deep[1:]
    assert ref.decide(ref.DefineEntry("groups", "new", "New", {"parent": "g1"}, ancestors=shallower), None)


def test_a_chain_that_does_not_reach_the_top_is_refused() -> None:
    # What the application hands over when it stopped reading (too deep, or a stored cycle).
    error = refused(ref.DefineEntry("groups", "new", "New", {"parent": "x"}, ancestors=(group("x", "y"),)))
    assert error.field == "attributes.parent"


@pytest.mark.parametrize("parent", ["Bad Code", 5, ""])
def test_a_badly_formed_parent_is_refused(parent: object) -> None:
    assert refused(ref.DefineEntry("groups", "g", "G", {"parent": parent})).field == "attributes.parent"


# -- the stored form --------------------------------------------------------------------------------


def test_stored_events_of_schema_version_1_decode_and_fold() -> None:
    stored: list[tuple[str, dict[str, Any]]] = [
        (
            "contacts.ReferenceEntryDefined",
            {"catalog": "sources", "code": "call", "name": "Call", "attributes": {"actuality_days": 7}},
        ),
        (
            "contacts.ReferenceEntryChanged",
            {"catalog": "sources", "code": "call", "name": "Calls", "attributes": {"actuality_days": 14}},
        ),
        ("contacts.ReferenceEntryRetired", {"catalog": "sources", "code": "call"}),
        ("contacts.ReferenceEntryRestored", {"catalog": "sources", "code": "call"}),
        ("contacts.ReferenceEntryRetired", {"catalog": "sources", "code": "call"}),
    ]
    state = given(*(ref.event_catalog.decode_raw(name, data, 1) for name, data in stored))
    assert state == ref.ReferenceEntry("sources", "call", "Calls", {"actuality_days": 14}, retired=True)
    assert {name for name, _ in stored} | {"contacts.GroupHierarchyLocked", "contacts.GroupHierarchyUnlocked"} == set(
        ref.event_catalog.names()
    )


def test_every_catalog_has_its_stream_and_schema() -> None:
    assert set(ref.CATALOGS) == set(ref.SCHEMAS)
    assert ref.stream_of("contact-kinds", "mobile") == "reference-contact-kinds-mobile"
