"""The kernel's sealing of personal data (ADR 12, 15): values that name their subject, opened with
that subject's key and bound to a purpose; erased ones read as empty."""

from __future__ import annotations

import pytest

from crm_shared import sealing


def test_a_value_sealed_for_a_subject_names_it_and_opens_only_with_its_key_and_purpose() -> None:
    key = sealing.new_key()
    sealed = sealing.seal_for(key, "p-1", "interaction:i-1", "Йорданка")
    assert sealed.startswith("enc2:p-1:") and "Йорданка" not in sealed and sealing.is_sealed(sealed)
    assert sealing.subject_of(sealed) == "p-1" and sealing.subject_of("plain text") is None
    assert sealing.open_for(key, "interaction:i-1", sealed) == "Йорданка"
    with pytest.raises(sealing.SealBroken):
        sealing.open_for(sealing.new_key(), "interaction:i-1", sealed)
    with pytest.raises(sealing.SealBroken):
        sealing.open_for(key, "interaction:i-2", sealed)  # copied into another record
    with pytest.raises(sealing.SealBroken):
        sealing.open_for(key, "interaction:i-1", sealed.replace("enc2:p-1:", "enc2:p-2:"))
    with pytest.raises(ValueError):
        sealing.seal_for(key, "a:b", "x", "text")


def test_a_tree_opens_with_the_keys_of_its_subjects_and_erased_values_read_empty() -> None:
    one, two = sealing.new_key(), sealing.new_key()
    purpose = "interaction:i-1"
    tree = {
        "subject": sealing.seal_for(one, "p-1", purpose, "Среща"),
        "third_parties": [sealing.seal_for(one, "p-1", purpose, "Иван"), "Мария"],
        "basis": {"type": "order", "title": sealing.seal_for(two, "p-2", purpose, "Поръчка")},
        "count": 3,
    }
    assert sealing.subjects_in(tree) == {"p-1", "p-2"}
    opened, erased = sealing.open_tree(tree, {"p-1": one, "p-2": two}, purpose)
    assert opened == {
        "subject": "Среща",
        "third_parties": ["Иван", "Мария"],
        "basis": {"type": "order", "title": "Поръчка"},
        "count": 3,
    }
    assert erased == []
    opened, erased = sealing.open_tree(tree, {"p-1": None, "p-2": two}, purpose)
    assert opened["subject"] == "" and opened["third_parties"] == ["Мария"]
    assert opened["basis"]["title"] == "Поръчка"
    assert erased == ["subject", "third_parties[0]"]


def test_seal_fields_seals_texts_of_the_named_fields_once() -> None:
    key = sealing.new_key()
    data = {"subject": "Среща", "empty": "", "list": ["a", ""], "code": "won"}
    sealed = sealing.seal_fields(data, {"subject", "empty", "list"}, lambda t: sealing.seal_for(key, "p", "x", t))
    assert sealing.is_sealed(sealed["subject"]) and sealed["empty"] == "" and sealed["code"] == "won"
    assert sealing.is_sealed(sealed["list"][0]) and sealed["list"][1] == ""
    again = sealing.seal_fields(sealed, {"subject"}, lambda t: pytest.fail("sealed twice"))
    assert again["subject"] == sealed["subject"]
