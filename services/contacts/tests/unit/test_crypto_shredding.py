"""Crypto-shredding: personal fields sealed per person and field, unreadable for good once the key is
deleted — in the events, the public events, the view, and a view rebuilt from the log."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from crm_contacts import bootstrap
from crm_contacts.application.persons.publishing import translate_person
from crm_contacts.application.persons.reading import decode
from crm_contacts.application.publishing import translate
from crm_contacts.domain import person as pe
from crm_contacts.domain.contact_info import ContactEntry
from crm_contacts.projections import persons as view
from crm_shared import sealing as crypto
from crm_shared.eventstore import RecordedEvent
from crm_shared.identity import caller_of
from crm_shared.settings import KernelSettings

ADMIN = caller_of("admin", ["administrator"])
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
SECRETS = ("Йорданка", "Фандъкова", "1962-04-12", "+359888123456", "yordanka@example.com", "тайна бележка")


def test_a_sealed_value_opens_only_with_its_key_person_and_field() -> None:
    key = crypto.new_key()
    sealed = crypto.seal(key, "p-1", "first_name", "Йорданка")
    assert sealed.startswith(crypto.PREFIX) and "Йорданка" not in sealed
    assert crypto.seal(key, "p-1", "first_name", "Йорданка") != sealed  # a fresh nonce each time
    assert crypto.unseal(key, "p-1", "first_name", sealed) == "Йорданка"
    for other_key, person, field in [
        (crypto.new_key(), "p-1", "first_name"),
        (key, "p-2", "first_name"),
        (key, "p-1", "last_name"),
    ]:
        with pytest.raises(crypto.SealBroken):
            crypto.unseal(other_key, person, field, sealed)
    # A character in the middle of the ciphertext: all six of its bits are data (the one before the
    # padding may carry padding bits only, and changing those changes no byte).
    at = len(crypto.PREFIX) + 30
    tampered = sealed[:at] + ("A" if sealed[at] != "A" else "B") + sealed[at + 1 :]
    with pytest.raises(crypto.SealBroken):
        crypto.unseal(key, "p-1", "first_name", tampered)


def test_event_data_is_sealed_field_by_field_and_opens_as_erased_without_the_key() -> None:
    key = crypto.new_key()
    data = {
        "person_id": "p-1",
        "first_name": "Йорданка",
        "middle_name": None,
        "last_name": "Фандъкова",
        "birthday_reminder_days": 3,
        "contact_info": [
            {
                "kind": "mobile",
                "type": "phone",
                "value": "+359888123456",
                "key": "+359888123456",
                "main": True,
                "comment": None,
            }
        ],
    }
    sealed = pe.seal_data(data, key, "p-1")
    text = json.dumps(sealed, ensure_ascii=False)
    assert "Йорданка" not in text and "+359888123456" not in text
    assert sealed["middle_name"] is None and sealed["birthday_reminder_days"] == 3
    assert sealed["contact_info"][0]["kind"] == "mobile" and sealed["contact_info"][0]["main"] is True
    assert pe.open_data(sealed, key, "p-1") == (data, [])
    opened, erased = pe.open_data(sealed, None, "p-1")
    assert opened["first_name"] is None and opened["contact_info"][0]["value"] is None
    assert opened["birthday_reminder_days"] == 3
    assert erased == ["first_name", "last_name", "contact_info[0].value", "contact_info[0].key"]


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[bootstrap.ContactsService]:
    wired = await bootstrap.build(KernelSettings(data_dir=tmp_path / "var"))
    yield wired
    await wired.close()


async def register(service: bootstrap.ContactsService) -> str:
    command = pe.RegisterPerson(
        person_id="p-1",
        owner="admin",
        now=NOW,
        first_name="Йорданка",
        last_name="Фандъкова",
        birth_date=date(1962, 4, 12),
        description="тайна бележка",
        contact_info=(
            ContactEntry("mobile", "phone", "+359888123456", "+359888123456"),
            ContactEntry("email", "email", "yordanka@example.com", "yordanka@example.com"),
        ),
    )
    result = await service.persons.handle(command, ADMIN)
    return result.state.id


async def rebuild(service: bootstrap.ContactsService) -> None:
    """Drop the persons view and build it again from the whole event log."""
    runner = service.persons.runner
    for base in [*runner.projection.collections, f"{runner.projection.name}_streams"]:
        await service.views.drop(runner.collection(base))
    await runner.catch_up(service.store, translate, after=0)


def plain(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


async def test_the_store_the_bus_and_the_view_hold_no_plaintext(service: bootstrap.ContactsService) -> None:
    pid = await register(service)
    events = await service.store.read_stream(pe.stream_of(pid))
    stored = plain([e.data for e in events])
    published = plain([envelope.data for e in events for envelope in translate_person(e)])
    assert all(secret not in stored for secret in SECRETS)
    assert all(secret not in published for secret in SECRETS)
    assert [envelope.type for e in events for envelope in translate_person(e)] == ["crm.contacts.PersonRegistered"]

    await rebuild(service)
    card = await service.views.get(service.persons.runner.collection(view.COLLECTION), pid)
    assert card is not None and all(secret not in plain(card) for secret in SECRETS)
    assert card["first_name"].startswith(crypto.PREFIX)
    # Only the search key is plain, and only while the key exists.
    assert card["name_key"] == "фандъкова йорданка"
    found, _ = await service.person_queries.find(ADMIN, search="йорд")
    assert [p["display_name"] for p in found] == ["Йорданка Фандъкова"]


async def test_deleting_the_key_erases_the_data_everywhere_for_good(service: bootstrap.ContactsService) -> None:
    pid = await register(service)
    await rebuild(service)
    collection = service.persons.runner.collection(view.COLLECTION)
    stale_card = await service.views.get(collection, pid)
    assert stale_card is not None

    await service.persons.handle(pe.ErasePerson(pid, "GDPR request 17", NOW), ADMIN)
    assert await service.persons.keys.key_of(pid) is None
    events = await service.store.read_stream(pe.stream_of(pid))
    assert [e.type for e in events] == ["contacts.PersonRegistered", "contacts.PersonErased"]
    registered, erased_fields = decode(events[0], await service.persons.keys.key_of(pid))
    assert isinstance(registered, pe.PersonRegistered)
    assert (registered.first_name, registered.last_name, registered.birth_date) == (None, None, None)
    assert {"first_name", "last_name", "birth_date", "gender", "description"} <= set(erased_fields)
    [published] = translate_person(events[1])
    assert published.type == "crm.contacts.PersonErased" and set(published.data) == {"person_id", "erased_at"}

    # A stale copy of the card made before the erasure: its sealed fields no longer open.
    opened, erased = pe.open_data(stale_card, await service.persons.keys.key_of(pid), pid)
    assert opened["first_name"] is None and "first_name" in erased

    await rebuild(service)
    card = await service.views.get(collection, pid)
    assert card is not None and card["erased"] is True and card["name_key"] == ""
    assert all(secret not in plain(card) for secret in SECRETS)
    assert (await service.person_queries.find(ADMIN, search="йорд"))[0] == []
    shown = await service.person_queries.get(pid, ADMIN)
    assert shown is not None and shown["first_name"] is None and shown["erased"] is True
    exported = await service.person_queries.export(pid, ADMIN)
    assert exported is not None and all(secret not in plain(exported) for secret in SECRETS)
    assert exported["personal_data_readable"] is False


def test_a_link_position_is_sealed_opened_and_gone_with_the_key() -> None:
    key = crypto.new_key()
    data = {"person_id": "p-1", "counterparty_id": "c-1", "position": "Главен счетоводител", "role": "boss"}
    sealed = pe.seal_data(data, key, "p-1")
    assert sealed["position"].startswith(crypto.PREFIX) and "счетоводител" not in plain(sealed)
    assert (sealed["counterparty_id"], sealed["role"]) == ("c-1", "boss")
    assert pe.open_data(sealed, key, "p-1") == (data, [])
    assert pe.open_data(sealed, None, "p-1") == ({**data, "position": None}, ["position"])
    # A position stored in clear before ADR 15 reads as erased too once the key is gone.
    assert pe.open_data(data, None, "p-1") == ({**data, "position": None}, ["position"])

    card = {"links": [{"counterparty_id": "c-1", "position": sealed["position"], "role": "boss"}]}
    opened, erased = pe.open_data(card, key, "p-1")
    assert opened["links"][0]["position"] == "Главен счетоводител" and erased == []
    opened, erased = pe.open_data(card, None, "p-1")
    assert opened["links"][0]["position"] is None and erased == ["links[0].position"]
    assert pe.has_personal_values({"position": "x"}) and not pe.has_personal_values({"position": None})


def test_an_erasure_clears_positions_and_public_link_events_never_carry_one() -> None:
    registered = pe.PersonRegistered(
        person_id="p-1",
        owner="admin",
        private=False,
        first_name="Йорданка",
        middle_name=None,
        last_name=None,
        birth_date=None,
        birthday_reminder_days=None,
        gender="female",
        description=None,
        contact_info=(),
        registered_at=NOW,
    )
    linked = pe.PersonLinkedToCounterparty(person_id="p-1", counterparty_id="c-1", position="Шеф", role="boss")
    state = pe.evolve(pe.evolve(None, registered), linked)
    assert state is not None and state.links[0].position == "Шеф"
    erased = pe.evolve(state, pe.PersonErased(person_id="p-1", reason="GDPR 1", erased_at=NOW))
    assert erased is not None and erased.links == (pe.Link("c-1", None, "boss"),)

    for event in (
        linked,
        pe.PersonCounterpartyLinkChanged(person_id="p-1", counterparty_id="c-1", position="Шеф", role=None),
    ):
        recorded = RecordedEvent(
            id=uuid.uuid4(),
            stream="person-p-1",
            stream_version=1,
            position=2,
            type=pe.catalog.name_of(event),
            data=pe.seal_data(event.model_dump(mode="json"), crypto.new_key(), "p-1"),
            metadata={"schema_version": 1},
            recorded_at=NOW,
        )
        [published] = translate_person(recorded)
        assert published.data["position"] is None and "Шеф" not in plain(published.data)
