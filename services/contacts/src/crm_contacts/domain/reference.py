"""Reference data: small catalogs that administrators define (kinds of contact information, roles of
contact persons, properties, categories, information sources, counterparty groups, kinds of activity,
business regions), as a decider. One stream per entry: ``reference-<catalog>-<code>``.

Entries are retired and restored, never deleted, since history refers to them by code. Each catalog
has its own attributes (:data:`SCHEMAS`), checked here: a property's ``value_type`` and a contact
kind's ``type`` cannot change once defined (stored values were typed by them), only properties of
value type ``choice`` have (and need) ``choices``, and a group's parent must be an active group that
does not make a cycle. The parent's chain of ancestors comes with the command (see :class:`Ancestor`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

from pydantic import Field

from crm_contacts.domain.contact_info import CONTACT_TYPES
from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.events import DomainEvent, EventCatalog
from crm_shared.identity import LANGUAGES, Language

Catalog = Literal[
    "contact-kinds", "person-roles", "properties", "categories", "sources", "groups", "activity-kinds", "regions"
]
CATALOGS: tuple[str, ...] = get_args(Catalog)
AppliesTo = Literal["counterparty", "person", "both"]
APPLIES_TO: tuple[str, ...] = get_args(AppliesTo)
ValueType = Literal["string", "number", "date", "boolean", "choice"]
VALUE_TYPES: tuple[str, ...] = get_args(ValueType)

CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_CODE = re.compile(CODE_PATTERN)
MAX_NAME = 200
MAX_CHOICES = 500
MAX_CHOICE = 200
MAX_ACTUALITY_DAYS = 36_500
MAX_GROUP_DEPTH = 32
"""Groups nest at most this deep; the ancestors a command carries are read up to this many."""

event_catalog = EventCatalog()


def stream_of(catalog: str, code: str) -> str:
    """The event stream of one entry."""
    return f"reference-{catalog}-{code}"


# -- the catalogs and their attributes -------------------------------------------------------------

AttributeType = Literal["choice", "integer", "list", "code"]


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute of a catalog's entries: ``choice`` (one of ``options``), ``integer`` (within
    ``minimum``..``maximum``), ``list`` (distinct texts) or ``code`` (of an entry of ``refers_to``, or null)."""

    name: str
    type: AttributeType
    options: tuple[str, ...] = ()
    default: Any = None
    required: bool = False
    immutable: bool = False
    minimum: int | None = None
    maximum: int | None = None
    refers_to: str | None = None


_APPLIES_TO = Attribute("applies_to", "choice", APPLIES_TO, default="both")
SCHEMAS: dict[str, tuple[Attribute, ...]] = {
    "contact-kinds": (Attribute("type", "choice", CONTACT_TYPES, required=True, immutable=True), _APPLIES_TO),
    "person-roles": (),
    "properties": (
        Attribute("value_type", "choice", VALUE_TYPES, required=True, immutable=True),
        Attribute("choices", "list", default=()),
        _APPLIES_TO,
    ),
    "categories": (_APPLIES_TO,),
    "sources": (Attribute("actuality_days", "integer", default=0, minimum=0, maximum=MAX_ACTUALITY_DAYS),),
    "groups": (Attribute("parent", "code", refers_to="groups"),),
    "activity-kinds": (),
    "regions": (),
}
"""The attributes of each catalog's entries, besides ``code`` and ``name``."""


def check_catalog(catalog: str) -> None:
    """Refuse an unknown catalog (404)."""
    if catalog not in SCHEMAS:
        raise NotFound(f"there is no reference catalog {catalog!r}; there are: {', '.join(CATALOGS)}", field="catalog")


def is_code(code: object) -> bool:
    """Whether ``code`` is 1-64 lower-case Latin letters, digits, ``_`` and ``-``, not starting with either."""
    return isinstance(code, str) and _CODE.match(code) is not None


def check_code(code: str) -> None:
    """Refuse a code that is not lower-case Latin letters, digits, ``_`` and ``-`` (up to 64)."""
    if not is_code(code):
        raise DomainError(
            "a code is 1-64 lower-case Latin letters, digits, '_' or '-', starting with a letter or digit",
            field="code",
        )


def clean_names(names: Mapping[Language, str]) -> dict[str, str]:
    """The entry's name in UI languages (``bg``, ``en``), each cleaned like :func:`clean_name`."""
    cleaned: dict[str, str] = {}
    for language, name in sorted(names.items()):
        if language not in LANGUAGES:
            raise DomainError(f"names are given in {', '.join(LANGUAGES)}", field=f"names.{language}")
        cleaned[language] = clean_name(name, field=f"names.{language}")
    return cleaned


def clean_name(name: str, field: str = "name") -> str:
    """The name single-spaced; 1 to 200 characters."""
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise DomainError("the name must not be blank", field=field)
    if len(cleaned) > MAX_NAME:
        raise DomainError(f"the name has at most {MAX_NAME} characters", field=field)
    return cleaned


def clean_attributes(
    catalog: str, given: Mapping[str, Any], current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every attribute of an entry of ``catalog``: ``given`` over ``current`` (or the defaults when
    defining), each checked; a DomainError names ``attributes.<name>``."""
    schema = {a.name: a for a in SCHEMAS[catalog]}
    for name in given:
        if name not in schema:
            raise DomainError(f"entries of {catalog} have no attribute {name!r}", field=f"attributes.{name}")
    result: dict[str, Any] = {}
    for attr in schema.values():
        where = f"attributes.{attr.name}"
        if attr.name in given:
            value = _checked(attr, given[attr.name], where)
            if current is not None and attr.immutable and value != current.get(attr.name):
                raise DomainError(f"{attr.name} cannot change once defined", field=where)
        elif current is not None:
            value = current.get(attr.name, _default(attr))
        elif attr.required:
            raise DomainError(f"{attr.name} is required for {catalog}", field=where)
        else:
            value = _default(attr)
        result[attr.name] = value
    if catalog == "properties":
        if result["value_type"] == "choice" and not result["choices"]:
            raise DomainError("a property of value type choice needs its choices", field="attributes.choices")
        if result["value_type"] != "choice" and result["choices"]:
            raise DomainError("only properties of value type choice have choices", field="attributes.choices")
    return result


def _default(attr: Attribute) -> Any:
    return list(attr.default) if isinstance(attr.default, tuple) else attr.default


def _checked(attr: Attribute, value: Any, where: str) -> Any:
    match attr.type:
        case "choice":
            if value not in attr.options:
                raise DomainError(f"{attr.name} is one of: {', '.join(attr.options)}", field=where)
            return value
        case "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                raise DomainError(f"{attr.name} is a whole number", field=where)
            if (attr.minimum is not None and value < attr.minimum) or (
                attr.maximum is not None and value > attr.maximum
            ):
                raise DomainError(f"{attr.name} is from {attr.minimum} to {attr.maximum}", field=where)
            return value
        case "list":
            return _checked_list(attr, value, where)
        case "code":
            if value is None:
                return None
            if not is_code(value):
                raise DomainError(f"{attr.name} is the code of an entry of {attr.refers_to}, or null", field=where)
            return value


def _checked_list(attr: Attribute, value: Any, where: str) -> list[str]:
    if not isinstance(value, list | tuple):
        raise DomainError(f"{attr.name} is a list of texts", field=where)
    if len(value) > MAX_CHOICES:
        raise DomainError(f"at most {MAX_CHOICES} {attr.name}", field=where)
    cleaned: list[str] = []
    seen: set[str] = set()
    for item in value:
        text = " ".join(item.split()) if isinstance(item, str) else ""
        if not text or len(text) > MAX_CHOICE:
            raise DomainError(f"each of {attr.name} is 1 to {MAX_CHOICE} characters", field=where)
        if text.casefold() in seen:
            raise DomainError(f"{text!r} is given twice", field=where)
        seen.add(text.casefold())
        cleaned.append(text)
    return cleaned


# -- events ---------------------------------------------------------------------------------------


@event_catalog.register("contacts.ReferenceEntryDefined")
class ReferenceEntryDefined(DomainEvent):
    catalog: str
    code: str
    name: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    names: dict[str, str] = Field(default_factory=dict)
    """The name in UI languages where it differs by language (the initial entries); else empty."""


@event_catalog.register("contacts.ReferenceEntryChanged")
class ReferenceEntryChanged(DomainEvent):
    """The name, the names by language and every attribute after the change."""

    catalog: str
    code: str
    name: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    names: dict[str, str] = Field(default_factory=dict)


@event_catalog.register("contacts.ReferenceEntryRetired")
class ReferenceEntryRetired(DomainEvent):
    catalog: str
    code: str


@event_catalog.register("contacts.ReferenceEntryRestored")
class ReferenceEntryRestored(DomainEvent):
    catalog: str
    code: str


# The lease that serialises changes of groups' parents (stream :data:`HIERARCHY_LOCK_STREAM`): two
# concurrent moves could each pass the cycle check on their own and make a cycle together.
HIERARCHY_LOCK_STREAM = "referencelock-groups"
HIERARCHY_LOCKED = "contacts.GroupHierarchyLocked"


@event_catalog.register(HIERARCHY_LOCKED)
class GroupHierarchyLocked(DomainEvent):
    """Held by ``holder`` until unlocked, or until it is older than the lease (a crashed holder)."""

    holder: str


@event_catalog.register("contacts.GroupHierarchyUnlocked")
class GroupHierarchyUnlocked(DomainEvent):
    holder: str


# -- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReferenceEntry:
    """One entry of a catalog, as it stands."""

    catalog: str
    code: str
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)
    retired: bool = False
    names: dict[str, str] = field(default_factory=dict)


State = ReferenceEntry | None


def evolve(state: State, event: DomainEvent) -> State:
    """Fold one event into the state."""
    match event:
        case ReferenceEntryDefined():
            return ReferenceEntry(
                event.catalog, event.code, event.name, dict(event.attributes), names=dict(event.names)
            )
        case ReferenceEntryChanged() if state is not None:
            return replace(state, name=event.name, attributes=dict(event.attributes), names=dict(event.names))
        case ReferenceEntryRetired() if state is not None:
            return replace(state, retired=True)
        case ReferenceEntryRestored() if state is not None:
            return replace(state, retired=False)
    return state


# -- commands -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ancestor:
    """A group above the proposed parent (or the parent itself): its code, its parent, whether retired."""

    code: str
    parent: str | None
    retired: bool


@dataclass(frozen=True, slots=True)
class DefineEntry:
    """A new entry. For a group with a parent, ``ancestors`` is that parent followed by its ancestors,
    nearest first, as stored (empty when the parent does not exist)."""

    catalog: str
    code: str
    name: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    ancestors: tuple[Ancestor, ...] = ()
    names: Mapping[Language, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChangeEntry:
    """New name and/or some attributes; what is not given stays. ``ancestors`` as for :class:`DefineEntry`.

    ``names`` replaces the names by language; a new ``name`` without ``names`` drops them, so that
    an administrator's rename shows in every language."""

    catalog: str
    code: str
    name: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    ancestors: tuple[Ancestor, ...] = ()
    names: Mapping[Language, str] | None = None


@dataclass(frozen=True, slots=True)
class RetireEntry:
    catalog: str
    code: str


@dataclass(frozen=True, slots=True)
class RestoreEntry:
    catalog: str
    code: str


Command = DefineEntry | ChangeEntry | RetireEntry | RestoreEntry


def decide(command: Command, state: State) -> list[DomainEvent]:
    """The events a command produces given the current state, or a :class:`DomainError`."""
    check_catalog(command.catalog)
    check_code(command.code)
    label = f"{command.catalog}/{command.code}"
    match command:
        case DefineEntry():
            if state is not None:
                hint = " (retired: restore it instead)" if state.retired else ""
                raise AlreadyExists(f"{label} exists already{hint}", field="code")
            attributes = clean_attributes(command.catalog, command.attributes)
            if command.catalog == "groups":
                _check_parent(command.code, attributes["parent"], command.ancestors)
            name, names = clean_name(command.name), clean_names(command.names)
            return [
                ReferenceEntryDefined(
                    catalog=command.catalog, code=command.code, name=name, attributes=attributes, names=names
                )
            ]
        case ChangeEntry():
            if state is None:
                raise NotFound(f"there is no {label}")
            name = state.name if command.name is None else clean_name(command.name)
            if command.names is not None:
                names = clean_names(command.names)
            else:
                names = state.names if name == state.name else {}
            attributes = clean_attributes(command.catalog, command.attributes, state.attributes)
            if command.catalog == "groups" and attributes["parent"] != state.attributes.get("parent"):
                _check_parent(command.code, attributes["parent"], command.ancestors)
            if name == state.name and names == state.names and attributes == state.attributes:
                return []
            changed = ReferenceEntryChanged(
                catalog=command.catalog, code=command.code, name=name, attributes=attributes, names=names
            )
            return [changed]
        case RetireEntry():
            if state is None:
                raise NotFound(f"there is no {label}")
            return [] if state.retired else [ReferenceEntryRetired(catalog=command.catalog, code=command.code)]
        case RestoreEntry():
            if state is None:
                raise NotFound(f"there is no {label}")
            return [ReferenceEntryRestored(catalog=command.catalog, code=command.code)] if state.retired else []


def _check_parent(code: str, parent: str | None, ancestors: tuple[Ancestor, ...]) -> None:
    if parent is None:
        return
    where = "attributes.parent"
    if not ancestors or ancestors[0].code != parent:
        raise DomainError(f"there is no group {parent!r}", field=where)
    if ancestors[0].retired:
        raise DomainError(f"the group {parent!r} is retired", field=where)
    chain = [a.code for a in ancestors]
    if code in chain:
        path = " → ".join([code, *chain[: chain.index(code) + 1]])
        raise DomainError(f"a group cannot be inside itself: {path}", field=where)
    if len(ancestors) >= MAX_GROUP_DEPTH or ancestors[-1].parent is not None:
        raise DomainError(f"groups nest at most {MAX_GROUP_DEPTH} levels deep", field=where)
