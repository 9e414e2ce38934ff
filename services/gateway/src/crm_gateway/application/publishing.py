"""The gateway's public events: the directory of people (``crm.identity.user.v1``) and the
access-group catalogue (``crm.identity.access-group.v1``), translated from its own event log.

Only what other services need to check and show references is published (see the contracts in
:mod:`crm_shared.contracts.identity`): never a password hash, an API key, roles or sign-ins.
A user counts as retired while an administrator has locked the account without an end.
"""

from __future__ import annotations

from crm_gateway.domain import access_group as g
from crm_gateway.domain import user as u
from crm_shared.contracts.identity import access_group as groups
from crm_shared.contracts.identity import user as users
from crm_shared.eventstore import RecordedEvent
from crm_shared.integration import Envelope, IntegrationEvent

_GROUP_TYPES: dict[type[object], str] = {
    g.AccessGroupDefined: "crm.identity.AccessGroupDefined",
    g.AccessGroupRenamed: "crm.identity.AccessGroupRenamed",
    g.AccessGroupRetired: "crm.identity.AccessGroupRetired",
    g.AccessGroupRestored: "crm.identity.AccessGroupRestored",
}


def _user_event(event: object) -> tuple[str, IntegrationEvent] | None:
    match event:
        case u.UserCreated():
            registered = users.UserRegistered(user_id=event.user_id, username=event.username, name=event.name)
            return "crm.identity.UserRegistered", registered
        case u.ProfileChanged():
            return "crm.identity.UserRenamed", users.UserRenamed(user_id=event.user_id, name=event.name)
        case u.UserLocked() if event.until is None:
            return "crm.identity.UserRetired", users.UserRetired(user_id=event.user_id)
        case u.UserUnlocked():
            return "crm.identity.UserReinstated", users.UserReinstated(user_id=event.user_id)
    return None


def translate(recorded: RecordedEvent) -> list[Envelope]:
    """The public event of one stored gateway event, if it has one."""
    if recorded.stream.startswith("user-"):
        found = _user_event(u.catalog.decode(recorded))
        if found is None:
            return []
        ce_type, contract = found
        subject, topic = recorded.stream.removeprefix("user-"), users.TOPIC
    elif recorded.stream.startswith(g.STREAM_PREFIX):
        event = g.catalog.decode(recorded)
        ce_type = _GROUP_TYPES[type(event)]
        contract = groups.EVENT_TYPES[ce_type].model_validate(event.model_dump())
        subject, topic = recorded.stream.removeprefix(g.STREAM_PREFIX), groups.TOPIC
    else:
        return []
    data = contract.model_dump(mode="json")
    return [Envelope.of(recorded, type=ce_type, source=users.SOURCE, subject=subject, topic=topic, data=data)]
