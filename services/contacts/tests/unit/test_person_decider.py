"""Given events, when a command, then events (or a refusal): the contact person decider."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from crm_contacts.domain import person as pe
from crm_contacts.domain.contact_info import ContactEntry
from crm_shared.errors import AlreadyExists, DomainError, Forbidden, NotFound

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
ID = "p-1"
PHONE = ContactEntry("mobile", "phone", "+359888123456", "+359888123456")
EMAIL = ContactEntry("email", "email", "ivan@example.com", "ivan@example.com")


def registered(**overrides: Any) -> pe.PersonRegistered:
    fields: dict[str, Any] = {
        "person_id": ID,
        "owner": "maria",
        "private": False,
        "first_name": "Иван",
        "middle_name": None,
        "last_name": "Иванов",
        "birth_date": "1980-05-17",
        "birthday_reminder_days": 7,
        "gender": "male",
        "description": None,
        "contact_info": (),
        "registered_at": NOW,
    }
    fields.update(overrides)
    return pe.PersonRegistered.model_validate(fields)


def given(*events: pe.DomainEvent) -> pe.State:
    state: pe.State = None
    for event in events:
        state = pe.evolve(state, event)
    return state


def register(**overrides: Any) -> pe.RegisterPerson:
    fields: dict[str, Any] = {
        "person_id": ID,
        "owner": "maria",
        "now": NOW,
        "first_name": "Иван",
        "last_name": "Иванов",
        "birth_date": date(1980, 5, 17),
        "birthday_reminder_days": 7,
        "gender": "male",
    }
    fields.update(overrides)
    return pe.RegisterPerson(**fields)


def update(actor: str = "maria", **changes: Any) -> pe.UpdatePerson:
    return pe.UpdatePerson(ID, actor, TODAY, changes)


def refused(command: pe.Command, state: pe.State, field: str | None, kind: type[Exception] = DomainError) -> None:
    with pytest.raises(kind) as caught:
        pe.decide(command, state)
    assert getattr(caught.value, "field", None) == field


def test_registering_records_the_person_with_its_links() -> None:
    command = register(
        first_name="  Иван ", middle_name=" ", links=(pe.Link("c-1", " Управител  на склад ", "buyer-contact"),)
    )
    assert pe.decide(command, given()) == [
        registered(),
        pe.PersonLinkedToCounterparty(
            person_id=ID, counterparty_id="c-1", position="Управител на склад", role="buyer-contact"
        ),
    ]


def test_a_person_needs_a_first_or_a_last_name() -> None:
    refused(register(first_name=None, last_name="  "), given(), "first_name")
    assert pe.decide(register(first_name=None, last_name="Иванов"), given())[0] == registered(first_name=None)
    assert pe.decide(register(first_name="Иван", last_name=None), given())[0] == registered(last_name=None)


def test_names_are_limited_in_length() -> None:
    refused(register(middle_name="я" * (pe.MAX_NAME + 1)), given(), "middle_name")


def test_a_birth_date_in_the_future_or_too_long_ago_is_refused() -> None:
    refused(register(birth_date=date(2026, 11, 28)), given(), "birth_date")
    refused(register(birth_date=date(1899, 12, 31)), given(), "birth_date")
    [event] = pe.decide(register(birth_date=TODAY), given())
    assert isinstance(event, pe.PersonRegistered) and event.birth_date == "2026-11-27"


@pytest.mark.parametrize("days", [-1, 366])
def test_the_birthday_reminder_is_0_to_365_days(days: int) -> None:
    refused(register(birthday_reminder_days=days), given(), "birthday_reminder_days")


def test_gender_is_one_of_three() -> None:
    refused(register(gender="other"), given(), "gender")


def test_contact_information_gets_one_main_entry_per_kind() -> None:
    second = ContactEntry("mobile", "phone", "+359888999999", "+359888999999", main=True)
    [event] = pe.decide(register(contact_info=(PHONE, second, PHONE, EMAIL)), given())
    assert isinstance(event, pe.PersonRegistered)
    assert [(c.value, c.main) for c in event.contact_info] == [
        ("+359888123456", False),
        ("+359888999999", True),
        ("ivan@example.com", True),
    ]
    both = (
        ContactEntry("mobile", "phone", "+359888123456", "+359888123456", main=True),
        ContactEntry("mobile", "phone", "+359888999999", "+359888999999", main=True),
    )
    refused(register(contact_info=both), given(), "contact_info")


def test_a_counterparty_linked_twice_is_refused_naming_the_link() -> None:
    links = (pe.Link("c-1"), pe.Link("c-1", "Шеф"))
    refused(register(links=links), given(), "links[1].counterparty_id")


def test_registering_twice_is_refused() -> None:
    refused(register(), given(registered()), None, AlreadyExists)


def test_an_update_records_only_what_changed() -> None:
    state = given(registered())
    assert pe.decide(update(first_name="Иван", birth_date=date(1980, 5, 17), gender="male"), state) == []
    assert pe.decide(update(middle_name="Петров", birth_date=None, description=" Обича\nкафе "), state) == [
        pe.PersonRenamed(person_id=ID, first_name="Иван", middle_name="Петров", last_name="Иванов"),
        pe.PersonBirthDateChanged(person_id=ID, birth_date=None),
        pe.PersonDescriptionChanged(person_id=ID, description="Обича\nкафе"),
    ]


def test_clearing_both_names_is_refused() -> None:
    refused(update(first_name=None, last_name=""), given(registered()), "first_name")


def test_contact_information_is_replaced_as_a_whole() -> None:
    state = given(registered(contact_info=pe.decide(register(contact_info=(PHONE,)), given())[0].contact_info))  # type: ignore[attr-defined]
    [event] = pe.decide(update(contact_info=(EMAIL,)), state)
    assert isinstance(event, pe.PersonContactInfoSet)
    assert [c.value for c in event.contact_info] == ["ivan@example.com"]
    after = pe.evolve(state, event)
    assert after is not None and [c.kind for c in after.contact_info] == ["email"]


def test_only_the_owner_makes_a_person_private() -> None:
    state = given(registered())
    refused(update("petar", private=True), state, "private", Forbidden)
    assert pe.decide(update(private=True), state) == [pe.PersonPrivacyChanged(person_id=ID, private=True)]


def test_linking_changing_and_unlinking_a_counterparty() -> None:
    state = given(registered())
    linked = pe.decide(pe.LinkCounterparty(ID, "c-1", "Управител", "boss"), state)
    assert linked == [
        pe.PersonLinkedToCounterparty(person_id=ID, counterparty_id="c-1", position="Управител", role="boss")
    ]
    state = given(registered(), *linked)
    assert pe.decide(pe.LinkCounterparty(ID, "c-1", "Управител", "boss"), state) == []
    changed = pe.decide(pe.LinkCounterparty(ID, "c-1", "Директор", None), state)
    assert changed == [
        pe.PersonCounterpartyLinkChanged(person_id=ID, counterparty_id="c-1", position="Директор", role=None)
    ]
    state = given(registered(), *linked, *changed)
    assert state is not None and state.links == (pe.Link("c-1", "Директор", None),)
    unlinked = pe.decide(pe.UnlinkCounterparty(ID, "c-1"), state)
    assert unlinked == [pe.PersonUnlinkedFromCounterparty(person_id=ID, counterparty_id="c-1")]
    after = given(registered(), *linked, *changed, *unlinked)
    assert after is not None and after.links == ()
    refused(pe.UnlinkCounterparty(ID, "c-1"), after, None, NotFound)


def test_commands_on_an_unknown_person_are_refused() -> None:
    refused(update(first_name="X"), given(), None, NotFound)
    refused(pe.ErasePerson(ID, "GDPR-1", NOW), given(), None, NotFound)


def test_erasure_needs_a_reason_blanks_personal_fields_and_keeps_links() -> None:
    link = pe.PersonLinkedToCounterparty(person_id=ID, counterparty_id="c-1", position="Шеф", role=None)
    state = given(registered(contact_info=(pe.ContactItem(kind="mobile", type="phone", value="+1", key="+1"),)), link)
    refused(pe.ErasePerson(ID, "  ", NOW), state, "reason")
    [erased] = pe.decide(pe.ErasePerson(ID, " GDPR  request 17 ", NOW), state)
    assert erased == pe.PersonErased(person_id=ID, reason="GDPR request 17", erased_at=NOW)
    after = pe.evolve(state, erased)
    assert after is not None and after.erased and after.erased_at == NOW
    assert all(getattr(after, name) is None for name in pe.PERSONAL_FIELDS)
    assert [(c.kind, c.type, c.value, c.key) for c in after.contact_info] == [("mobile", "phone", None, None)]
    assert after.links == (pe.Link("c-1", "Шеф", None),)
    assert (after.owner, after.registered_at) == ("maria", NOW)


def test_an_erased_person_takes_no_more_changes_and_erasing_again_does_nothing() -> None:
    state = given(registered(), pe.PersonErased(person_id=ID, reason="GDPR-1", erased_at=NOW))
    refused(update(first_name="Нов"), state, None, pe.PersonWasErased)
    refused(pe.LinkCounterparty(ID, "c-1"), state, None, pe.PersonWasErased)
    assert pe.decide(pe.ErasePerson(ID, "again", NOW), state) == []


def test_registering_with_properties_and_categories_records_them_after_the_person() -> None:
    command = register(
        properties={"level": "gold", "staff": 12, "gone": None},
        categories=("vip", "", "partner", "vip"),
        links=(pe.Link("c-1"),),
    )
    events = pe.decide(command, given())
    assert events[1:3] == [
        pe.PersonPropertiesChanged(person_id=ID, values={"level": "gold", "staff": 12}),
        pe.PersonCategoriesChanged(person_id=ID, categories=["vip", "partner"]),
    ]
    assert isinstance(events[3], pe.PersonLinkedToCounterparty)
    state = given(*events)
    assert state is not None and state.properties == {"level": "gold", "staff": 12}
    assert state.categories == ("vip", "partner")
    assert pe.decide(register(properties={"gone": None}, categories=()), given()) == [registered()]


def test_properties_are_merged_and_a_none_value_removes_one() -> None:
    state = given(registered(), pe.PersonPropertiesChanged(person_id=ID, values={"level": "gold", "staff": 12}))
    assert pe.decide(update(properties={"level": "gold"}), state) == []
    assert pe.decide(update(properties={"staff": None, "vip": True}), state) == [
        pe.PersonPropertiesChanged(person_id=ID, values={"level": "gold", "vip": True})
    ]
    assert pe.decide(update(properties={"unknown": None}), state) == []


def test_categories_are_replaced_as_a_whole() -> None:
    state = given(registered(), pe.PersonCategoriesChanged(person_id=ID, categories=["vip", "partner"]))
    assert pe.decide(update(categories=["vip", "partner", "vip"]), state) == []
    assert pe.decide(update(categories=["partner"]), state) == [
        pe.PersonCategoriesChanged(person_id=ID, categories=["partner"])
    ]
    assert pe.decide(update(categories=None), state) == [pe.PersonCategoriesChanged(person_id=ID, categories=[])]


def test_too_many_properties_or_categories_are_refused() -> None:
    many = {f"p{i}": i for i in range(pe.MAX_PROPERTIES + 1)}
    refused(register(properties=many), given(), "properties")
    refused(update(categories=[f"c{i}" for i in range(pe.MAX_CATEGORIES + 1)]), given(registered()), "categories")


def test_properties_and_categories_stay_plain_and_survive_an_erasure() -> None:
    values = pe.PersonPropertiesChanged(person_id=ID, values={"level": "gold"})
    assert pe.seal_data(values.model_dump(mode="json"), bytes(32), ID) == values.model_dump(mode="json")
    assert not pe.has_personal_values({"values": {"level": "gold"}, "categories": ["vip"]})
    state = given(registered(), values, pe.PersonCategoriesChanged(person_id=ID, categories=["vip"]))
    [erased] = pe.decide(pe.ErasePerson(ID, "GDPR-2", NOW), state)
    after = pe.evolve(state, erased)
    assert after is not None and after.properties == {"level": "gold"} and after.categories == ("vip",)
    refused(update(categories=["other"]), after, None, pe.PersonWasErased)
