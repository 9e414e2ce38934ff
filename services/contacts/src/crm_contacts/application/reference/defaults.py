"""The reference entries a fresh installation starts with, so that contact information can be
entered at once: the usual kinds of contact information. Administrators rename, retire or add to them.

Seeding is idempotent (each entry carries an idempotency key) and never overrides an administrator:
an entry that already exists under the same code is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_contacts.application.reference.commands import ReferenceCommands
from crm_contacts.domain import reference as ref
from crm_shared.errors import AlreadyExists
from crm_shared.identity import caller_of

DEFAULTS: tuple[tuple[str, str, str, Mapping[str, Any]], ...] = (
    ("contact-kinds", "phone", "Телефон", {"type": "phone", "applies_to": "both"}),
    ("contact-kinds", "mobile", "Мобилен телефон", {"type": "phone", "applies_to": "both"}),
    ("contact-kinds", "email", "Електронна поща", {"type": "email", "applies_to": "both"}),
    ("contact-kinds", "address", "Адрес", {"type": "address", "applies_to": "both"}),
    ("contact-kinds", "web", "Уеб сайт", {"type": "web", "applies_to": "counterparty"}),
)
"""(catalog, code, name, attributes) of every default entry."""

SEEDER = caller_of("system:seed", ["administrator"], name="Initial reference data")


async def seed_reference(commands: ReferenceCommands) -> None:
    """Define the default entries that were never defined."""
    for catalog, code, name, attributes in DEFAULTS:
        command = ref.DefineEntry(catalog=catalog, code=code, name=name, attributes=attributes)
        try:
            await commands.handle(command, SEEDER, idempotency_key=f"seed:{catalog}:{code}")
        except AlreadyExists:
            continue  # an administrator defined it first
