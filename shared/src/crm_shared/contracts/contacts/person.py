"""Public events of contact persons: topic ``crm.contacts.person.v1``.

These events carry **no personal data**: no names, birth dates, genders, descriptions or contact
information, not even encrypted. The topic is read by systems we do not control and kept by brokers
and their consumers beyond our reach, so whatever were published could not be erased. What is
published: ids, the owner and the private flag, links to counterparties (with the role code),
property values and category codes (business classification whose definitions administrators
choose, not personal data by our rule), which kinds of details changed, and the erasure. The
position at a counterparty is free text that may identify the person: it is withheld (ADR 15), the
field kept in this topic version for consumers written before and always null. Consumers read the
details through ``GET /api/v1/persons/{id}`` under the caller's access rights; after an erasure
there are none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from crm_shared.integration import IntegrationEvent

PERSON_TOPIC = "crm.contacts.person.v1"

DetailField = Literal["name", "birth_date", "birthday_reminder_days", "gender", "description", "contact_info"]


class PersonRegistered(IntegrationEvent):
    """A contact person entered the register. Type ``crm.contacts.PersonRegistered``."""

    person_id: str = Field(description="Stable id of the person (UUID).")
    owner: str = Field(description="User id of who created the person.")
    private: bool = Field(description="Only the owner may see the person.")
    registered_at: datetime


class PersonDetailsChanged(IntegrationEvent):
    """Some personal details changed; read them through the API. Type ``crm.contacts.PersonDetailsChanged``."""

    person_id: str
    fields: list[DetailField] = Field(description="Which details changed (their values are not published).")


class PersonPrivacyChanged(IntegrationEvent):
    """The person became private to its owner, or shared. Type ``crm.contacts.PersonPrivacyChanged``."""

    person_id: str
    private: bool


class PersonPropertiesChanged(IntegrationEvent):
    """The whole new map of property values (property code -> value); not personal data.
    Type ``crm.contacts.PersonPropertiesChanged``."""

    person_id: str
    values: dict[str, Any] = Field(description="Codes of the properties reference catalog -> their values.")


class PersonCategoriesChanged(IntegrationEvent):
    """The whole new list of category codes; not personal data. Type ``crm.contacts.PersonCategoriesChanged``."""

    person_id: str
    categories: list[str] = Field(description="Codes of the categories reference catalog.")


WITHHELD_POSITION = (
    "Withheld, always null (ADR 15): the job title is free text that may identify the person, so it is "
    "sealed with the person's key and never published; read it through GET /api/v1/persons/{id}. Events "
    "published before 2026-12 may carry it."
)


class PersonLinkedToCounterparty(IntegrationEvent):
    """The person now works for a counterparty. Type ``crm.contacts.PersonLinkedToCounterparty``."""

    person_id: str
    counterparty_id: str
    position: None = Field(default=None, description=WITHHELD_POSITION)
    role: str | None = Field(default=None, description="Code of the person-roles reference catalog.")


class PersonCounterpartyLinkChanged(IntegrationEvent):
    """Position or role at a counterparty changed (the position itself is withheld: read it through the
    API). Type ``crm.contacts.PersonCounterpartyLinkChanged``."""

    person_id: str
    counterparty_id: str
    position: None = Field(default=None, description=WITHHELD_POSITION)
    role: str | None = Field(default=None, description="Code of the person-roles reference catalog.")


class PersonUnlinkedFromCounterparty(IntegrationEvent):
    """The link to a counterparty was removed. Type ``crm.contacts.PersonUnlinkedFromCounterparty``."""

    person_id: str
    counterparty_id: str


class PersonErased(IntegrationEvent):
    """The person's personal data was erased (GDPR); drop any copy of it. Type ``crm.contacts.PersonErased``."""

    person_id: str
    erased_at: datetime


TOPIC = PERSON_TOPIC
EVENT_TYPES: dict[str, type[IntegrationEvent]] = {
    "crm.contacts.PersonRegistered": PersonRegistered,
    "crm.contacts.PersonDetailsChanged": PersonDetailsChanged,
    "crm.contacts.PersonPrivacyChanged": PersonPrivacyChanged,
    "crm.contacts.PersonPropertiesChanged": PersonPropertiesChanged,
    "crm.contacts.PersonCategoriesChanged": PersonCategoriesChanged,
    "crm.contacts.PersonLinkedToCounterparty": PersonLinkedToCounterparty,
    "crm.contacts.PersonCounterpartyLinkChanged": PersonCounterpartyLinkChanged,
    "crm.contacts.PersonUnlinkedFromCounterparty": PersonUnlinkedFromCounterparty,
    "crm.contacts.PersonErased": PersonErased,
}
"""Every public event type of this topic, by its CloudEvents type."""
