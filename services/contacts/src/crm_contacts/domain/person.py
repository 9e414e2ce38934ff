"""The contact person aggregate as a decider: ``decide(command, state) -> events``,
``evolve(state, event) -> state``. Stream: ``person-<id>``.

Personal fields (:data:`PERSONAL_FIELDS`, and :data:`CONTACT_PERSONAL_FIELDS` of each contact entry)
are plain text in the decider's events and state. The application seals them with the person's own
key before they are stored (:func:`seal_data`) and opens them when reading (:func:`open_data`);
erasure deletes the key, so they can never be opened again. Every personal field is typed as text,
so the same events and :func:`evolve` also carry sealed values: the view folds them unopened.

The position at a linked counterparty (:data:`LINK_PERSONAL_FIELDS`) is sealed likewise and cleared
by an erasure (ADR 15); the link itself (counterparty and role code) stays plain. Properties (typed
custom fields) and categories are business classification whose definitions administrators choose,
not personal data by our rule: they are stored, published and kept after an erasure in plain form,
like the links to counterparties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict

from crm_contacts.domain.contact_info import ContactEntry, ContactType, with_main_rule
from crm_shared import sealing as crypto
from crm_shared.errors import AlreadyExists, DomainError, Forbidden, NotFound
from crm_shared.events import DomainEvent, EventCatalog

Gender = Literal["female", "male", "unspecified"]
GENDERS: tuple[str, ...] = get_args(Gender)
MAX_NAME = 100
MAX_DESCRIPTION = 4000
MAX_POSITION = 200
MAX_REASON = 500
MAX_LINKS = 100
MAX_CONTACTS = 50
MAX_PROPERTIES = 100
MAX_CATEGORIES = 100
MAX_REMINDER_DAYS = 365
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

PERSONAL_FIELDS: tuple[str, ...] = ("first_name", "middle_name", "last_name", "birth_date", "gender", "description")
"""Fields sealed with the person's key wherever they are stored (events and the view)."""
CONTACT_PERSONAL_FIELDS: tuple[str, ...] = ("value", "key", "comment")
"""Fields of each contact entry sealed likewise; kind, type and the main flag stay plain."""
LINK_PERSONAL_FIELDS: tuple[str, ...] = ("position",)
"""Fields of a link to a counterparty sealed likewise (ADR 15): the position is free text that may
identify the person; the counterparty and the role code stay plain."""

UPDATABLE = frozenset(
    {*PERSONAL_FIELDS, "birthday_reminder_days", "contact_info", "private", "properties", "categories"},
)

catalog = EventCatalog()


class PersonWasErased(DomainError):
    """The person's personal data was erased: the record takes no more changes."""

    status = 410


def stream_of(person_id: str) -> str:
    """The event stream of one person."""
    return f"person-{person_id}"


# -- events ---------------------------------------------------------------------------------------


class ContactItem(BaseModel):
    """One contact entry as stored: ``value``, ``key`` and ``comment`` are personal (None once erased)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    kind: str
    type: ContactType
    value: str | None
    key: str | None
    main: bool = False
    comment: str | None = None


@catalog.register("contacts.PersonRegistered")
class PersonRegistered(DomainEvent):
    person_id: str
    owner: str
    private: bool
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    birth_date: str | None
    birthday_reminder_days: int | None
    gender: str | None
    description: str | None
    contact_info: tuple[ContactItem, ...]
    registered_at: datetime


@catalog.register("contacts.PersonRenamed")
class PersonRenamed(DomainEvent):
    person_id: str
    first_name: str | None
    middle_name: str | None
    last_name: str | None


@catalog.register("contacts.PersonBirthDateChanged")
class PersonBirthDateChanged(DomainEvent):
    person_id: str
    birth_date: str | None


@catalog.register("contacts.PersonBirthdayReminderChanged")
class PersonBirthdayReminderChanged(DomainEvent):
    person_id: str
    birthday_reminder_days: int | None


@catalog.register("contacts.PersonGenderChanged")
class PersonGenderChanged(DomainEvent):
    person_id: str
    gender: str | None


@catalog.register("contacts.PersonDescriptionChanged")
class PersonDescriptionChanged(DomainEvent):
    person_id: str
    description: str | None


@catalog.register("contacts.PersonContactInfoSet")
class PersonContactInfoSet(DomainEvent):
    """The whole list of contact entries after the change."""

    person_id: str
    contact_info: tuple[ContactItem, ...]


@catalog.register("contacts.PersonPrivacyChanged")
class PersonPrivacyChanged(DomainEvent):
    person_id: str
    private: bool


@catalog.register("contacts.PersonPropertiesChanged")
class PersonPropertiesChanged(DomainEvent):
    """The whole new map of property values (property code -> value); not personal data."""

    person_id: str
    values: dict[str, Any]


@catalog.register("contacts.PersonCategoriesChanged")
class PersonCategoriesChanged(DomainEvent):
    """The whole new list of category codes; not personal data."""

    person_id: str
    categories: list[str]


@catalog.register("contacts.PersonLinkedToCounterparty")
class PersonLinkedToCounterparty(DomainEvent):
    person_id: str
    counterparty_id: str
    position: str | None
    role: str | None


@catalog.register("contacts.PersonCounterpartyLinkChanged")
class PersonCounterpartyLinkChanged(DomainEvent):
    person_id: str
    counterparty_id: str
    position: str | None
    role: str | None


@catalog.register("contacts.PersonUnlinkedFromCounterparty")
class PersonUnlinkedFromCounterparty(DomainEvent):
    person_id: str
    counterparty_id: str


ERASED = "contacts.PersonErased"


@catalog.register(ERASED)
class PersonErased(DomainEvent):
    """The person's key was deleted. ``reason`` is the request's reference, never personal data."""

    person_id: str
    reason: str
    erased_at: datetime


# -- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Link:
    """A link to a counterparty: the person's position there (free text) and role (a catalog code)."""

    counterparty_id: str
    position: str | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    owner: str
    private: bool
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    birth_date: str | None
    birthday_reminder_days: int | None
    gender: str | None
    description: str | None
    contact_info: tuple[ContactItem, ...]
    registered_at: datetime
    links: tuple[Link, ...] = ()
    erased: bool = False
    erased_at: datetime | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    categories: tuple[str, ...] = ()

    def link_to(self, counterparty_id: str) -> Link | None:
        """The link to one counterparty, if any."""
        return next((link for link in self.links if link.counterparty_id == counterparty_id), None)


State = Person | None


def evolve(state: State, event: DomainEvent) -> State:
    """Fold one event into the state."""
    match event:
        case PersonRegistered():
            return Person(
                id=event.person_id,
                owner=event.owner,
                private=event.private,
                first_name=event.first_name,
                middle_name=event.middle_name,
                last_name=event.last_name,
                birth_date=event.birth_date,
                birthday_reminder_days=event.birthday_reminder_days,
                gender=event.gender,
                description=event.description,
                contact_info=tuple(event.contact_info),
                registered_at=event.registered_at,
            )
        case PersonRenamed() if state is not None:
            return replace(state, first_name=event.first_name, middle_name=event.middle_name, last_name=event.last_name)
        case PersonBirthDateChanged() if state is not None:
            return replace(state, birth_date=event.birth_date)
        case PersonBirthdayReminderChanged() if state is not None:
            return replace(state, birthday_reminder_days=event.birthday_reminder_days)
        case PersonGenderChanged() if state is not None:
            return replace(state, gender=event.gender)
        case PersonDescriptionChanged() if state is not None:
            return replace(state, description=event.description)
        case PersonContactInfoSet() if state is not None:
            return replace(state, contact_info=tuple(event.contact_info))
        case PersonPrivacyChanged() if state is not None:
            return replace(state, private=event.private)
        case PersonPropertiesChanged() if state is not None:
            return replace(state, properties=dict(event.values))
        case PersonCategoriesChanged() if state is not None:
            return replace(state, categories=tuple(event.categories))
        case PersonLinkedToCounterparty() | PersonCounterpartyLinkChanged() if state is not None:
            link = Link(event.counterparty_id, event.position, event.role)
            others = tuple(x for x in state.links if x.counterparty_id != event.counterparty_id)
            if state.link_to(event.counterparty_id) is None:
                return replace(state, links=(*others, link))
            return replace(
                state, links=tuple(link if x.counterparty_id == link.counterparty_id else x for x in state.links)
            )
        case PersonUnlinkedFromCounterparty() if state is not None:
            return replace(state, links=tuple(x for x in state.links if x.counterparty_id != event.counterparty_id))
        case PersonErased() if state is not None:
            contacts = tuple(c.model_copy(update=dict.fromkeys(CONTACT_PERSONAL_FIELDS)) for c in state.contact_info)
            return replace(
                state,
                links=tuple(replace(x, position=None) for x in state.links),
                first_name=None,
                middle_name=None,
                last_name=None,
                birth_date=None,
                gender=None,
                description=None,
                contact_info=contacts,
                erased=True,
                erased_at=event.erased_at,
            )
    return state


# -- commands -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterPerson:
    person_id: str
    owner: str
    now: datetime
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    birthday_reminder_days: int | None = None
    gender: str = "unspecified"
    description: str | None = None
    contact_info: tuple[ContactEntry, ...] = ()
    private: bool = False
    links: tuple[Link, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdatePerson:
    """Change some fields (keys of :data:`UPDATABLE`); a field given as None is cleared. ``properties``
    is merged: a None value removes that property; ``categories`` replaces the list. ``actor`` is who
    asks: only the owner may change ``private``."""

    person_id: str
    actor: str
    today: date
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LinkCounterparty:
    """Link the person to a counterparty, or change the position and role of the link."""

    person_id: str
    counterparty_id: str
    position: str | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class UnlinkCounterparty:
    person_id: str
    counterparty_id: str


@dataclass(frozen=True, slots=True)
class ErasePerson:
    person_id: str
    reason: str
    now: datetime


Command = RegisterPerson | UpdatePerson | LinkCounterparty | UnlinkCounterparty | ErasePerson


# -- rules ----------------------------------------------------------------------------------------


def _text(value: str | None, limit: int, field: str) -> str | None:
    """Single-spaced text, None when blank."""
    if value is None:
        return None
    cleaned = " ".join(value.split())
    if len(cleaned) > limit:
        raise DomainError(f"at most {limit} characters", field=field)
    return cleaned or None


def _description(value: str | None) -> str | None:
    """Trimmed text; line breaks are kept."""
    if value is None:
        return None
    cleaned = value.strip()
    if len(cleaned) > MAX_DESCRIPTION:
        raise DomainError(f"at most {MAX_DESCRIPTION} characters", field="description")
    return cleaned or None


def _names(first: str | None, middle: str | None, last: str | None) -> tuple[str | None, str | None, str | None]:
    names = (
        _text(first, MAX_NAME, "first_name"),
        _text(middle, MAX_NAME, "middle_name"),
        _text(last, MAX_NAME, "last_name"),
    )
    if names[0] is None and names[2] is None:
        raise DomainError("give a first name or a last name", field="first_name")
    return names


def _birth_date(value: date | None, today: date) -> str | None:
    if value is None:
        return None
    if value > today:
        raise DomainError("the birth date cannot be in the future", field="birth_date")
    if value < EARLIEST_BIRTH_DATE:
        raise DomainError(f"the birth date cannot be before {EARLIEST_BIRTH_DATE.isoformat()}", field="birth_date")
    return value.isoformat()


def _reminder(days: int | None) -> int | None:
    if days is not None and not 0 <= days <= MAX_REMINDER_DAYS:
        raise DomainError(f"from 0 to {MAX_REMINDER_DAYS} days", field="birthday_reminder_days")
    return days


def _gender(value: str | None) -> str:
    if value is None:
        return "unspecified"
    if value not in GENDERS:
        raise DomainError(f"one of {', '.join(GENDERS)}", field="gender")
    return value


def _contacts(entries: Sequence[ContactEntry]) -> tuple[ContactItem, ...]:
    if len(entries) > MAX_CONTACTS:
        raise DomainError(f"at most {MAX_CONTACTS} entries", field="contact_info")
    return tuple(
        ContactItem(kind=e.kind, type=e.type, value=e.value, key=e.key, main=e.main, comment=e.comment.strip() or None)
        for e in with_main_rule(entries)
    )


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _properties(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that are set (None removes a property)."""
    kept = {code: value for code, value in values.items() if value is not None}
    if len(kept) > MAX_PROPERTIES:
        raise DomainError(f"at most {MAX_PROPERTIES} properties", field="properties")
    return kept


def _categories(codes: Sequence[str]) -> list[str]:
    unique = _unique(codes)
    if len(unique) > MAX_CATEGORIES:
        raise DomainError(f"at most {MAX_CATEGORIES} categories", field="categories")
    return unique


def _link(link: Link, field: str) -> Link:
    if not link.counterparty_id:
        raise DomainError("name a counterparty", field=f"{field}counterparty_id")
    return Link(link.counterparty_id, _text(link.position, MAX_POSITION, f"{field}position"), link.role or None)


def decide(command: Command, state: State) -> list[DomainEvent]:
    """The events a command produces given the current state, or a :class:`DomainError`."""
    if isinstance(command, RegisterPerson):
        if state is not None:
            raise AlreadyExists(f"person {command.person_id} already exists")
        return _register(command)
    if state is None:
        raise NotFound(f"person {command.person_id} does not exist")
    if isinstance(command, ErasePerson):
        reason = _text(command.reason, MAX_REASON, "reason")
        if reason is None:
            raise DomainError("give the reason (e.g. the request's reference)", field="reason")
        return [] if state.erased else [PersonErased(person_id=state.id, reason=reason, erased_at=command.now)]
    if state.erased:
        raise PersonWasErased(f"the personal data of person {state.id} was erased; the record takes no changes")
    match command:
        case UpdatePerson():
            return _update(command, state)
        case LinkCounterparty():
            link = _link(Link(command.counterparty_id, command.position, command.role), "")
            current = state.link_to(link.counterparty_id)
            if current == link:
                return []
            if current is None and len(state.links) >= MAX_LINKS:
                raise DomainError(f"at most {MAX_LINKS} counterparties per person", field="counterparty_id")
            kind = PersonLinkedToCounterparty if current is None else PersonCounterpartyLinkChanged
            return [
                kind(person_id=state.id, counterparty_id=link.counterparty_id, position=link.position, role=link.role)
            ]
        case UnlinkCounterparty():
            if state.link_to(command.counterparty_id) is None:
                raise NotFound(f"person {state.id} is not linked to counterparty {command.counterparty_id}")
            return [PersonUnlinkedFromCounterparty(person_id=state.id, counterparty_id=command.counterparty_id)]
    raise AssertionError(f"unknown command {command!r}")


def _register(command: RegisterPerson) -> list[DomainEvent]:
    first, middle, last = _names(command.first_name, command.middle_name, command.last_name)
    events: list[DomainEvent] = [
        PersonRegistered(
            person_id=command.person_id,
            owner=command.owner,
            private=command.private,
            first_name=first,
            middle_name=middle,
            last_name=last,
            birth_date=_birth_date(command.birth_date, command.now.date()),
            birthday_reminder_days=_reminder(command.birthday_reminder_days),
            gender=_gender(command.gender),
            description=_description(command.description),
            contact_info=_contacts(command.contact_info),
            registered_at=command.now,
        )
    ]
    values = _properties(command.properties)
    if values:
        events.append(PersonPropertiesChanged(person_id=command.person_id, values=values))
    categories = _categories(command.categories)
    if categories:
        events.append(PersonCategoriesChanged(person_id=command.person_id, categories=categories))
    if len(command.links) > MAX_LINKS:
        raise DomainError(f"at most {MAX_LINKS} counterparties per person", field="links")
    seen: set[str] = set()
    for i, given in enumerate(command.links):
        link = _link(given, f"links[{i}].")
        if link.counterparty_id in seen:
            raise DomainError("this counterparty is linked twice", field=f"links[{i}].counterparty_id")
        seen.add(link.counterparty_id)
        events.append(
            PersonLinkedToCounterparty(
                person_id=command.person_id,
                counterparty_id=link.counterparty_id,
                position=link.position,
                role=link.role,
            )
        )
    return events


def _update(command: UpdatePerson, state: Person) -> list[DomainEvent]:
    changes = command.changes
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise DomainError(f"cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    pid = state.id
    events: list[DomainEvent] = []
    if {"first_name", "middle_name", "last_name"} & set(changes):
        names = _names(
            changes.get("first_name", state.first_name),
            changes.get("middle_name", state.middle_name),
            changes.get("last_name", state.last_name),
        )
        if names != (state.first_name, state.middle_name, state.last_name):
            events.append(PersonRenamed(person_id=pid, first_name=names[0], middle_name=names[1], last_name=names[2]))
    if "birth_date" in changes:
        birth = _birth_date(changes["birth_date"], command.today)
        if birth != state.birth_date:
            events.append(PersonBirthDateChanged(person_id=pid, birth_date=birth))
    if "birthday_reminder_days" in changes:
        days = _reminder(changes["birthday_reminder_days"])
        if days != state.birthday_reminder_days:
            events.append(PersonBirthdayReminderChanged(person_id=pid, birthday_reminder_days=days))
    if "gender" in changes:
        gender = _gender(changes["gender"])
        if gender != state.gender:
            events.append(PersonGenderChanged(person_id=pid, gender=gender))
    if "description" in changes:
        description = _description(changes["description"])
        if description != state.description:
            events.append(PersonDescriptionChanged(person_id=pid, description=description))
    if "contact_info" in changes:
        contacts = _contacts(changes["contact_info"] or ())
        if contacts != state.contact_info:
            events.append(PersonContactInfoSet(person_id=pid, contact_info=contacts))
    if "private" in changes and bool(changes["private"]) != state.private:
        if command.actor != state.owner:
            raise Forbidden("only the person's owner may change whether it is private", field="private")
        events.append(PersonPrivacyChanged(person_id=pid, private=bool(changes["private"])))
    if "properties" in changes:
        values = _properties({**state.properties, **(changes["properties"] or {})})
        if values != dict(state.properties):
            events.append(PersonPropertiesChanged(person_id=pid, values=values))
    if "categories" in changes:
        categories = _categories(changes["categories"] or ())
        if tuple(categories) != state.categories:
            events.append(PersonCategoriesChanged(person_id=pid, categories=categories))
    return events


# -- sealing --------------------------------------------------------------------------------------


def seal_data(data: Mapping[str, Any], key: bytes, person_id: str) -> dict[str, Any]:
    """Event (or state) data with every personal field that has a value sealed with ``key``."""
    sealed = dict(data)
    for name in PERSONAL_FIELDS:
        if isinstance(sealed.get(name), str):
            sealed[name] = crypto.seal(key, person_id, name, sealed[name])
    for name in LINK_PERSONAL_FIELDS:  # a link event's own fields
        if isinstance(sealed.get(name), str) and not crypto.is_sealed(sealed[name]):
            sealed[name] = crypto.seal(key, person_id, name, sealed[name])
    if isinstance(sealed.get("links"), list | tuple):
        sealed["links"] = [
            {
                **link,
                **{
                    name: crypto.seal(key, person_id, name, link[name])
                    for name in LINK_PERSONAL_FIELDS
                    if isinstance(link.get(name), str) and not crypto.is_sealed(link[name])
                },
            }
            for link in sealed["links"]
        ]
    if isinstance(sealed.get("contact_info"), list | tuple):
        sealed["contact_info"] = [
            {
                **entry,
                **{
                    name: crypto.seal(key, person_id, f"contact_info.{name}", entry[name])
                    for name in CONTACT_PERSONAL_FIELDS
                    if isinstance(entry.get(name), str)
                },
            }
            for entry in sealed["contact_info"]
        ]
    return sealed


def has_personal_values(data: Mapping[str, Any]) -> bool:
    """Whether event (or state) data holds a value of a personal field."""
    entries = data.get("contact_info") or ()
    return (
        any(data.get(name) is not None for name in (*PERSONAL_FIELDS, *LINK_PERSONAL_FIELDS))
        or any(entry.get(name) is not None for entry in entries for name in CONTACT_PERSONAL_FIELDS)
        or any(link.get(name) is not None for link in data.get("links") or () for name in LINK_PERSONAL_FIELDS)
    )


def open_data(data: Mapping[str, Any], key: bytes | None, person_id: str) -> tuple[dict[str, Any], list[str]]:
    """Data with its sealed fields opened, and the names of those that could not be (no key: erased),
    which become None. Raises :class:`crypto.SealBroken` for a value that does not open with the key."""
    opened = dict(data)
    erased: list[str] = []

    def open_one(value: Any, name: str, shown: str) -> Any:
        if not crypto.is_sealed(value):
            return value
        if key is None:
            erased.append(shown)
            return None
        return crypto.unseal(key, person_id, name, value)

    def open_link(value: Any, name: str, shown: str) -> Any:
        # Positions were stored in clear before ADR 15: without the key they read as erased too.
        if key is None and value is not None:
            erased.append(shown)
            return None
        return open_one(value, name, shown)

    for name in PERSONAL_FIELDS:
        if name in opened:
            opened[name] = open_one(opened[name], name, name)
    for name in LINK_PERSONAL_FIELDS:
        if name in opened:
            opened[name] = open_link(opened[name], name, name)
    if isinstance(opened.get("links"), list | tuple):
        links = []
        for i, link in enumerate(opened["links"]):
            link = dict(link)
            for name in LINK_PERSONAL_FIELDS:
                if name in link:
                    link[name] = open_link(link[name], name, f"links[{i}].{name}")
            links.append(link)
        opened["links"] = links
    if isinstance(opened.get("contact_info"), list | tuple):
        entries = []
        for i, entry in enumerate(opened["contact_info"]):
            entry = dict(entry)
            for name in CONTACT_PERSONAL_FIELDS:
                if name in entry:
                    entry[name] = open_one(entry[name], f"contact_info.{name}", f"contact_info[{i}].{name}")
            entries.append(entry)
        opened["contact_info"] = entries
    return opened, erased


def display_name(first: str | None, middle: str | None, last: str | None) -> str:
    """The name as shown: first, middle and last name, those that are there."""
    return " ".join(part for part in (first, middle, last) if part)
