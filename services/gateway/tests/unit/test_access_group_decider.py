"""Given events, when a command, then events (or a refusal): the access-group decider."""

from __future__ import annotations

import json
from pathlib import Path

from crm_gateway.domain import access_group as g
from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.testing import DeciderSpec, like

spec = DeciderSpec(g.decide, g.evolve, None)
DEFINED = g.AccessGroupDefined(code="sofia", name="Sofia office")


def test_define_records_the_code_and_a_cleaned_name() -> None:
    spec.given().when(g.DefineGroup("sofia", "  Sofia   office ")).then(DEFINED).then_state(
        like(g.AccessGroup, code="sofia", name="Sofia office", retired=False)
    )


def test_a_code_is_lower_case_letters_digits_dash_and_underscore() -> None:
    for bad in ("Sofia", "-x", "", "софия", "a b", "x" * 65):
        spec.given().when(g.DefineGroup(bad, "N")).then_raises(DomainError, field="code")
    spec.given().when(g.DefineGroup("north_2-b", "N")).then(like(g.AccessGroupDefined, code="north_2-b"))


def test_a_name_is_required_and_bounded() -> None:
    for bad in ("   ", "x" * 201, "a\x07b"):
        spec.given().when(g.DefineGroup("sofia", bad)).then_raises(DomainError, field="name")


def test_a_taken_code_is_a_conflict_naming_code_even_when_retired() -> None:
    spec.given(DEFINED).when(g.DefineGroup("sofia", "Other")).then_raises(AlreadyExists, field="code")
    spec.given(DEFINED, g.AccessGroupRetired(code="sofia")).when(g.DefineGroup("sofia", "Other")).then_raises(
        AlreadyExists, field="code"
    )


def test_rename_retire_and_restore() -> None:
    spec.given(DEFINED).when(g.ChangeGroup("sofia", name="Sofia")).then(
        g.AccessGroupRenamed(code="sofia", name="Sofia")
    )
    spec.given(DEFINED).when(g.ChangeGroup("sofia", retired=True)).then(g.AccessGroupRetired(code="sofia")).then_state(
        like(g.AccessGroup, retired=True)
    )
    spec.given(DEFINED, g.AccessGroupRetired(code="sofia")).when(g.ChangeGroup("sofia", retired=False)).then(
        g.AccessGroupRestored(code="sofia")
    )


def test_a_change_to_nothing_new_records_nothing() -> None:
    spec.given(DEFINED).when(g.ChangeGroup("sofia", name="Sofia office", retired=False)).then_nothing()
    spec.given(DEFINED, g.AccessGroupRetired(code="sofia")).when(g.ChangeGroup("sofia", retired=True)).then_nothing()


def test_changing_a_missing_group_is_not_found() -> None:
    spec.given().when(g.ChangeGroup("nowhere", name="X")).then_raises(NotFound)


def test_adopting_a_group_granted_before_the_catalogue_keeps_its_old_code_and_is_idempotent() -> None:
    spec.given().when(g.AdoptGroup("Sofia Office")).then(g.AccessGroupDefined(code="Sofia Office", name="Sofia Office"))
    spec.given(DEFINED).when(g.AdoptGroup("sofia")).then_nothing()
    spec.given().when(g.AdoptGroup(" x")).then_raises(DomainError, field="code")


def test_golden_access_group_events_decode_and_fold() -> None:
    """Every past version of every stored access-group event still decodes (golden files, never edited)."""
    files = sorted((Path(__file__).resolve().parents[1] / "golden" / "access_groups").glob("*.json"))
    seen: set[str] = set()
    for file in files:
        state: g.State = None
        for stored in json.loads(file.read_text(encoding="utf-8")):
            state = g.evolve(state, g.catalog.decode_raw(stored["type"], stored["data"], stored["schema_version"]))
            seen.add(stored["type"])
        assert state == g.AccessGroup(code="sofia", name="Sofia office", retired=False)
    assert seen == set(g.catalog.names()), "every event type needs a golden sample"
