"""Public events of the access-group catalogue: topic ``crm.identity.access-group.v1``.

An access group is what record-level security is keyed by: each counterparty belongs to one, and a
user sees the records of the groups granted to them. Groups are identified by a stable ``code``
(what records and users store, e.g. ``general``) and have a display ``name`` that may change. Groups
are retired and restored, never deleted: records keep referring to a retired group, but no new record
or grant may name it. The subject (Kafka key) is the code.
"""

from __future__ import annotations

from pydantic import Field

from crm_shared.identity import ACCESS_GROUP_CODE_PATTERN
from crm_shared.integration import IntegrationEvent

ACCESS_GROUP_TOPIC = "crm.identity.access-group.v1"

CODE_PATTERN = ACCESS_GROUP_CODE_PATTERN

DEFAULT_CODE = "general"
"""The group every installation has, and the default of a new counterparty."""


class AccessGroupDefined(IntegrationEvent):
    """A new group. Type ``crm.identity.AccessGroupDefined``."""

    code: str = Field(description="The group's id; never changes.")
    name: str = Field(description="The display name.")


class AccessGroupRenamed(IntegrationEvent):
    """The display name changed. Type ``crm.identity.AccessGroupRenamed``."""

    code: str
    name: str


class AccessGroupRetired(IntegrationEvent):
    """No longer offered for new records or grants; existing ones keep it. Type ``crm.identity.AccessGroupRetired``."""

    code: str


class AccessGroupRestored(IntegrationEvent):
    """Offered again. Type ``crm.identity.AccessGroupRestored``."""

    code: str


TOPIC = ACCESS_GROUP_TOPIC
EVENT_TYPES: dict[str, type[IntegrationEvent]] = {
    "crm.identity.AccessGroupDefined": AccessGroupDefined,
    "crm.identity.AccessGroupRenamed": AccessGroupRenamed,
    "crm.identity.AccessGroupRetired": AccessGroupRetired,
    "crm.identity.AccessGroupRestored": AccessGroupRestored,
}
"""Every public event type of this topic, by its CloudEvents type."""
