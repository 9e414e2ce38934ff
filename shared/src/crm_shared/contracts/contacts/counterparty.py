"""Public events of counterparties: topic ``crm.contacts.counterparty.v1``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from crm_shared.integration import IntegrationEvent

SOURCE = "crm/contacts"
COUNTERPARTY_TOPIC = "crm.contacts.counterparty.v1"

CounterpartyKind = Literal["buyer", "supplier", "other"]


class CounterpartyRegistered(IntegrationEvent):
    """A counterparty entered the register. Type ``crm.contacts.CounterpartyRegistered``."""

    counterparty_id: str = Field(description="Stable id of the counterparty (UUID).")
    name: str
    kind: CounterpartyKind
    tax_id: str | None = None
    main_manager: str = Field(description="User id of the responsible sales manager.")
    registered_at: datetime
    access_group: str = Field(default="general", description="Record-level security group (added in v1).")


class CounterpartyRenamed(IntegrationEvent):
    """The counterparty's name changed. Type ``crm.contacts.CounterpartyRenamed``."""

    counterparty_id: str
    name: str


class CounterpartyKindChanged(IntegrationEvent):
    """Buyer, supplier or other. Type ``crm.contacts.CounterpartyKindChanged``."""

    counterparty_id: str
    kind: CounterpartyKind


class CounterpartyTaxIdChanged(IntegrationEvent):
    """The tax id was set, changed or removed (null). Type ``crm.contacts.CounterpartyTaxIdChanged``."""

    counterparty_id: str
    tax_id: str | None


class MainManagerAssigned(IntegrationEvent):
    """A new responsible sales manager. Type ``crm.contacts.MainManagerAssigned``."""

    counterparty_id: str
    main_manager: str


class CounterpartyAccessGroupChanged(IntegrationEvent):
    """Moved to another access group. Type ``crm.contacts.CounterpartyAccessGroupChanged``."""

    counterparty_id: str
    access_group: str


TOPIC = COUNTERPARTY_TOPIC
EVENT_TYPES: dict[str, type[IntegrationEvent]] = {
    "crm.contacts.CounterpartyRegistered": CounterpartyRegistered,
    "crm.contacts.CounterpartyRenamed": CounterpartyRenamed,
    "crm.contacts.CounterpartyKindChanged": CounterpartyKindChanged,
    "crm.contacts.CounterpartyTaxIdChanged": CounterpartyTaxIdChanged,
    "crm.contacts.MainManagerAssigned": MainManagerAssigned,
    "crm.contacts.CounterpartyAccessGroupChanged": CounterpartyAccessGroupChanged,
}
"""Every public event type of this topic, by its CloudEvents type."""
