"""The access-group catalogue as a decider: ``decide(command, state) -> events``, ``evolve(state, event) -> state``.

Stream: ``access-group-<code>``. The code is the group's stable id (what users, API keys and records
store: ``general``, ``sofia``); the name is for people and may change. Groups are retired and restored,
never deleted: records keep naming a retired group, but it cannot be given to anyone or anything new.

A group granted before the catalogue existed may have a code outside :data:`CODE_PATTERN`; such a group
is *adopted* (:class:`AdoptGroup`) at start, so existing installations keep working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.events import DomainEvent, EventCatalog
from crm_shared.identity import ACCESS_GROUP_CODE_PATTERN as CODE_PATTERN

_CODE = re.compile(CODE_PATTERN)
_LEGACY_CODE = re.compile(r"^[^\s\x00-\x1f][^\x00-\x1f]{0,99}$")
"""What a group granted to a user before the catalogue could be (the users' old free-text rule)."""
MAX_NAME = 200

catalog = EventCatalog()


def stream_of(code: str) -> str:
    """The event stream of one access group."""
    return f"access-group-{code}"


STREAM_PREFIX = "access-group-"


# -- events ---------------------------------------------------------------------------------------


@catalog.register("gateway.AccessGroupDefined")
class AccessGroupDefined(DomainEvent):
    code: str
    name: str


@catalog.register("gateway.AccessGroupRenamed")
class AccessGroupRenamed(DomainEvent):
    code: str
    name: str


@catalog.register("gateway.AccessGroupRetired")
class AccessGroupRetired(DomainEvent):
    code: str


@catalog.register("gateway.AccessGroupRestored")
class AccessGroupRestored(DomainEvent):
    code: str


# -- commands -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DefineGroup:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class AdoptGroup:
    """Define a group already granted before the catalogue existed (any old code; the code as name)."""

    code: str


@dataclass(frozen=True, slots=True)
class ChangeGroup:
    """Fields left ``None`` stay as they are."""

    code: str
    name: str | None = None
    retired: bool | None = None


Command = DefineGroup | AdoptGroup | ChangeGroup


# -- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessGroup:
    code: str
    name: str
    retired: bool = False


State = AccessGroup | None


def evolve(state: State, event: DomainEvent) -> State:
    """Fold one event into the state."""
    match event:
        case AccessGroupDefined():
            return AccessGroup(code=event.code, name=event.name)
        case AccessGroupRenamed() if state is not None:
            return replace(state, name=event.name)
        case AccessGroupRetired() if state is not None:
            return replace(state, retired=True)
        case AccessGroupRestored() if state is not None:
            return replace(state, retired=False)
    return state


# -- rules ----------------------------------------------------------------------------------------


def check_code(code: str) -> str:
    """A new group's code, if it is valid."""
    if not _CODE.match(code):
        raise DomainError(
            "a code has 1-64 lower-case letters, digits, _ or -, and starts with a letter or digit", field="code"
        )
    return code


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME or any(ord(c) < 32 for c in cleaned):
        raise DomainError(f"name must have 1-{MAX_NAME} printable characters", field="name")
    return cleaned


def decide(command: Command, state: State) -> list[DomainEvent]:
    """The events a command produces given the current state, or a :class:`DomainError`."""
    match command:
        case DefineGroup():
            if state is not None:
                raise AlreadyExists(f"the access group {command.code!r} exists already", field="code")
            return [AccessGroupDefined(code=check_code(command.code), name=_clean_name(command.name))]
        case AdoptGroup():
            if state is not None:
                return []  # idempotent: seeding at every start
            if not _LEGACY_CODE.match(command.code):
                raise DomainError("an access group code has 1-100 printable characters", field="code")
            return [AccessGroupDefined(code=command.code, name=command.code)]
        case ChangeGroup():
            if state is None:
                raise NotFound(f"no access group {command.code}")
            events: list[DomainEvent] = []
            if command.name is not None:
                name = _clean_name(command.name)
                if name != state.name:
                    events.append(AccessGroupRenamed(code=state.code, name=name))
            if command.retired is True and not state.retired:
                events.append(AccessGroupRetired(code=state.code))
            elif command.retired is False and state.retired:
                events.append(AccessGroupRestored(code=state.code))
            return events
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover
