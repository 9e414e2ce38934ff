"""Public events of reference data: topic ``crm.contacts.reference.v1``.

Administrators keep small catalogs of entries that other records refer to by ``code`` (unique within
its catalog, never reused: entries are retired and restored, never deleted). Every event names the
catalog and the code; the subject (Kafka key) is ``<catalog>:<code>``. ``attributes`` depends on the
catalog; :data:`ATTRIBUTES` has a model for the catalogs whose attributes other contexts use
(``SourceAttributes.model_validate(event.attributes)``):

=============== ===========================================================================
catalog         attributes
=============== ===========================================================================
contact-kinds   ``type`` (address, phone, email, web, other), ``applies_to``
person-roles    none
properties      ``value_type`` (string, number, date, boolean, choice), ``choices``, ``applies_to``
categories      ``applies_to`` (counterparty, person, both)
sources         ``actuality_days`` (0: never expires)
groups          ``parent`` (code of the group above, or null)
activity-kinds  none
regions         none
=============== ===========================================================================
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.contracts.contacts.counterparty import SOURCE as SOURCE
from crm_shared.integration import IntegrationEvent

TOPIC = "crm.contacts.reference.v1"

AppliesTo = Literal["counterparty", "person", "both"]
NAMES = (
    "The name in UI languages (bg, en) where it differs by language, as for the entries a new installation "
    "starts with; empty after an administrator renames the entry. Show names[language], else name."
)


class ReferenceEntryDefined(IntegrationEvent):
    """A new entry. Type ``crm.contacts.ReferenceEntryDefined``."""

    catalog: str = Field(description="contact-kinds, person-roles, properties, categories, sources, groups, ...")
    code: str = Field(description="The entry's id within its catalog; never changes.")
    name: str
    attributes: dict[str, Any] = Field(default_factory=dict, description="The catalog's attributes (see above).")
    names: dict[str, str] = Field(default_factory=dict, description=NAMES)


class ReferenceEntryChanged(IntegrationEvent):
    """The name or attributes changed; carries the whole entry after the change.
    Type ``crm.contacts.ReferenceEntryChanged``."""

    catalog: str
    code: str
    name: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    names: dict[str, str] = Field(default_factory=dict, description=NAMES)


class ReferenceEntryRetired(IntegrationEvent):
    """No longer offered for new records; existing ones keep referring to it.
    Type ``crm.contacts.ReferenceEntryRetired``."""

    catalog: str
    code: str


class ReferenceEntryRestored(IntegrationEvent):
    """Offered again. Type ``crm.contacts.ReferenceEntryRestored``."""

    catalog: str
    code: str


class _Attributes(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class SourceAttributes(_Attributes):
    """An information source: how long a recorded source stays current."""

    actuality_days: int = Field(default=0, ge=0, description="Days a recorded source stays current; 0: never expires.")


class GroupAttributes(_Attributes):
    """A counterparty group: groups form a tree."""

    parent: str | None = Field(default=None, description="Code of the group above, or null at the top.")


class PropertyAttributes(_Attributes):
    """A user-defined property of counterparties or contact persons."""

    value_type: Literal["string", "number", "date", "boolean", "choice"]
    choices: list[str] = Field(default_factory=list, description="The allowed values when value_type is choice.")
    applies_to: AppliesTo = "both"


class CategoryAttributes(_Attributes):
    """A category (tag)."""

    applies_to: AppliesTo = "both"


class ContactKindAttributes(_Attributes):
    """A kind of contact information."""

    type: Literal["address", "phone", "email", "web", "other"]
    applies_to: AppliesTo = "both"


ATTRIBUTES: dict[str, type[BaseModel]] = {
    "sources": SourceAttributes,
    "groups": GroupAttributes,
    "properties": PropertyAttributes,
    "categories": CategoryAttributes,
    "contact-kinds": ContactKindAttributes,
}
"""The model of ``attributes`` per catalog (catalogs not listed have none)."""

EVENT_TYPES: dict[str, type[IntegrationEvent]] = {
    "crm.contacts.ReferenceEntryDefined": ReferenceEntryDefined,
    "crm.contacts.ReferenceEntryChanged": ReferenceEntryChanged,
    "crm.contacts.ReferenceEntryRetired": ReferenceEntryRetired,
    "crm.contacts.ReferenceEntryRestored": ReferenceEntryRestored,
}
"""Every public event type of this topic, by its CloudEvents type."""
