"""The gateway's views: the user list, API keys, and the audit trail of security events.

The gateway publishes no integration events, so its views are fed straight from its own event
log (see :func:`translate`), through the kernel's :class:`~crm_shared.projections.ProjectionRunner`
(versioned collections, rebuild on a version bump, per-document guards).

The audit trail never holds a secret: each entry keeps an allow-list of an event's fields, so a
password hash or an API key's digest can never reach it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from crm_gateway.domain import user as u
from crm_shared.events import SCHEMA_VERSION, DomainEvent, UnknownEventType
from crm_shared.eventstore import RecordedEvent
from crm_shared.integration import Envelope
from crm_shared.projections import GetDocument
from crm_shared.readstore import Change, Index, Put

USERS = "users"
API_KEYS = "api_keys"
AUDIT = "audit"
SOURCE = "crm/gateway"
PRIVATE_TOPIC = "gateway.private"
"""Never published: the envelopes of :func:`translate` only feed this service's own views."""

# action name, and the event fields an audit entry may show (never hashes or secrets)
_AUDITED: dict[type[DomainEvent], tuple[str, tuple[str, ...]]] = {
    u.UserCreated: ("user_created", ("username", "name", "language")),
    u.ProfileChanged: ("profile_changed", ("name", "language")),
    u.PasswordChanged: ("password_changed", ()),
    u.RolesGranted: ("roles_granted", ("roles",)),
    u.AccessGroupsGranted: ("groups_granted", ("groups",)),
    u.UserLocked: ("user_locked", ("reason", "until")),
    u.UserUnlocked: ("user_unlocked", ()),
    u.ApiKeyIssued: ("api_key_issued", ("key_id", "name", "roles", "groups")),
    u.ApiKeyRevoked: ("api_key_revoked", ("key_id",)),
    u.SignedIn: ("signed_in", ("username",)),
    u.SignInFailed: ("sign_in_failed", ("username", "reason")),
    u.SignedOut: ("signed_out", ()),
}


def translate(recorded: RecordedEvent) -> list[Envelope]:
    """Every stored gateway event as an envelope for the views, with actor and address."""
    occurred = recorded.metadata.get("occurred_at")
    headers = {
        SCHEMA_VERSION: str(recorded.metadata.get(SCHEMA_VERSION, 1)),
        "actor": str(recorded.metadata.get("actor", "")),
        "ip": str(recorded.metadata.get("ip") or ""),
    }
    return [
        Envelope(
            id=str(recorded.id),
            type=recorded.type,
            source=SOURCE,
            subject=recorded.stream,
            time=datetime.fromisoformat(occurred) if isinstance(occurred, str) else recorded.recorded_at,
            topic=PRIVATE_TOPIC,
            data=recorded.data,
            stream=recorded.stream,
            stream_version=recorded.stream_version,
            position=recorded.position,
            extra_headers=headers,
        )
    ]


def username_key(username: str) -> str:
    """The search form of a username."""
    return username.casefold()


class GatewayViews:
    """Projection of the gateway's own log into ``users``, ``api_keys`` and ``audit``."""

    name = "gateway"
    version = 1
    topics: Sequence[str] = (PRIVATE_TOPIC,)  # fed from this service's log only, never from the bus
    collections: Mapping[str, Sequence[Index]] = {
        USERS: (Index(("username_key",)),),
        API_KEYS: (Index(("issued_at",)), Index(("user_id", "issued_at"))),
        AUDIT: (Index(("order",)), Index(("user_id", "order")), Index(("actor", "order"))),
    }

    async def changes(self, event: Envelope, get: GetDocument, collection: Callable[[str], str]) -> list[Change]:
        """User events update the user (and key) documents; security events add an audit entry."""
        try:
            domain = u.catalog.decode_raw(event.type, event.data, int(event.extra_headers.get(SCHEMA_VERSION, "1")))
        except UnknownEventType:
            return []
        changes: list[Change] = []
        user_doc = await self._user_change(domain, event, get, collection(USERS), changes)
        await self._key_change(domain, event, get, collection(API_KEYS), changes)
        audited = _AUDITED.get(type(domain))
        if audited is not None:
            action, shown = audited
            data = domain.model_dump(mode="json")
            user_id = data.get("user_id")
            username = data.get("username") or (user_doc or {}).get("username")
            if username is None and user_id:
                username = ((await get(collection(USERS), str(user_id))) or {}).get("username")
            entry = {
                "_id": event.id,
                "_version": 1,  # entries never change: a replay is a no-op
                "order": -event.position,  # the store sorts ascending; newest first is the natural order here
                "at": event.time.isoformat(),
                "action": action,
                "actor": event.extra_headers.get("actor") or None,
                "ip": event.extra_headers.get("ip") or None,
                "user_id": user_id,
                "username": username,
                "details": {k: data[k] for k in shown if k in data},
            }
            changes.append(Put(collection(AUDIT), entry))
        return changes

    @staticmethod
    async def _user_change(
        domain: DomainEvent, event: Envelope, get: GetDocument, target: str, changes: list[Change]
    ) -> dict[str, Any] | None:
        if not event.stream.startswith("user-"):
            return None
        if isinstance(domain, u.UserCreated):
            document: dict[str, Any] = {
                "_id": domain.user_id,
                "username": domain.username,
                "name": domain.name,
                "language": domain.language,
                "roles": [],
                "groups": [],
                "locked": False,
                "locked_until": None,
                "created_at": domain.created_at.isoformat(),
                "created_by": event.extra_headers.get("actor") or None,
            }
        else:
            current = await get(target, event.stream.removeprefix("user-"))
            if current is None:
                return None
            document = dict(current)
            match domain:
                case u.ProfileChanged():
                    document.update(name=domain.name, language=domain.language)
                case u.RolesGranted():
                    document["roles"] = list(domain.roles)
                case u.AccessGroupsGranted():
                    document["groups"] = list(domain.groups)
                case u.UserLocked():
                    document.update(locked=True, locked_until=domain.until.isoformat() if domain.until else None)
                case u.UserUnlocked():
                    document.update(locked=False, locked_until=None)
        document["_version"] = event.stream_version
        document["username_key"] = username_key(str(document["username"]))
        document["updated_at"] = event.time.isoformat()
        changes.append(Put(target, document))
        return document

    @staticmethod
    async def _key_change(
        domain: DomainEvent, event: Envelope, get: GetDocument, target: str, changes: list[Change]
    ) -> None:
        if isinstance(domain, u.ApiKeyIssued):
            document: dict[str, Any] = {
                "_id": domain.key_id,
                "user_id": domain.user_id,
                "name": domain.name,
                "roles": list(domain.roles),
                "groups": list(domain.groups),
                "issued_at": domain.issued_at.isoformat(),
                "revoked": False,
                "revoked_at": None,
            }
        elif isinstance(domain, u.ApiKeyRevoked):
            current = await get(target, domain.key_id)
            if current is None:
                return
            document = {**current, "revoked": True, "revoked_at": event.time.isoformat()}
        else:
            return
        document["_version"] = event.stream_version
        changes.append(Put(target, document))
