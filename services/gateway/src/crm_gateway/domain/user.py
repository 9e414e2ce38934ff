"""The user aggregate as a decider: ``decide(command, state) -> events``, ``evolve(state, event) -> state``.

Stream: ``user-<id>``. Username uniqueness is a cross-stream rule kept by a reservation stream
``username-<lowercased>`` (appended with NO_STREAM); API key ids are found through ``apikey-<id>``
streams the same way. Passwords arrive here already hashed: hashing is slow I/O-like work that
belongs to the application layer, and the domain must never see a plain password except to check
the password policy.

Every event carries, in its metadata (not here), the actor who caused it and the client address,
so grants are audited with who and when.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.events import DomainEvent, EventCatalog
from crm_shared.identity import LANGUAGES as LANGUAGES
from crm_shared.identity import ROLE_PERMISSIONS, ROLES, Role
from crm_shared.identity import Language as Language

MIN_PASSWORD_LENGTH = 10
# Bounded so a huge "password" cannot make hashing a denial of service.
MAX_PASSWORD_LENGTH = 256
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
GROUP_PATTERN = re.compile(r"^[^\s\x00-\x1f][^\x00-\x1f]{0,99}$")

catalog = EventCatalog()


def stream_of(user_id: str) -> str:
    """The event stream of one user."""
    return f"user-{user_id}"


def username_stream(username: str) -> str:
    """The reservation stream that makes a username (case-insensitively) unique."""
    return f"username-{username.casefold()}"


def api_key_stream(key_id: str) -> str:
    """The reservation stream that says which user owns an API key."""
    return f"apikey-{key_id}"


def audit_stream(day: datetime) -> str:
    """The stream of one day's sign-in events (not part of any user's stream)."""
    return f"audit-{day.date().isoformat()}"


# -- events ---------------------------------------------------------------------------------------


@catalog.register("gateway.UserCreated")
class UserCreated(DomainEvent):
    user_id: str
    username: str
    name: str
    password_hash: str
    language: Language
    created_at: datetime


@catalog.register("gateway.ProfileChanged")
class ProfileChanged(DomainEvent):
    user_id: str
    name: str
    language: Language


@catalog.register("gateway.PasswordChanged")
class PasswordChanged(DomainEvent):
    user_id: str
    password_hash: str


@catalog.register("gateway.RolesGranted")
class RolesGranted(DomainEvent):
    """The user's full set of roles from now on."""

    user_id: str
    roles: list[Role]


@catalog.register("gateway.AccessGroupsGranted")
class AccessGroupsGranted(DomainEvent):
    """The user's full set of access groups from now on."""

    user_id: str
    groups: list[str]


@catalog.register("gateway.UserLocked")
class UserLocked(DomainEvent):
    """Sign-in refused until ``until`` (None: until an administrator unlocks)."""

    user_id: str
    reason: str
    until: datetime | None


@catalog.register("gateway.UserUnlocked")
class UserUnlocked(DomainEvent):
    user_id: str


@catalog.register("gateway.ApiKeyIssued")
class ApiKeyIssued(DomainEvent):
    """A key for a system; only the SHA-256 of its secret is kept, never the secret."""

    user_id: str
    key_id: str
    name: str
    secret_sha256: str
    roles: list[Role]
    groups: list[str]
    issued_at: datetime


@catalog.register("gateway.ApiKeyRevoked")
class ApiKeyRevoked(DomainEvent):
    user_id: str
    key_id: str


# Reservation and audit streams: not part of the user aggregate.


@catalog.register("gateway.UsernameReserved")
class UsernameReserved(DomainEvent):
    username: str
    user_id: str


@catalog.register("gateway.ApiKeyReserved")
class ApiKeyReserved(DomainEvent):
    key_id: str
    user_id: str


@catalog.register("gateway.SignedIn")
class SignedIn(DomainEvent):
    user_id: str
    username: str
    groups_refused: list[str] | None = None
    """OIDC: access groups the identity provider claimed that the catalogue has no active entry for,
    so they were not granted (None when there were none)."""


@catalog.register("gateway.SignInFailed")
class SignInFailed(DomainEvent):
    """A refused sign-in; never carries the password that was tried."""

    username: str
    user_id: str | None
    reason: Literal["unknown_user", "wrong_password", "locked", "throttled"]
    retry_after: int | None = None
    """For ``throttled``: the seconds the source still had to wait."""


@catalog.register("gateway.SignedOut")
class SignedOut(DomainEvent):
    user_id: str


# -- commands -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateUser:
    user_id: str
    username: str
    name: str
    password_hash: str
    roles: frozenset[Role]
    groups: frozenset[str]
    language: Language
    now: datetime


@dataclass(frozen=True, slots=True)
class UpdateUser:
    """Change some details; fields left ``None`` stay as they are. ``roles``/``groups`` are full sets."""

    user_id: str
    now: datetime
    name: str | None = None
    language: Language | None = None
    roles: frozenset[Role] | None = None
    groups: frozenset[str] | None = None
    locked: bool | None = None


@dataclass(frozen=True, slots=True)
class ChangePassword:
    user_id: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class LockUser:
    user_id: str
    reason: str
    until: datetime | None


@dataclass(frozen=True, slots=True)
class IssueApiKey:
    user_id: str
    key_id: str
    name: str
    secret_sha256: str
    roles: frozenset[Role]
    groups: frozenset[str]
    all_groups: bool
    """Whether the owner may see every access group (then any group may be given to the key)."""
    now: datetime


@dataclass(frozen=True, slots=True)
class RevokeApiKey:
    user_id: str
    key_id: str


Command = CreateUser | UpdateUser | ChangePassword | LockUser | IssueApiKey | RevokeApiKey


# -- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    secret_sha256: str
    roles: frozenset[Role]
    groups: frozenset[str]
    issued_at: datetime
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    name: str
    password_hash: str
    language: Language
    created_at: datetime
    roles: frozenset[Role] = frozenset()
    groups: frozenset[str] = frozenset()
    locked: bool = False
    locked_until: datetime | None = None
    api_keys: dict[str, ApiKey] = field(default_factory=dict)

    def is_locked(self, now: datetime) -> bool:
        """Whether sign-in is refused at ``now`` (a timed lock ends by itself)."""
        return self.locked and (self.locked_until is None or now < self.locked_until)


State = User | None


def evolve(state: State, event: DomainEvent) -> State:
    """Fold one event into the state."""
    match event:
        case UserCreated():
            return User(
                id=event.user_id,
                username=event.username,
                name=event.name,
                password_hash=event.password_hash,
                language=event.language,
                created_at=event.created_at,
            )
        case ProfileChanged() if state is not None:
            return replace(state, name=event.name, language=event.language)
        case PasswordChanged() if state is not None:
            return replace(state, password_hash=event.password_hash)
        case RolesGranted() if state is not None:
            return replace(state, roles=frozenset(event.roles))
        case AccessGroupsGranted() if state is not None:
            return replace(state, groups=frozenset(event.groups))
        case UserLocked() if state is not None:
            return replace(state, locked=True, locked_until=event.until)
        case UserUnlocked() if state is not None:
            return replace(state, locked=False, locked_until=None)
        case ApiKeyIssued() if state is not None:
            key = ApiKey(
                id=event.key_id,
                name=event.name,
                secret_sha256=event.secret_sha256,
                roles=frozenset(event.roles),
                groups=frozenset(event.groups),
                issued_at=event.issued_at,
            )
            return replace(state, api_keys={**state.api_keys, key.id: key})
        case ApiKeyRevoked() if state is not None and event.key_id in state.api_keys:
            revoked = replace(state.api_keys[event.key_id], revoked=True)
            return replace(state, api_keys={**state.api_keys, event.key_id: revoked})
    return state


# -- rules ----------------------------------------------------------------------------------------


def check_password(password: str, field: str = "password") -> None:
    """The password policy; the error names ``field``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters", field=field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters", field=field)


def check_username(username: str) -> str:
    """The username as given, if it is valid."""
    if not USERNAME_PATTERN.match(username):
        raise DomainError(
            "a username has 2-64 letters, digits or . _ @ -, and starts with a letter or digit", field="username"
        )
    return username


def role_within(role: Role, roles: frozenset[Role]) -> bool:
    """Whether ``role`` grants nothing beyond what ``roles`` grant together (an administrator may hand
    out any role; a sales manager a read-only one)."""
    held = frozenset(p for r in roles for p in ROLE_PERMISSIONS.get(r, ()))
    return ROLE_PERMISSIONS.get(role, frozenset()) <= held


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 200:
        raise DomainError("name must have 1-200 characters", field="name")
    return cleaned


def _check_roles(roles: frozenset[Role]) -> list[Role]:
    unknown = sorted(str(r) for r in roles if r not in ROLES)
    if unknown:
        raise DomainError(f"unknown roles: {', '.join(unknown)}", field="roles")
    return sorted(roles)


def _check_groups(groups: frozenset[str]) -> list[str]:
    bad = sorted(g for g in groups if not GROUP_PATTERN.match(g))
    if bad:
        raise DomainError("an access group name has 1-100 printable characters", field="groups")
    return sorted(groups)


def decide(command: Command, state: State) -> list[DomainEvent]:
    """The events a command produces given the current state, or a :class:`DomainError`."""
    if isinstance(command, CreateUser):
        if state is not None:
            raise AlreadyExists(f"user {command.user_id} already exists")
        return _create(command)
    if state is None:
        raise NotFound(f"user {command.user_id} does not exist")
    match command:
        case UpdateUser():
            return _update(command, state)
        case ChangePassword():
            return [PasswordChanged(user_id=state.id, password_hash=command.password_hash)]
        case LockUser():
            return [UserLocked(user_id=state.id, reason=command.reason, until=command.until)]
        case IssueApiKey():
            return _issue_key(command, state)
        case RevokeApiKey():
            key = state.api_keys.get(command.key_id)
            if key is None:
                raise NotFound(f"no API key {command.key_id}")
            return [] if key.revoked else [ApiKeyRevoked(user_id=state.id, key_id=key.id)]
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


def _create(command: CreateUser) -> list[DomainEvent]:
    events: list[DomainEvent] = [
        UserCreated(
            user_id=command.user_id,
            username=check_username(command.username),
            name=_clean_name(command.name),
            password_hash=command.password_hash,
            language=command.language,
            created_at=command.now,
        )
    ]
    # Grants are separate events even at creation, so the audit trail shows every grant alike.
    if command.roles:
        events.append(RolesGranted(user_id=command.user_id, roles=_check_roles(command.roles)))
    if command.groups:
        events.append(AccessGroupsGranted(user_id=command.user_id, groups=_check_groups(command.groups)))
    return events


def _update(command: UpdateUser, state: User) -> list[DomainEvent]:
    events: list[DomainEvent] = []
    name = state.name if command.name is None else _clean_name(command.name)
    language = command.language or state.language
    if (name, language) != (state.name, state.language):
        events.append(ProfileChanged(user_id=state.id, name=name, language=language))
    if command.roles is not None and command.roles != state.roles:
        events.append(RolesGranted(user_id=state.id, roles=_check_roles(command.roles)))
    if command.groups is not None and command.groups != state.groups:
        events.append(AccessGroupsGranted(user_id=state.id, groups=_check_groups(command.groups)))
    if command.locked is True and not state.is_locked(command.now):
        events.append(UserLocked(user_id=state.id, reason="locked by an administrator", until=None))
    elif command.locked is False and state.locked:
        events.append(UserUnlocked(user_id=state.id))
    return events


def _issue_key(command: IssueApiKey, state: User) -> list[DomainEvent]:
    if command.key_id in state.api_keys:
        raise AlreadyExists(f"API key {command.key_id} exists already")
    extra_roles = sorted(r for r in command.roles if not role_within(r, state.roles))
    if extra_roles:
        raise DomainError(
            f"a key can only have roles whose permissions you have; not: {', '.join(extra_roles)}", field="roles"
        )
    extra_groups = sorted(command.groups - state.groups)
    if extra_groups and not command.all_groups:
        raise DomainError(f"a key can only have access groups you have; not: {', '.join(extra_groups)}", field="groups")
    name = " ".join(command.name.split())
    if not name or len(name) > 100:
        raise DomainError("name must have 1-100 characters", field="name")
    return [
        ApiKeyIssued(
            user_id=state.id,
            key_id=command.key_id,
            name=name,
            secret_sha256=command.secret_sha256,
            roles=_check_roles(command.roles),
            groups=_check_groups(command.groups),
            issued_at=command.now,
        )
    ]
