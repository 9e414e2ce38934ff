"""The reference entries a fresh installation starts with, so that a team can work on its first day:
the usual kinds of contact information, information sources, roles of contact persons and the regions
of Bulgaria, each named in Bulgarian and English (the web UI shows the user's language). Administrators
rename, retire or add to them; a rename names the entry the same in every language.

Seeding is idempotent (each entry carries an idempotency key) and never overrides an administrator:
an entry that already exists under the same code is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_contacts.application.reference.commands import ReferenceCommands
from crm_contacts.domain import reference as ref
from crm_shared.errors import AlreadyExists
from crm_shared.identity import Language, caller_of

Entry = tuple[str, str, Mapping[Language, str], Mapping[str, Any]]
"""(catalog, code, name by language, attributes) of one default entry; the Bulgarian name is its name."""


def _entries(catalog: str, names: str, **attributes: Any) -> tuple[Entry, ...]:
    """Entries of one catalog from lines ``code | Bulgarian name | English name``."""
    rows = [[part.strip() for part in line.split("|")] for line in names.strip().splitlines()]
    return tuple((catalog, code, {"bg": bg, "en": en}, attributes) for code, bg, en in rows)


DEFAULTS: tuple[Entry, ...] = (
    *_entries("contact-kinds", "phone | Телефон | Phone", type="phone", applies_to="both"),
    *_entries("contact-kinds", "mobile | Мобилен телефон | Mobile phone", type="phone", applies_to="both"),
    *_entries("contact-kinds", "email | Електронна поща | E-mail", type="email", applies_to="both"),
    *_entries("contact-kinds", "address | Адрес | Address", type="address", applies_to="both"),
    *_entries("contact-kinds", "web | Уеб сайт | Website", type="web", applies_to="counterparty"),
    *_entries(
        "sources",
        """
        website | Уеб сайт | Website
        referral | Препоръка | Referral
        exhibition | Изложение | Exhibition
        advertisement | Реклама | Advertisement
        phone-call | Телефонно обаждане | Phone call
        email-campaign | Имейл кампания | E-mail campaign
        social-media | Социални мрежи | Social media
        """,
    ),
    *_entries(
        "person-roles",
        """
        manager | Управител | Managing director
        owner | Собственик | Owner
        chief-accountant | Главен счетоводител | Chief accountant
        procurement | Снабдител | Procurement officer
        sales | Търговец | Salesperson
        decision-maker | Взема решенията | Decision maker
        contact | Лице за контакт | Contact person
        """,
    ),
    *_entries(
        "regions",
        """
        blagoevgrad | Благоевград | Blagoevgrad
        burgas | Бургас | Burgas
        varna | Варна | Varna
        veliko-tarnovo | Велико Търново | Veliko Tarnovo
        vidin | Видин | Vidin
        vratsa | Враца | Vratsa
        gabrovo | Габрово | Gabrovo
        dobrich | Добрич | Dobrich
        kardzhali | Кърджали | Kardzhali
        kyustendil | Кюстендил | Kyustendil
        lovech | Ловеч | Lovech
        montana | Монтана | Montana
        pazardzhik | Пазарджик | Pazardzhik
        pernik | Перник | Pernik
        pleven | Плевен | Pleven
        plovdiv | Пловдив | Plovdiv
        razgrad | Разград | Razgrad
        ruse | Русе | Ruse
        silistra | Силистра | Silistra
        sliven | Сливен | Sliven
        smolyan | Смолян | Smolyan
        sofia-city | София (столица) | Sofia City
        sofia | Софийска област | Sofia Province
        stara-zagora | Стара Загора | Stara Zagora
        targovishte | Търговище | Targovishte
        haskovo | Хасково | Haskovo
        shumen | Шумен | Shumen
        yambol | Ямбол | Yambol
        """,
    ),
)
"""The usual kinds of contact information, information sources, roles of contact persons and the 28
regions of Bulgaria, named in every UI language."""

SEEDER = caller_of("system:seed", ["administrator"], name="Initial reference data")


async def seed_reference(commands: ReferenceCommands) -> None:
    """Define the default entries that were never defined; give the names by language to earlier
    seeded entries that are still as seeded (the first versions were named in Bulgarian only)."""
    for catalog, code, names, attributes in DEFAULTS:
        command = ref.DefineEntry(catalog=catalog, code=code, name=names["bg"], attributes=attributes, names=names)
        try:
            result = await commands.handle(command, SEEDER, idempotency_key=f"seed:{catalog}:{code}")
        except AlreadyExists:
            continue  # an administrator defined it first
        entry = result.state
        if not entry.names and entry.name == names["bg"]:
            translate = ref.ChangeEntry(catalog=catalog, code=code, names=names)
            await commands.handle(translate, SEEDER, idempotency_key=f"seed-names:{catalog}:{code}")
