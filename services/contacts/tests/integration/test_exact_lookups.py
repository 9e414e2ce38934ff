"""Exact searches and the duplicate report through the one lookup index, ``(field, key_name)``: a key
is found exactly (never a longer key that starts with it), and the report walks the keys in order in
chunks without splitting or losing a group."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_contacts import bootstrap as contacts
from crm_contacts.application.counterparties.queries import Filters
from crm_contacts.domain import counterparty as cp
from crm_contacts.domain.contact_info import ContactEntry
from crm_shared.directory import directory_messages
from crm_shared.identity import caller_of
from crm_shared.settings import KernelSettings

ADMIN = caller_of("admin", ["administrator"])
DIRECTORY = directory_messages({"ivan": "Иван Петров"}, ("general",))

PHONES = {
    # phone -> names of the counterparties that have it, registered in this order
    "+35928000001": ["Алфа", "Бета", "Гама"],
    "+359280000011": ["Делта"],  # starts with the phone above: never found for it
    "+35928000002": ["Епсилон"],
    "+35928000003": ["Зета", "Ета"],
    "+35928000004": ["Тета", "Йота"],
    "+35928000005": ["Капа", "Ламбда", "Ми", "Ни"],
}


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[contacts.ContactsService]:
    built = await contacts.build(KernelSettings(data_dir=tmp_path / "var"))
    await built.seed()
    await built.directory.runner.handle_batch(DIRECTORY)
    now = built.commands.now()
    for phone, names in PHONES.items():
        for name in names:
            entry = ContactEntry("phone", "phone", phone, phone, True)
            codes = (cp.ExternalCode("erp", name[:2] if len(names) == 1 else name),)
            command = cp.RegisterCounterparty(
                f"id-{name}", name, ("buyer",), None, "ivan", now, contact_info=(entry,), external_codes=codes
            )
            await built.commands.handle(command, ADMIN)
    await built.catch_up_views()
    yield built
    await built.close()


async def test_a_phone_finds_exactly_its_counterparties_by_name(service: contacts.ContactsService) -> None:
    for phone, names in PHONES.items():
        found = await service.queries.by_phone(phone, ADMIN)
        assert [c["name"] for c in found] == sorted(names), phone
        listed = await service.queries.list(ADMIN, Filters(phone=phone[:-1]), limit=50)
        # A typed phone is a prefix: a shorter one finds every longer number too.
        assert {c["name"] for c in listed.items} >= set(names)


async def test_an_external_code_finds_its_counterparty_and_not_one_whose_code_starts_with_it(
    service: contacts.ContactsService,
) -> None:
    # "Де" (Делта's) and "Еп" (Епсилон's); "Ета", "Зета" ... are codes of others, and "Ет" starts "Ета".
    for code, names in (("Де", ["Делта"]), ("Ета", ["Ета"]), ("Ет", []), ("Е", [])):
        found = await service.queries.list(ADMIN, Filters(external_code=code), limit=50)
        assert [c["name"] for c in found.items] == names, code


async def test_the_duplicate_report_walks_every_group_whole_in_chunks(service: contacts.ContactsService) -> None:
    expected = {phone: sorted(names) for phone, names in PHONES.items() if len(names) > 1}
    for chunk in (1, 2, 3, 100):
        groups: list[tuple[str, list[str]]] = []
        after: str | None = None
        calls = 0
        while True:
            part = await service.duplicates.report(ADMIN, "phone", after_key=after, chunk=chunk)
            groups.extend((g.key, sorted(m.name for m in g.counterparties)) for g in part.groups)
            calls += 1
            if part.next_key is None:
                break
            after = part.next_key
            assert calls < 20
        assert groups == sorted(expected.items()), chunk
