"""Public events of the user directory: topic ``crm.identity.user.v1``.

Who the CRM's people are, so other services can check a reference to a user (a counterparty's
managers, an interaction's responsible user and participants) and show a name beside an id. Only what
that needs is published: the id, the username, the display name, and whether the user is active. No
password data, no e-mail, no roles or access groups (those are the gateway's business). The subject
(Kafka key) is the user id.

A user is **inactive** (``active: false``, "retired") while an administrator has locked the account
without an end (``PATCH /api/v1/users/{id}`` with ``locked: true``); a lock-out after failed sign-ins
ends by itself and does not change this. An inactive user may not be given new work (new references
to the user are refused); records that already name the user keep them.
"""

from __future__ import annotations

from pydantic import Field

from crm_shared.integration import IntegrationEvent

SOURCE = "crm/gateway"
USER_TOPIC = "crm.identity.user.v1"


class UserRegistered(IntegrationEvent):
    """A new user. Type ``crm.identity.UserRegistered``."""

    user_id: str = Field(description="Stable id of the user (what records store as a manager or participant).")
    username: str = Field(description="The sign-in name; unique in any case.")
    name: str = Field(description="The display name.")
    active: bool = Field(default=True, description="False while an administrator has retired (locked) the user.")


class UserRenamed(IntegrationEvent):
    """The display name changed. Type ``crm.identity.UserRenamed``."""

    user_id: str
    name: str


class UserRetired(IntegrationEvent):
    """An administrator locked the user without an end: no new references to the user are accepted.
    Type ``crm.identity.UserRetired``."""

    user_id: str


class UserReinstated(IntegrationEvent):
    """The user is active again. Type ``crm.identity.UserReinstated``."""

    user_id: str


TOPIC = USER_TOPIC
EVENT_TYPES: dict[str, type[IntegrationEvent]] = {
    "crm.identity.UserRegistered": UserRegistered,
    "crm.identity.UserRenamed": UserRenamed,
    "crm.identity.UserRetired": UserRetired,
    "crm.identity.UserReinstated": UserReinstated,
}
"""Every public event type of this topic, by its CloudEvents type."""
