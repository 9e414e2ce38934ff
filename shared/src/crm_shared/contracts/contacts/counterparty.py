"""Public events of counterparties: topic ``crm.contacts.counterparty.v1``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from crm_shared.integration import IntegrationEvent

SOURCE = "crm/contacts"
COUNTERPARTY_TOPIC = "crm.contacts.counterparty.v1"

CounterpartyKind = Literal["buyer", "supplier", "other"]
LegalForm = Literal["legal", "natural"]


class CounterpartyRegistered(IntegrationEvent):
    """A counterparty entered the register. Type ``crm.contacts.CounterpartyRegistered``."""

    counterparty_id: str = Field(description="Stable id of the counterparty (UUID).")
    name: str
    kind: CounterpartyKind = Field(description="The first of ``relations`` (kept for consumers written before them).")
    tax_id: str | None = None
    main_manager: str = Field(description="User id of the responsible sales manager.")
    registered_at: datetime
    access_group: str = Field(default="general", description="Record-level security group (added in v1).")
    relations: list[CounterpartyKind] = Field(default_factory=list, description="Buyer, supplier and/or other.")
    legal_form: LegalForm = "legal"
    vat_id: str | None = None
    group: str | None = Field(default=None, description="Code of the counterparty group (reference data).")
    head_counterparty_id: str | None = Field(default=None, description="The head of its holding.")
    region: str | None = Field(default=None, description="Code of the business region (reference data).")
    comment: str = ""
    activity_kinds: list[str] = Field(default_factory=list, description="Codes of kinds of activity.")
    managers: list[str] = Field(default_factory=list, description="User ids of all its managers, main one included.")


class CounterpartyRenamed(IntegrationEvent):
    """The counterparty's name changed. Type ``crm.contacts.CounterpartyRenamed``."""

    counterparty_id: str
    name: str


class CounterpartyKindChanged(IntegrationEvent):
    """Published before relations existed: the counterparty now has exactly this one relation.
    Type ``crm.contacts.CounterpartyKindChanged``."""

    counterparty_id: str
    kind: CounterpartyKind


class CounterpartyRelationsChanged(IntegrationEvent):
    """Buyer, supplier and/or other. Type ``crm.contacts.CounterpartyRelationsChanged``."""

    counterparty_id: str
    relations: list[CounterpartyKind]


class CounterpartyDetailsChanged(IntegrationEvent):
    """New values of descriptive fields, only those that changed: any of ``legal_form``, ``vat_id``,
    ``region``, ``comment``, ``activity_kinds``. Type ``crm.contacts.CounterpartyDetailsChanged``."""

    counterparty_id: str
    changes: dict[str, Any]


class CounterpartyRegrouped(IntegrationEvent):
    """Moved to another counterparty group (null: none). Type ``crm.contacts.CounterpartyRegrouped``."""

    counterparty_id: str
    group: str | None


class HeadCounterpartyChanged(IntegrationEvent):
    """Joined or left a holding. Type ``crm.contacts.HeadCounterpartyChanged``."""

    counterparty_id: str
    head_counterparty_id: str | None


class ManagersChanged(IntegrationEvent):
    """The full list of managers, main one included. Type ``crm.contacts.ManagersChanged``."""

    counterparty_id: str
    managers: list[str]


class CounterpartyArchived(IntegrationEvent):
    """Archived: out of lists by default, no changes until restored. Type ``crm.contacts.CounterpartyArchived``."""

    counterparty_id: str
    reason: str = ""


class CounterpartyRestored(IntegrationEvent):
    """Back from the archive. Type ``crm.contacts.CounterpartyRestored``."""

    counterparty_id: str


class ContactEntry(IntegrationEvent):
    """One contact information entry: ``key`` is its normalised form (E.164 phone, lower-case e-mail)."""

    kind: str = Field(description="Code of the contact information kind (reference data).")
    type: Literal["address", "phone", "email", "web", "other"]
    value: str
    key: str
    main: bool = False
    comment: str = ""


class ContactInformationChanged(IntegrationEvent):
    """The whole new list of the counterparty's contact information.
    Type ``crm.contacts.ContactInformationChanged``."""

    counterparty_id: str
    entries: list[ContactEntry]


class CounterpartyPropertiesChanged(IntegrationEvent):
    """The whole new map of property values (property code -> value).
    Type ``crm.contacts.CounterpartyPropertiesChanged``."""

    counterparty_id: str
    values: dict[str, Any]


class CounterpartyCategoriesChanged(IntegrationEvent):
    """The whole new list of category codes. Type ``crm.contacts.CounterpartyCategoriesChanged``."""

    counterparty_id: str
    categories: list[str]


class InformationSourceRecorded(IntegrationEvent):
    """How the counterparty found us, valid from ``on`` until the next record (and for the source's
    actuality period). Type ``crm.contacts.InformationSourceRecorded``."""

    counterparty_id: str
    source: str = Field(description="Code of the information source (reference data).")
    on: date


class ExternalCode(IntegrationEvent):
    """The counterparty's code in another system. At most one counterparty carries each (system, code)
    at a time; codes are compared exactly as written."""

    system: str = Field(description="The other system, a lower-case code; ``erp`` is the ERP.")
    code: str = Field(description="The code there, e.g. the ERP's customer code of trade facts.")


class CounterpartyExternalCodesChanged(IntegrationEvent):
    """The whole new list of the counterparty's codes in other systems (set at registration, by a
    change or an import; emptied when it is merged into another, which gains them).
    Type ``crm.contacts.CounterpartyExternalCodesChanged``."""

    counterparty_id: str
    external_codes: list[ExternalCode]


class CounterpartyMerged(IntegrationEvent):
    """A duplicate merged into ``into``: re-point anything that refers to it.
    Type ``crm.contacts.CounterpartyMerged``."""

    counterparty_id: str
    into: str


class DuplicateAbsorbed(IntegrationEvent):
    """The duplicate ``merged`` was merged into this counterparty. Type ``crm.contacts.DuplicateAbsorbed``."""

    counterparty_id: str
    merged: str


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
    "crm.contacts.CounterpartyRelationsChanged": CounterpartyRelationsChanged,
    "crm.contacts.CounterpartyDetailsChanged": CounterpartyDetailsChanged,
    "crm.contacts.CounterpartyRegrouped": CounterpartyRegrouped,
    "crm.contacts.HeadCounterpartyChanged": HeadCounterpartyChanged,
    "crm.contacts.ManagersChanged": ManagersChanged,
    "crm.contacts.CounterpartyArchived": CounterpartyArchived,
    "crm.contacts.CounterpartyRestored": CounterpartyRestored,
    "crm.contacts.ContactInformationChanged": ContactInformationChanged,
    "crm.contacts.CounterpartyPropertiesChanged": CounterpartyPropertiesChanged,
    "crm.contacts.CounterpartyCategoriesChanged": CounterpartyCategoriesChanged,
    "crm.contacts.InformationSourceRecorded": InformationSourceRecorded,
    "crm.contacts.CounterpartyMerged": CounterpartyMerged,
    "crm.contacts.DuplicateAbsorbed": DuplicateAbsorbed,
    "crm.contacts.CounterpartyExternalCodesChanged": CounterpartyExternalCodesChanged,
}
"""Every public event type of this topic, by its CloudEvents type."""
