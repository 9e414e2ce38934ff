"""Given events, when a command, then events (or a refusal): the contact person decider."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from crm_contacts.domain import person as pe
from crm_contacts.domain.contact_info import ContactEntry
from crm_shared.errors import AlreadyExists, DomainError, Forbidden, NotFound
from crm_shared.testing import DeciderSpec, like

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
ID = "p-1"
spec = DeciderSpec(pe.decide, pe.evolve, None)
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


def phone(value: str, *, main: bool) -> pe.ContactItem:
    return pe.ContactItem(kind="mobile", type="phone", value=value, key=value, main=main)


def test_registering_records_the_person_with_its_links() -> None:
    command = register(
        first_name="  Иван ", middle_name=" ", links=(pe.Link("c-1", " Управител  на склад ", "buyer-contact"),)
    )
    spec.given().when(command).then(
        registered(),
        pe.PersonLinkedToCounterparty(
            person_id=ID, counterparty_id="c-1", position="Управител на склад", role="buyer-contact"
        ),
    )


def test_a_person_needs_a_first_or_a_last_name() -> None:
    spec.given().when(register(first_name=None, last_name="  ")).then_raises(DomainError, field="first_name")
    spec.given().when(register(first_name=None, last_name="Иванов")).then(registered(first_name=None))
    spec.given().when(register(first_name="Иван", last_name=None)).then(registered(last_name=None))


def test_names_are_limited_in_length() -> None:
    spec.given().when(register(middle_name="я" * (pe.MAX_NAME + 1))).then_raises(DomainError, field="middle_name")


def test_a_birth_date_in_the_future_or_too_long_ago_is_refused() -> None:
    spec.given().when(register(birth_date=date(2026, 11, 28))).then_raises(DomainError, field="birth_date")
    spec.given().when(register(birth_date=date(1899, 12, 31))).then_raises(DomainError, field="birth_date")
    spec.given().when(register(birth_date=TODAY)).then(like(pe.PersonRegistered, birth_date="2026-11-27"))


@pytest.mark.parametrize("days", [-1, 366])
def test_the_birthday_reminder_is_0_to_365_days(days: int) -> None:
    spec.given().when(register(birthday_reminder_days=days)).then_raises(DomainError, field="birthday_reminder_days")


def test_gender_is_one_of_three() -> None:
    spec.given().when(register(gender="other")).then_raises(DomainError, field="gender")


def test_contact_information_gets_one_main_entry_per_kind() -> None:
    second = ContactEntry("mobile", "phone", "+359888999999", "+359888999999", main=True)
    spec.given().when(register(contact_info=(PHONE, second, PHONE, EMAIL))).then(
        registered(
            contact_info=(
                phone("+359888123456", main=False),
                phone("+359888999999", main=True),
                pe.ContactItem(kind="email", type="email", value="ivan@example.com", key="ivan@example.com", main=True),
            )
        )
    )
    both = (
        ContactEntry("mobile", "phone", "+359888123456", "+359888123456", main=True),
        ContactEntry("mobile", "phone", "+359888999999", "+359888999999", main=True),
    )
    spec.given().when(register(contact_info=both)).then_raises(DomainError, field="contact_info")


def test_a_counterparty_linked_twice_is_refused_naming_the_link() -> None:
    links = (pe.Link("c-1"), pe.Link("c-1", "Шеф"))
    spec.given().when(register(links=links)).then_raises(DomainError, field="links[1].counterparty_id")


def test_registering_twice_is_refused() -> None:
    spec.given(registered()).when(register()).then_raises(AlreadyExists, field=None)


def test_an_update_records_only_what_changed() -> None:
    person = spec.given(registered())
    person.when(update(first_name="Иван", birth_date=date(1980, 5, 17), gender="male")).then_nothing()
    person.when(update(middle_name="Петров", birth_date=None, description=" Обича\nкафе ")).then(
        pe.PersonRenamed(person_id=ID, first_name="Иван", middle_name="Петров", last_name="Иванов"),
        pe.PersonBirthDateChanged(person_id=ID, birth_date=None),
        pe.PersonDescriptionChanged(person_id=ID, description="Обича\nкафе"),
    )


def test_clearing_both_names_is_refused() -> None:
    spec.given(registered()).when(update(first_name=None, last_name="")).then_raises(DomainError, field="first_name")


def test_contact_information_is_replaced_as_a_whole() -> None:
    spec.given().when(register(contact_info=(PHONE,))).then(
        registered(contact_info=(phone("+359888123456", main=True),))
    )
    email = pe.ContactItem(kind="email", type="email", value="ivan@example.com", key="ivan@example.com", main=True)
    spec.given(registered(contact_info=(phone("+359888123456", main=True),))).when(update(contact_info=(EMAIL,))).then(
        pe.PersonContactInfoSet(person_id=ID, contact_info=(email,))
    ).then_state(like(pe.Person, contact_info=(email,)))


def test_only_the_owner_makes_a_person_private() -> None:
    person = spec.given(registered())
    person.when(update("petar", private=True)).then_raises(Forbidden, field="private")
    person.when(update(private=True)).then(pe.PersonPrivacyChanged(person_id=ID, private=True))


def test_linking_changing_and_unlinking_a_counterparty() -> None:
    linked = pe.PersonLinkedToCounterparty(person_id=ID, counterparty_id="c-1", position="Управител", role="boss")
    changed = pe.PersonCounterpartyLinkChanged(person_id=ID, counterparty_id="c-1", position="Директор", role=None)
    unlinked = pe.PersonUnlinkedFromCounterparty(person_id=ID, counterparty_id="c-1")
    spec.given(registered()).when(pe.LinkCounterparty(ID, "c-1", "Управител", "boss")).then(linked)
    spec.given(registered(), linked).when(pe.LinkCounterparty(ID, "c-1", "Управител", "boss")).then_nothing()
    spec.given(registered(), linked).when(pe.LinkCounterparty(ID, "c-1", "Директор", None)).then(changed).then_state(
        like(pe.Person, links=(pe.Link("c-1", "Директор", None),))
    )
    spec.given(registered(), linked, changed).when(pe.UnlinkCounterparty(ID, "c-1")).then(unlinked).then_state(
        like(pe.Person, links=())
    )
    spec.given(registered(), linked, changed, unlinked).when(pe.UnlinkCounterparty(ID, "c-1")).then_raises(
        NotFound, field=None
    )


def test_commands_on_an_unknown_person_are_refused() -> None:
    spec.given().when(update(first_name="X")).then_raises(NotFound, field=None)
    spec.given().when(pe.ErasePerson(ID, "GDPR-1", NOW)).then_raises(NotFound, field=None)


def test_erasure_needs_a_reason_blanks_personal_fields_and_keeps_links() -> None:
    link = pe.PersonLinkedToCounterparty(person_id=ID, counterparty_id="c-1", position="Шеф", role=None)
    person = spec.given(
        registered(contact_info=(pe.ContactItem(kind="mobile", type="phone", value="+1", key="+1"),)), link
    )
    person.when(pe.ErasePerson(ID, "  ", NOW)).then_raises(DomainError, field="reason")

    def blanked(after: pe.State) -> None:
        assert after is not None and after.erased and after.erased_at == NOW
        assert all(getattr(after, name) is None for name in pe.PERSONAL_FIELDS)
        assert [(c.kind, c.type, c.value, c.key) for c in after.contact_info] == [("mobile", "phone", None, None)]
        assert after.links == (pe.Link("c-1", None, None),)  # the link stays; its position is personal (ADR 15)
        assert (after.owner, after.registered_at) == ("maria", NOW)

    person.when(pe.ErasePerson(ID, " GDPR  request 17 ", NOW)).then(
        pe.PersonErased(person_id=ID, reason="GDPR request 17", erased_at=NOW)
    ).then_state(blanked)


def test_an_erased_person_takes_no_more_changes_and_erasing_again_does_nothing() -> None:
    erased = spec.given(registered(), pe.PersonErased(person_id=ID, reason="GDPR-1", erased_at=NOW))
    erased.when(update(first_name="Нов")).then_raises(pe.PersonWasErased, field=None)
    erased.when(pe.LinkCounterparty(ID, "c-1")).then_raises(pe.PersonWasErased, field=None)
    erased.when(pe.ErasePerson(ID, "again", NOW)).then_nothing()


def test_registering_with_properties_and_categories_records_them_after_the_person() -> None:
    command = register(
        properties={"level": "gold", "staff": 12, "gone": None},
        categories=("vip", "", "partner", "vip"),
        links=(pe.Link("c-1"),),
    )
    spec.given().when(command).then(
        registered(),
        pe.PersonPropertiesChanged(person_id=ID, values={"level": "gold", "staff": 12}),
        pe.PersonCategoriesChanged(person_id=ID, categories=["vip", "partner"]),
        like(pe.PersonLinkedToCounterparty),
    ).then_state(like(pe.Person, properties={"level": "gold", "staff": 12}, categories=("vip", "partner")))
    spec.given().when(register(properties={"gone": None}, categories=())).then(registered())


def test_properties_are_merged_and_a_none_value_removes_one() -> None:
    person = spec.given(registered(), pe.PersonPropertiesChanged(person_id=ID, values={"level": "gold", "staff": 12}))
    person.when(update(properties={"level": "gold"})).then_nothing()
    person.when(update(properties={"staff": None, "vip": True})).then(
        pe.PersonPropertiesChanged(person_id=ID, values={"level": "gold", "vip": True})
    )
    person.when(update(properties={"unknown": None})).then_nothing()


def test_categories_are_replaced_as_a_whole() -> None:
    person = spec.given(registered(), pe.PersonCategoriesChanged(person_id=ID, categories=["vip", "partner"]))
    person.when(update(categories=["vip", "partner", "vip"])).then_nothing()
    person.when(update(categories=["partner"])).then(pe.PersonCategoriesChanged(person_id=ID, categories=["partner"]))
    person.when(update(categories=None)).then(pe.PersonCategoriesChanged(person_id=ID, categories=[]))


def test_too_many_properties_or_categories_are_refused() -> None:
    many = {f"p{i}": i for i in range(pe.MAX_PROPERTIES + 1)}
    spec.given().when(register(properties=many)).then_raises(DomainError, field="properties")
    spec.given(registered()).when(update(categories=[f"c{i}" for i in range(pe.MAX_CATEGORIES + 1)])).then_raises(
        DomainError, field="categories"
    )


def test_properties_and_categories_stay_plain_and_survive_an_erasure() -> None:
    values = pe.PersonPropertiesChanged(person_id=ID, values={"level": "gold"})
    assert pe.seal_data(values.model_dump(mode="json"), bytes(32), ID) == values.model_dump(mode="json")
    assert not pe.has_personal_values({"values": {"level": "gold"}, "categories": ["vip"]})
    plain = spec.given(registered(), values, pe.PersonCategoriesChanged(person_id=ID, categories=["vip"]))
    erased = pe.PersonErased(person_id=ID, reason="GDPR-2", erased_at=NOW)
    plain.when(pe.ErasePerson(ID, "GDPR-2", NOW)).then(erased).then_state(
        like(pe.Person, properties={"level": "gold"}, categories=("vip",))
    )
    spec.given(registered(), values, pe.PersonCategoriesChanged(person_id=ID, categories=["vip"]), erased).when(
        update(categories=["other"])
    ).then_raises(pe.PersonWasErased, field=None)
