"""Given events, when a command, then events (or a refusal): the reference-data decider."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.domain import reference as ref
from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.testing import DeciderSpec, like

spec = DeciderSpec(ref.decide, ref.evolve, None)


def defined(catalog: str, code: str, name: str = "Име", **attributes: Any) -> ref.ReferenceEntryDefined:
    full = ref.clean_attributes(catalog, attributes)
    return ref.ReferenceEntryDefined(catalog=catalog, code=code, name=name, attributes=full)


def group(code: str, parent: str | None = None, retired: bool = False) -> ref.Ancestor:
    return ref.Ancestor(code=code, parent=parent, retired=retired)


# -- defining ---------------------------------------------------------------------------------------


def test_defining_a_source_records_it_with_its_actuality_period() -> None:
    spec.given().when(ref.DefineEntry("sources", "exhibition", "  Изложение   Пловдив ", {"actuality_days": 90})).then(
        ref.ReferenceEntryDefined(
            catalog="sources", code="exhibition", name="Изложение Пловдив", attributes={"actuality_days": 90}
        )
    ).then_state(ref.ReferenceEntry("sources", "exhibition", "Изложение Пловдив", {"actuality_days": 90}))


def test_attributes_left_out_take_their_defaults() -> None:
    spec.given().when(ref.DefineEntry("sources", "call", "Call")).then(
        like(ref.ReferenceEntryDefined, attributes={"actuality_days": 0})
    )
    spec.given().when(ref.DefineEntry("categories", "vip", "VIP")).then(
        like(ref.ReferenceEntryDefined, attributes={"applies_to": "both"})
    )
    spec.given().when(ref.DefineEntry("regions", "north", "Север")).then(like(ref.ReferenceEntryDefined, attributes={}))


def test_a_contact_kind_needs_a_contact_type() -> None:
    spec.given().when(ref.DefineEntry("contact-kinds", "work-phone", "Work phone")).then_raises(
        DomainError, field="attributes.type"
    )
    spec.given().when(ref.DefineEntry("contact-kinds", "work-phone", "Work phone", {"type": "fax"})).then_raises(
        DomainError, field="attributes.type"
    )
    spec.given().when(ref.DefineEntry("contact-kinds", "work-phone", "Work phone", {"type": "phone"})).then(
        like(ref.ReferenceEntryDefined, attributes={"type": "phone", "applies_to": "both"})
    )


def test_defining_an_existing_code_is_refused_even_when_it_is_retired() -> None:
    spec.given(defined("regions", "north")).when(ref.DefineEntry("regions", "north", "Other")).then_raises(
        AlreadyExists, field="code"
    )
    spec.given(defined("regions", "north"), ref.ReferenceEntryRetired(catalog="regions", code="north")).when(
        ref.DefineEntry("regions", "north", "Other")
    ).then_raises(AlreadyExists, match="restore")


@pytest.mark.parametrize("code", ["", "North", "-north", "_x", "a b", "ä", "x" * 65, "a/b"])
def test_badly_formed_codes_are_refused(code: str) -> None:
    spec.given().when(ref.DefineEntry("regions", code, "Name")).then_raises(DomainError, field="code")


@pytest.mark.parametrize("code", ["a", "0", "north-east", "b2b_clients", "x" * 64])
def test_well_formed_codes_are_taken(code: str) -> None:
    spec.given().when(ref.DefineEntry("regions", code, "Name")).then(like(ref.ReferenceEntryDefined, code=code))


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_names_are_1_to_200_characters(name: str) -> None:
    spec.given().when(ref.DefineEntry("regions", "north", name)).then_raises(DomainError, field="name")


def test_an_unknown_catalog_is_not_found() -> None:
    spec.given().when(ref.DefineEntry("colours", "red", "Red")).then_raises(NotFound, match="colours")


def test_attributes_of_another_catalog_are_refused_by_name() -> None:
    spec.given().when(ref.DefineEntry("regions", "north", "North", {"actuality_days": 3})).then_raises(
        DomainError, field="attributes.actuality_days"
    )


@pytest.mark.parametrize("days", [-1, ref.MAX_ACTUALITY_DAYS + 1, "30", 1.5, True, None])
def test_the_actuality_period_is_a_whole_number_of_days_from_zero(days: object) -> None:
    spec.given().when(ref.DefineEntry("sources", "call", "Call", {"actuality_days": days})).then_raises(
        DomainError, field="attributes.actuality_days"
    )


# -- properties -------------------------------------------------------------------------------------


def test_a_choice_property_needs_its_choices_and_they_are_cleaned() -> None:
    spec.given().when(ref.DefineEntry("properties", "size", "Size", {"value_type": "choice"})).then_raises(
        DomainError, field="attributes.choices"
    )
    spec.given().when(
        ref.DefineEntry("properties", "size", "Size", {"value_type": "choice", "choices": []})
    ).then_raises(DomainError, field="attributes.choices")
    spec.given().when(
        ref.DefineEntry("properties", "size", "Size", {"value_type": "choice", "choices": [" малък ", "голям"]})
    ).then(
        like(
            ref.ReferenceEntryDefined,
            attributes={"value_type": "choice", "choices": ["малък", "голям"], "applies_to": "both"},
        )
    )


@pytest.mark.parametrize(
    "choices",
    [["a", "A"], ["ok", ""], ["ok", "   "], ["x" * 201], "abc", [1, 2], ["c"] * (ref.MAX_CHOICES + 1)],
)
def test_choices_are_distinct_non_blank_texts(choices: object) -> None:
    spec.given().when(
        ref.DefineEntry("properties", "p", "P", {"value_type": "choice", "choices": choices})
    ).then_raises(DomainError, field="attributes.choices")


def test_only_choice_properties_have_choices() -> None:
    spec.given().when(ref.DefineEntry("properties", "p", "P", {"value_type": "number", "choices": ["1"]})).then_raises(
        DomainError, field="attributes.choices"
    )
    spec.given().when(ref.DefineEntry("properties", "p", "P", {})).then_raises(
        DomainError, field="attributes.value_type"
    )
    spec.given().when(ref.DefineEntry("properties", "p", "P", {"value_type": "colour"})).then_raises(
        DomainError, field="attributes.value_type"
    )


def test_a_property_keeps_its_value_type_but_its_choices_may_change() -> None:
    size = spec.given(defined("properties", "size", value_type="choice", choices=["S", "M"]))
    size.when(ref.ChangeEntry("properties", "size", attributes={"value_type": "string", "choices": []})).then_raises(
        DomainError, field="attributes.value_type", match="cannot change"
    )
    # The same value type again is no change at all.
    size.when(ref.ChangeEntry("properties", "size", attributes={"value_type": "choice"})).then_nothing()
    size.when(ref.ChangeEntry("properties", "size", attributes={"choices": ["S", "M", "L"]})).then(
        like(
            ref.ReferenceEntryChanged,
            attributes={"value_type": "choice", "choices": ["S", "M", "L"], "applies_to": "both"},
        )
    )
    size.when(ref.ChangeEntry("properties", "size", attributes={"choices": []})).then_raises(
        DomainError, field="attributes.choices"
    )


def test_a_contact_kind_keeps_its_type() -> None:
    mobile = spec.given(defined("contact-kinds", "mobile", type="phone"))
    mobile.when(ref.ChangeEntry("contact-kinds", "mobile", attributes={"type": "email"})).then_raises(
        DomainError, field="attributes.type"
    )
    mobile.when(ref.ChangeEntry("contact-kinds", "mobile", attributes={"applies_to": "person"})).then(
        like(ref.ReferenceEntryChanged, attributes={"type": "phone", "applies_to": "person"})
    )


# -- changing, retiring, restoring ------------------------------------------------------------------


def test_a_change_carries_the_whole_entry_after_it() -> None:
    call = spec.given(defined("sources", "call", "Call", actuality_days=30))
    call.when(ref.ChangeEntry("sources", "call", name="Phone call")).then(
        ref.ReferenceEntryChanged(catalog="sources", code="call", name="Phone call", attributes={"actuality_days": 30})
    )
    call.when(ref.ChangeEntry("sources", "call", attributes={"actuality_days": 0})).then(
        ref.ReferenceEntryChanged(catalog="sources", code="call", name="Call", attributes={"actuality_days": 0})
    ).then_state(ref.ReferenceEntry("sources", "call", "Call", {"actuality_days": 0}))


def test_a_change_that_changes_nothing_records_nothing() -> None:
    spec.given(defined("sources", "call", "Call", actuality_days=30)).when(
        ref.ChangeEntry("sources", "call", name=" Call ", attributes={"actuality_days": 30})
    ).then_nothing()


def test_changing_retiring_or_restoring_an_unknown_entry_is_not_found() -> None:
    for command in (
        ref.ChangeEntry("regions", "north", name="N"),
        ref.RetireEntry("regions", "north"),
        ref.RestoreEntry("regions", "north"),
    ):
        spec.given().when(command).then_raises(NotFound)


def test_retire_and_restore_flip_the_entry_and_repeating_them_records_nothing() -> None:
    retired = ref.ReferenceEntryRetired(catalog="regions", code="north")
    restored = ref.ReferenceEntryRestored(catalog="regions", code="north")
    spec.given(defined("regions", "north")).when(ref.RetireEntry("regions", "north")).then(retired).then_state(
        like(ref.ReferenceEntry, retired=True)
    )
    spec.given(defined("regions", "north"), retired).when(ref.RetireEntry("regions", "north")).then_nothing()
    spec.given(defined("regions", "north"), retired).when(ref.RestoreEntry("regions", "north")).then(
        restored
    ).then_state(like(ref.ReferenceEntry, retired=False))
    spec.given(defined("regions", "north"), retired, restored).when(ref.RestoreEntry("regions", "north")).then_nothing()


def test_a_retired_entry_can_still_be_renamed() -> None:
    spec.given(defined("regions", "north"), ref.ReferenceEntryRetired(catalog="regions", code="north")).when(
        ref.ChangeEntry("regions", "north", name="Север (стар)")
    ).then(like(ref.ReferenceEntryChanged, name="Север (стар)")).then_state(
        like(ref.ReferenceEntry, retired=True, name="Север (стар)")
    )


# -- groups -----------------------------------------------------------------------------------------


def test_a_top_level_group_needs_no_ancestors() -> None:
    spec.given().when(ref.DefineEntry("groups", "wholesale", "Wholesale")).then(
        like(ref.ReferenceEntryDefined, attributes={"parent": None})
    )


def test_a_group_goes_under_an_existing_active_group() -> None:
    command = ref.DefineEntry(
        "groups", "sofia", "Sofia", {"parent": "bulgaria"}, ancestors=(group("bulgaria", "europe"), group("europe"))
    )
    spec.given().when(command).then(like(ref.ReferenceEntryDefined, attributes={"parent": "bulgaria"}))


def test_the_parent_must_exist() -> None:
    spec.given().when(ref.DefineEntry("groups", "sofia", "Sofia", {"parent": "bulgaria"}, ancestors=())).then_raises(
        DomainError, field="attributes.parent", match="bulgaria"
    )


def test_the_parent_must_not_be_retired() -> None:
    spec.given().when(
        ref.DefineEntry("groups", "sofia", "Sofia", {"parent": "old"}, ancestors=(group("old", retired=True),))
    ).then_raises(DomainError, field="attributes.parent", match="retired")


def test_a_group_cannot_be_its_own_parent() -> None:
    spec.given(defined("groups", "a")).when(
        ref.ChangeEntry("groups", "a", attributes={"parent": "a"}, ancestors=(group("a"),))
    ).then_raises(DomainError, field="attributes.parent", match="inside itself")


def test_a_group_cannot_move_under_its_own_descendant() -> None:
    # a ← b ← c (c is under b, b under a); moving a under c would close a cycle.
    ancestors = (group("c", "b"), group("b", "a"), group("a"))
    spec.given(defined("groups", "a")).when(
        ref.ChangeEntry("groups", "a", attributes={"parent": "c"}, ancestors=ancestors)
    ).then_raises(DomainError, field="attributes.parent", match="a → c → b → a")


def test_a_group_can_move_to_another_branch_and_back_to_the_top() -> None:
    b = spec.given(defined("groups", "b", parent="a"))
    b.when(ref.ChangeEntry("groups", "b", attributes={"parent": "x"}, ancestors=(group("x"),))).then(
        like(ref.ReferenceEntryChanged, attributes={"parent": "x"})
    )
    b.when(ref.ChangeEntry("groups", "b", attributes={"parent": None})).then(
        like(ref.ReferenceEntryChanged, attributes={"parent": None})
    )


def test_keeping_the_parent_needs_no_check_even_when_it_was_retired_since() -> None:
    spec.given(defined("groups", "b", parent="a")).when(
        ref.ChangeEntry("groups", "b", name="B2", attributes={"parent": "a"})
    ).then(like(ref.ReferenceEntryChanged, attributes={"parent": "a"}))


def test_groups_nest_only_so_deep() -> None:
    deep = tuple(
        group(f"g{i}", f"g{i + 1}" if i + 1 < ref.MAX_GROUP_DEPTH else None) for i in range(ref.MAX_GROUP_DEPTH)
    )
    spec.given().when(ref.DefineEntry("groups", "new", "New", {"parent": "g0"}, ancestors=deep)).then_raises(
        DomainError, match="levels deep"
    )
    shallower = deep[1:]
    spec.given().when(ref.DefineEntry("groups", "new", "New", {"parent": "g1"}, ancestors=shallower)).then(
        like(ref.ReferenceEntryDefined, code="new", attributes={"parent": "g1"})
    )


def test_a_chain_that_does_not_reach_the_top_is_refused() -> None:
    # What the application hands over when it stopped reading (too deep, or a stored cycle).
    spec.given().when(
        ref.DefineEntry("groups", "new", "New", {"parent": "x"}, ancestors=(group("x", "y"),))
    ).then_raises(DomainError, field="attributes.parent")


@pytest.mark.parametrize("parent", ["Bad Code", 5, ""])
def test_a_badly_formed_parent_is_refused(parent: object) -> None:
    spec.given().when(ref.DefineEntry("groups", "g", "G", {"parent": parent})).then_raises(
        DomainError, field="attributes.parent"
    )


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
    spec.given(*(ref.event_catalog.decode_raw(name, data, 1) for name, data in stored)).then_state(
        ref.ReferenceEntry("sources", "call", "Calls", {"actuality_days": 14}, retired=True)
    )
    assert {name for name, _ in stored} | {"contacts.GroupHierarchyLocked", "contacts.GroupHierarchyUnlocked"} == set(
        ref.event_catalog.names()
    )


def test_every_catalog_has_its_stream_and_schema() -> None:
    assert set(ref.CATALOGS) == set(ref.SCHEMAS)
    assert ref.stream_of("contact-kinds", "mobile") == "reference-contact-kinds-mobile"
