"""The gateway's views: the user list (and the words of its names, for the directory search), API
keys, the access-group catalogue, and the audit trail of security events.

The gateway publishes no integration events, so its views are fed straight from its own event
log (see :func:`translate`), through the kernel's :class:`~crm_shared.projections.ProjectionRunner`
(versioned collections, rebuild on a version bump, per-document guards).

The audit trail never holds a secret: each entry keeps an allow-list of an event's fields, so a
password hash or an API key's digest can never reach it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from crm_gateway.domain import access_group as g
from crm_gateway.domain import user as u
from crm_shared.events import SCHEMA_VERSION, DomainEvent, UnknownEventType
from crm_shared.eventstore import RecordedEvent
from crm_shared.integration import Envelope
from crm_shared.projections import Derive, Fact, On, View
from crm_shared.readstore import Change, Delete, Document, Index, Put
from crm_shared.text import search_words

USERS = "users"
API_KEYS = "api_keys"
USER_WORDS = "user_words"
"""One entry per word of a user's name and username (``<word> <user id>``), for the directory search."""
ACCESS_GROUPS = "access_groups"
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
    u.SignedIn: ("signed_in", ("username", "groups_refused")),
    u.SignInFailed: ("sign_in_failed", ("username", "reason", "retry_after")),
    u.SignedOut: ("signed_out", ()),
    g.AccessGroupDefined: ("access_group_defined", ("code", "name")),
    g.AccessGroupRenamed: ("access_group_renamed", ("code", "name")),
    g.AccessGroupRetired: ("access_group_retired", ("code",)),
    g.AccessGroupRestored: ("access_group_restored", ("code",)),
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


def _user_id(fact: Fact[Any]) -> str | None:
    stream = fact.envelope.stream
    return stream.removeprefix("user-") if stream.startswith("user-") else None


def _user(before: Document | None, fact: Fact[Any]) -> Document | None:
    """UserCreated creates the user; the other events of its stream update it."""
    domain, event = fact.contract, fact.envelope
    if isinstance(domain, u.UserCreated):
        document: Document = {
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
    elif before is None:
        return None
    else:
        document = before
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
    document["username_key"] = username_key(str(document["username"]))
    document["name_key"] = f"{str(document['name']).casefold()}\x00{document['username_key']}"
    document["updated_at"] = event.time.isoformat()
    return document


def user_words(document: Document | None) -> set[str]:
    """The search words of a user: those of the name and of the username, case-folded."""
    if document is None:
        return set()
    return set(search_words(str(document.get("name", "")))) | set(search_words(str(document.get("username", ""))))


def _derive_words(id: str, versions: Sequence[Document | None], collection: Callable[[str], str]) -> list[Change]:
    """The word entries of a user after a batch: those no longer there deleted, new ones written."""
    before, after = versions[0], versions[-1]
    old, new = user_words(before), user_words(after)
    if after is None or old == new:
        return []
    target, version = collection(USER_WORDS), int(after["_version"])
    changes: list[Change] = [Delete(target, f"{w} {id}", version) for w in sorted(old - new)]
    changes += [Put(target, {"_id": f"{w} {id}", "_version": version, "word": w, "user_id": id}) for w in sorted(new)]
    return changes


def _group_code(fact: Fact[Any]) -> str:
    return str(fact.data["code"])


def _group(before: Document | None, fact: Fact[Any]) -> Document | None:
    domain = fact.contract
    match domain:
        case g.AccessGroupDefined():
            return {"code": domain.code, "name": domain.name, "retired": False}
        case g.AccessGroupRenamed() if before is not None:
            return {**before, "name": domain.name}
        case g.AccessGroupRetired() | g.AccessGroupRestored() if before is not None:
            return {**before, "retired": isinstance(domain, g.AccessGroupRetired)}
    return None


def _key_id(fact: Fact[Any]) -> str:
    return str(fact.data["key_id"])


def _key_issued(before: Document | None, fact: Fact[Any]) -> Document:
    domain = fact.contract
    assert isinstance(domain, u.ApiKeyIssued)
    return {
        "user_id": domain.user_id,
        "name": domain.name,
        "roles": list(domain.roles),
        "groups": list(domain.groups),
        "issued_at": domain.issued_at.isoformat(),
        "revoked": False,
        "revoked_at": None,
    }


def _key_revoked(before: Document | None, fact: Fact[Any]) -> Document | None:
    if before is None:
        return None
    return {**before, "revoked": True, "revoked_at": fact.envelope.time.isoformat()}


def _entry_id(fact: Fact[Any]) -> str:
    return fact.envelope.id


def _entry_version(event: Envelope) -> int:
    return 1  # entries never change: a replay is a no-op


def _user_of_entry(fact: Fact[Any]) -> Iterable[tuple[str, str]]:
    user_id = fact.data.get("user_id")
    return [(USERS, str(user_id))] if user_id else []


def _audit(action: str, shown: tuple[str, ...]) -> On:
    """The audit entry of a security event: an allow-list of its fields, never a secret."""

    def apply(before: Document | None, fact: Fact[Any]) -> Document:
        data, event = fact.data, fact.envelope
        user_id = data.get("user_id")
        username = data.get("username")
        if username is None and user_id:
            username = (fact.read(USERS, str(user_id)) or {}).get("username")
        return {
            "order": -event.position,  # the store sorts ascending; newest first is the natural order here
            "at": event.time.isoformat(),
            "action": action,
            "actor": event.extra_headers.get("actor") or None,
            "ip": event.extra_headers.get("ip") or None,
            "user_id": user_id,
            "username": username,
            "details": {k: data[k] for k in shown if data.get(k) is not None},
        }

    return On(AUDIT, _entry_id, apply, version=_entry_version, reads=_user_of_entry)


def _handlers() -> dict[str, tuple[On, ...]]:
    """Per event type: the user (and key) documents it changes, then its audit entry."""
    user = On(USERS, _user_id, _user)
    keys = {
        u.ApiKeyIssued: On(API_KEYS, _key_id, _key_issued),
        u.ApiKeyRevoked: On(API_KEYS, _key_id, _key_revoked),
    }
    handlers: dict[str, tuple[On, ...]] = {}
    for name in u.catalog.names():
        cls = u.catalog.class_of(name)
        ons = [user]
        if cls in keys:
            ons.append(keys[cls])
        if cls in _AUDITED:
            ons.append(_audit(*_AUDITED[cls]))
        handlers[name] = tuple(ons)
    group = On(ACCESS_GROUPS, _group_code, _group)
    for name in g.catalog.names():
        cls = g.catalog.class_of(name)
        handlers[name] = (group, _audit(*_AUDITED[cls])) if cls in _AUDITED else (group,)
    return handlers


class GatewayViews(View):
    """Projection of the gateway's own log into ``users`` (and ``user_words``), ``api_keys``,
    ``access_groups`` and ``audit``."""

    name = "gateway"
    version = 2
    topics: Sequence[str] = (PRIVATE_TOPIC,)  # fed from this service's log only, never from the bus
    collections: Mapping[str, Sequence[Index]] = {
        USERS: (Index(("username_key",)), Index(("name_key",))),
        USER_WORDS: (Index(("word",)),),
        ACCESS_GROUPS: (Index(("retired", "code")), Index(("code",))),
        API_KEYS: (Index(("issued_at",)), Index(("user_id", "issued_at"))),
        AUDIT: (Index(("order",)), Index(("user_id", "order")), Index(("actor", "order"))),
    }
    handlers: Mapping[str, Sequence[On]] = _handlers()
    derived: Mapping[str, Derive] = {USERS: _derive_words}
    log_data_is_contract = False  # translate passes the stored data on: the decoded event gives it

    def parse(self, event: Envelope) -> BaseModel | None:
        """The gateway's own domain event (upcast to its current schema), not a public contract."""
        version = int(event.extra_headers.get(SCHEMA_VERSION, "1"))
        for catalog in (u.catalog, g.catalog):
            try:
                return catalog.decode_raw(event.type, event.data, version)
            except UnknownEventType:
                continue
        return None
