"""Contact information values: each type validated and normalised, one main entry per kind."""

from __future__ import annotations

import pytest

from crm_contacts.domain.contact_info import ContactEntry, normalise, with_main_rule
from crm_shared.errors import DomainError


@pytest.mark.parametrize(
    ("type_", "raw", "value", "key"),
    [
        ("phone", "0888 123 456", "+359888123456", "+359888123456"),
        ("phone", "+49 30 901820", "+4930901820", "+4930901820"),
        ("phone", "(02) 987-65-43", "+35929876543", "+35929876543"),
        ("email", "Ivan.Petrov@Example.COM", "Ivan.Petrov@example.com", "ivan.petrov@example.com"),
        (
            "email",
            "офис@пример.бг".replace("офис", "office"),
            "office@xn--e1afmkfd.xn--90ae",
            "office@xn--e1afmkfd.xn--90ae",
        ),
        ("web", "Example.com/Path", "https://example.com/Path", "https://example.com/path"),
        ("web", "http://shop.example.bg", "http://shop.example.bg", "http://shop.example.bg"),
        ("address", "  ул. „Витоша“ 1,\n София ", "ул. „Витоша“ 1, София", "ул. „витоша“ 1, софия"),
        ("other", "Skype: ivan", "Skype: ivan", "skype: ivan"),
    ],
)
def test_values_are_normalised_by_type(type_: str, raw: str, value: str, key: str) -> None:
    assert normalise(type_, raw, "BG") == (value, key)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("type_", "raw"),
    [
        ("phone", "12"),
        ("phone", "not a number"),
        ("phone", "+359 1"),
        ("email", "ivan"),
        ("email", "ivan@"),
        ("email", "@example.com"),
        ("email", "ivan@example"),
        ("email", "iv an@example.com"),
        ("email", "ivan..p@example.com"),
        ("email", "ivan@-example.com"),
        ("web", "ftp://example.com"),
        ("web", "https://"),
        ("web", "intranet"),
        ("address", "   "),
        ("other", "x" * 501),
    ],
)
def test_bad_values_are_refused_naming_the_field(type_: str, raw: str) -> None:
    with pytest.raises(DomainError) as refused:
        normalise(type_, raw, "BG", field="contact_info[3].value")  # type: ignore[arg-type]
    assert refused.value.field == "contact_info[3].value"


def test_a_number_without_a_country_code_is_read_in_the_default_country() -> None:
    assert normalise("phone", "030 901820", "DE")[0] == "+4930901820"


def entry(kind: str, value: str, *, main: bool = False) -> ContactEntry:
    return ContactEntry(kind, "email", value, value.casefold(), main)


def test_the_first_entry_of_a_kind_is_main_unless_another_is_marked() -> None:
    entries = with_main_rule([entry("work", "a@x.bg"), entry("work", "b@x.bg"), entry("home", "c@x.bg")])
    assert [(e.value, e.main) for e in entries] == [("a@x.bg", True), ("b@x.bg", False), ("c@x.bg", True)]
    marked = with_main_rule([entry("work", "a@x.bg"), entry("work", "b@x.bg", main=True)])
    assert [(e.value, e.main) for e in marked] == [("a@x.bg", False), ("b@x.bg", True)]


def test_two_main_entries_of_one_kind_are_refused_and_repeats_dropped() -> None:
    with pytest.raises(DomainError):
        with_main_rule([entry("work", "a@x.bg", main=True), entry("work", "b@x.bg", main=True)])
    assert len(with_main_rule([entry("work", "a@x.bg"), entry("work", "A@x.bg")])) == 1
