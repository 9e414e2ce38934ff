"""The counterparty aggregate as a decider: ``decide(command, state) -> events``,
``evolve(state, event) -> state``. Stream: ``counterparty-<id>``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal, get_args

from crm_contacts.domain.contact_info import ContactEntry, with_main_rule
from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.events import DomainEvent, EventCatalog

Relation = Literal["buyer", "supplier", "other"]
RELATIONS: tuple[Relation, ...] = get_args(Relation)
Kind = Relation  # version 1 and 2 events had one relation, called kind
LegalForm = Literal["legal", "natural"]
DEFAULT_ACCESS_GROUP = "general"
MAX_COMMENT = 2000
DEFAULT_EXTERNAL_SYSTEM = "erp"
MAX_EXTERNAL_CODE = 64
MAX_EXTERNAL_CODES = 20
EXTERNAL_SYSTEM_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
"""A system's name: a short lower-case code (``erp``, ``sap-bg``); it never holds a ``:``."""
EXTERNAL_CODE_PATTERN = r"^[^\x00-\x20\x7F-\x9F](?:[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F])?$"
"""A code as another system writes it: no control character, no space at either end (the rule of the
trade facts' customer codes, which these codes link)."""
DETAIL_FIELDS = ("legal_form", "vat_id", "region", "comment", "activity_kinds")
"""Descriptive fields changed together by :class:`CounterpartyDetailsChanged`."""
catalog = EventCatalog()


def stream_of(counterparty_id: str) -> str:
    """The event stream of one counterparty."""
    return f"counterparty-{counterparty_id}"


# -- events ---------------------------------------------------------------------------------------


@catalog.register("contacts.CounterpartyRegistered", version=3)
class CounterpartyRegistered(DomainEvent):
    counterparty_id: str
    name: str
    relations: list[Relation]
    tax_id: str | None
    main_manager: str
    registered_at: datetime
    access_group: str
    legal_form: LegalForm = "legal"
    vat_id: str | None = None
    group: str | None = None
    head_counterparty_id: str | None = None
    region: str | None = None
    comment: str = ""
    activity_kinds: list[str] = []
    managers: list[str] = []


@catalog.upcaster("contacts.CounterpartyRegistered", from_version=1)
def _into_the_default_access_group(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 predates access groups: such counterparties belong to the default group."""
    return {**data, "access_group": DEFAULT_ACCESS_GROUP}


@catalog.upcaster("contacts.CounterpartyRegistered", from_version=2)
def _one_kind_becomes_the_relations(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 had one relation (``kind``); version 3 has a set of them and the main manager among
    the managers."""
    rest = {k: v for k, v in data.items() if k != "kind"}
    return {**rest, "relations": [data["kind"]], "managers": [data["main_manager"]]}


@catalog.register("contacts.CounterpartyRenamed")
class CounterpartyRenamed(DomainEvent):
    counterparty_id: str
    name: str


@catalog.register("contacts.CounterpartyKindChanged")
class CounterpartyKindChanged(DomainEvent):
    """Stored before relations existed: the counterparty then had exactly this one relation."""

    counterparty_id: str
    kind: Kind


@catalog.register("contacts.CounterpartyRelationsChanged")
class CounterpartyRelationsChanged(DomainEvent):
    counterparty_id: str
    relations: list[Relation]


@catalog.register("contacts.CounterpartyTaxIdChanged")
class CounterpartyTaxIdChanged(DomainEvent):
    counterparty_id: str
    tax_id: str | None


@catalog.register("contacts.CounterpartyDetailsChanged")
class CounterpartyDetailsChanged(DomainEvent):
    """New values of some of :data:`DETAIL_FIELDS` (only those that changed)."""

    counterparty_id: str
    changes: dict[str, Any]


@catalog.register("contacts.CounterpartyRegrouped")
class CounterpartyRegrouped(DomainEvent):
    counterparty_id: str
    group: str | None


@catalog.register("contacts.HeadCounterpartyChanged")
class HeadCounterpartyChanged(DomainEvent):
    counterparty_id: str
    head_counterparty_id: str | None


@catalog.register("contacts.MainManagerAssigned")
class MainManagerAssigned(DomainEvent):
    counterparty_id: str
    main_manager: str


@catalog.register("contacts.ManagersChanged")
class ManagersChanged(DomainEvent):
    counterparty_id: str
    managers: list[str]


@catalog.register("contacts.CounterpartyAccessGroupChanged")
class CounterpartyAccessGroupChanged(DomainEvent):
    counterparty_id: str
    access_group: str


@catalog.register("contacts.CounterpartyArchived")
class CounterpartyArchived(DomainEvent):
    counterparty_id: str
    reason: str = ""


@catalog.register("contacts.CounterpartyRestored")
class CounterpartyRestored(DomainEvent):
    counterparty_id: str


@catalog.register("contacts.ContactInformationChanged")
class ContactInformationChanged(DomainEvent):
    """The whole new list of contact information entries."""

    counterparty_id: str
    entries: list[dict[str, Any]]


@catalog.register("contacts.CounterpartyPropertiesChanged")
class CounterpartyPropertiesChanged(DomainEvent):
    """The whole new map of property values (property code -> value)."""

    counterparty_id: str
    values: dict[str, Any]


@catalog.register("contacts.CounterpartyCategoriesChanged")
class CounterpartyCategoriesChanged(DomainEvent):
    counterparty_id: str
    categories: list[str]


@catalog.register("contacts.InformationSourceRecorded")
class InformationSourceRecorded(DomainEvent):
    """How the counterparty found us, as of a date (the dated history of sources)."""

    counterparty_id: str
    source: str
    on: date


@catalog.register("contacts.CounterpartyExternalCodesChanged")
class CounterpartyExternalCodesChanged(DomainEvent):
    """The whole new list of the counterparty's codes in other systems (``{system, code}``, e.g. its
    customer code in the ERP)."""

    counterparty_id: str
    external_codes: list[dict[str, str]]


@catalog.register("contacts.CounterpartyMerged")
class CounterpartyMerged(DomainEvent):
    """This counterparty was a duplicate of ``into``; it is archived and points there."""

    counterparty_id: str
    into: str


@catalog.register("contacts.DuplicateAbsorbed")
class DuplicateAbsorbed(DomainEvent):
    """The duplicate ``merged`` was merged into this counterparty; what it brought was added here."""

    counterparty_id: str
    merged: str


# -- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """An information source valid from a date."""

    source: str
    on: date


@dataclass(frozen=True, slots=True, order=True)
class ExternalCode:
    """The counterparty's code in another system (``system`` ``erp``: its customer code in the ERP).
    At most one counterparty carries each (system, code); codes are compared exactly as written."""

    system: str
    code: str

    @property
    def key(self) -> str:
        """``system:code`` (unambiguous: a system never holds a ``:``)."""
        return f"{self.system}:{self.code}"


def external_code_of_key(key: str) -> ExternalCode:
    """The code whose :attr:`ExternalCode.key` is ``key``."""
    system, _, code = key.partition(":")
    return ExternalCode(system, code)


@dataclass(frozen=True, slots=True)
class Counterparty:
    id: str
    name: str
    relations: tuple[Relation, ...]
    tax_id: str | None
    main_manager: str
    registered_at: datetime
    access_group: str = DEFAULT_ACCESS_GROUP
    legal_form: LegalForm = "legal"
    vat_id: str | None = None
    group: str | None = None
    head_counterparty_id: str | None = None
    region: str | None = None
    comment: str = ""
    activity_kinds: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()
    archived: bool = False
    contact_info: tuple[ContactEntry, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    sources: tuple[SourceRecord, ...] = ()
    merged_into: str | None = None
    merged: tuple[str, ...] = ()
    external_codes: tuple[ExternalCode, ...] = ()
    codes_moved: tuple[ExternalCode, ...] = ()
    """The codes it had when it was merged away (they moved to the counterparty it was merged into)."""

    def source_on(self, day: date) -> SourceRecord | None:
        """The source recorded last on or before ``day``."""
        valid = [s for s in self.sources if s.on <= day]
        return max(valid, key=lambda s: s.on) if valid else None


State = Counterparty | None


def _with(managers: tuple[str, ...], main: str) -> tuple[str, ...]:
    return managers if main in managers else (main, *managers)


def _entries(raw: list[dict[str, Any]]) -> tuple[ContactEntry, ...]:
    return tuple(ContactEntry(**entry) for entry in raw)


def _codes(raw: Iterable[Mapping[str, str]]) -> tuple[ExternalCode, ...]:
    return tuple(ExternalCode(str(c["system"]), str(c["code"])) for c in raw)


def _code_dicts(codes: Iterable[ExternalCode]) -> list[dict[str, str]]:
    return [{"system": c.system, "code": c.code} for c in codes]


def evolve(state: State, event: DomainEvent) -> State:
    """Fold one event into the state."""
    if isinstance(event, CounterpartyRegistered):
        return Counterparty(
            id=event.counterparty_id,
            name=event.name,
            relations=tuple(event.relations),
            tax_id=event.tax_id,
            main_manager=event.main_manager,
            registered_at=event.registered_at,
            access_group=event.access_group,
            legal_form=event.legal_form,
            vat_id=event.vat_id,
            group=event.group,
            head_counterparty_id=event.head_counterparty_id,
            region=event.region,
            comment=event.comment,
            activity_kinds=tuple(event.activity_kinds),
            managers=_with(tuple(event.managers), event.main_manager),
        )
    if state is None:
        return None
    match event:
        case CounterpartyRenamed():
            return replace(state, name=event.name)
        case CounterpartyKindChanged():
            return replace(state, relations=(event.kind,))
        case CounterpartyRelationsChanged():
            return replace(state, relations=tuple(event.relations))
        case CounterpartyTaxIdChanged():
            return replace(state, tax_id=event.tax_id)
        case CounterpartyDetailsChanged():
            changes: dict[str, Any] = {k: tuple(v) if k == "activity_kinds" else v for k, v in event.changes.items()}
            return replace(state, **changes)
        case CounterpartyRegrouped():
            return replace(state, group=event.group)
        case HeadCounterpartyChanged():
            return replace(state, head_counterparty_id=event.head_counterparty_id)
        case MainManagerAssigned():
            return replace(state, main_manager=event.main_manager, managers=_with(state.managers, event.main_manager))
        case ManagersChanged():
            return replace(state, managers=_with(tuple(event.managers), state.main_manager))
        case CounterpartyAccessGroupChanged():
            return replace(state, access_group=event.access_group)
        case CounterpartyArchived():
            return replace(state, archived=True)
        case CounterpartyRestored():
            return replace(state, archived=False)
        case ContactInformationChanged():
            return replace(state, contact_info=_entries(event.entries))
        case CounterpartyPropertiesChanged():
            return replace(state, properties=dict(event.values))
        case CounterpartyCategoriesChanged():
            return replace(state, categories=tuple(event.categories))
        case InformationSourceRecorded():
            kept = tuple(s for s in state.sources if s.on != event.on)
            return replace(state, sources=tuple(sorted((*kept, SourceRecord(event.source, event.on)), key=_day)))
        case CounterpartyExternalCodesChanged():
            return replace(state, external_codes=_codes(event.external_codes))
        case CounterpartyMerged():
            return replace(state, merged_into=event.into, archived=True, codes_moved=state.external_codes)
        case DuplicateAbsorbed():
            return replace(state, merged=(*state.merged, event.merged))
    return state


def _day(record: SourceRecord) -> date:
    return record.on


# -- commands -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterCounterparty:
    """A new counterparty; contact information, properties, categories and a first source may come
    with it (validated and normalised by the application against the reference data)."""

    counterparty_id: str
    name: str
    relations: tuple[Relation, ...]
    tax_id: str | None
    main_manager: str
    now: datetime
    access_group: str = DEFAULT_ACCESS_GROUP
    legal_form: LegalForm = "legal"
    vat_id: str | None = None
    group: str | None = None
    head_counterparty_id: str | None = None
    region: str | None = None
    comment: str = ""
    activity_kinds: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()
    contact_info: tuple[ContactEntry, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    source: SourceRecord | None = None
    external_codes: tuple[ExternalCode, ...] = ()


UPDATABLE = (
    "name",
    "relations",
    "tax_id",
    *DETAIL_FIELDS,
    "group",
    "head_counterparty_id",
    "main_manager",
    "managers",
    "access_group",
    "contact_info",
    "properties",
    "categories",
    "external_codes",
)


@dataclass(frozen=True, slots=True)
class UpdateCounterparty:
    """New values of the fields in ``changes`` (keys of :data:`UPDATABLE`; ``None`` clears an optional
    field). ``properties`` is merged: a ``None`` value removes that property."""

    counterparty_id: str
    changes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ArchiveCounterparty:
    counterparty_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RestoreCounterparty:
    counterparty_id: str


@dataclass(frozen=True, slots=True)
class RecordSource:
    counterparty_id: str
    source: str
    on: date


@dataclass(frozen=True, slots=True)
class MarkMerged:
    """This counterparty (the duplicate) is merged into ``into``."""

    counterparty_id: str
    into: str


@dataclass(frozen=True, slots=True)
class Absorb:
    """Take over what the duplicate brings: its contact information, categories, properties that are
    not set here, managers and sources."""

    counterparty_id: str
    duplicate: Counterparty


Command = (
    RegisterCounterparty
    | UpdateCounterparty
    | ArchiveCounterparty
    | RestoreCounterparty
    | RecordSource
    | MarkMerged
    | Absorb
)


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise DomainError("name must not be blank", field="name")
    return cleaned


def _relations(relations: Iterable[str]) -> list[Relation]:
    chosen = [r for r in RELATIONS if r in set(relations)]
    unknown = set(relations) - set(RELATIONS)
    if unknown:
        raise DomainError(f"unknown relation {sorted(unknown)[0]!r}; use buyer, supplier or other", field="relations")
    if not chosen:
        raise DomainError("choose at least one of buyer, supplier, other", field="relations")
    return chosen


def _comment(comment: str) -> str:
    if len(comment) > MAX_COMMENT:
        raise DomainError(f"at most {MAX_COMMENT} characters", field="comment")
    return comment.strip()


_SYSTEM = re.compile(EXTERNAL_SYSTEM_PATTERN)
_CODE = re.compile(EXTERNAL_CODE_PATTERN)


def external_codes(codes: Iterable[ExternalCode], *, field: str = "external_codes") -> tuple[ExternalCode, ...]:
    """Checked codes, each once, in their order (a DomainError names ``<field>[i].system`` or ``.code``)."""
    checked: list[ExternalCode] = []
    for i, given in enumerate(codes):
        if not _SYSTEM.fullmatch(given.system):
            raise DomainError("a system is a lower-case code, e.g. erp", field=f"{field}[{i}].system")
        if not given.code.strip():
            raise DomainError("the code must not be empty", field=f"{field}[{i}].code")
        if len(given.code) > MAX_EXTERNAL_CODE:
            raise DomainError(f"at most {MAX_EXTERNAL_CODE} characters", field=f"{field}[{i}].code")
        if not _CODE.fullmatch(given.code):
            raise DomainError("no control characters, and no space at either end", field=f"{field}[{i}].code")
        if given not in checked:
            checked.append(ExternalCode(given.system, given.code))
    if len(checked) > MAX_EXTERNAL_CODES:
        raise DomainError(f"at most {MAX_EXTERNAL_CODES} codes", field=field)
    return tuple(checked)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _entry_dicts(entries: Iterable[ContactEntry]) -> list[dict[str, Any]]:
    return [
        {"kind": e.kind, "type": e.type, "value": e.value, "key": e.key, "main": e.main, "comment": e.comment}
        for e in with_main_rule(list(entries))
    ]


def decide(command: Command, state: State) -> list[DomainEvent]:
    """The events a command produces given the current state, or a :class:`DomainError`."""
    if isinstance(command, RegisterCounterparty):
        if state is not None:
            raise AlreadyExists(f"counterparty {command.counterparty_id} already exists")
        return _register(command)
    if state is None:
        raise NotFound(f"counterparty {command.counterparty_id} does not exist")
    cid = state.id
    match command:
        case ArchiveCounterparty():
            return [] if state.archived else [CounterpartyArchived(counterparty_id=cid, reason=command.reason.strip())]
        case RestoreCounterparty():
            if state.merged_into is not None:
                raise DomainError(f"merged into {state.merged_into}; it cannot be restored", field="archived")
            return [CounterpartyRestored(counterparty_id=cid)] if state.archived else []
        case MarkMerged() if state.merged_into == command.into:
            return []  # a retried merge
        case Absorb() if command.duplicate.id in state.merged:
            return []
    if state.archived:
        raise DomainError("the counterparty is archived; restore it first", field="archived")
    match command:
        case UpdateCounterparty():
            return _update(command, state)
        case RecordSource():
            current = next((s for s in state.sources if s.on == command.on), None)
            if current is not None and current.source == command.source:
                return []
            return [InformationSourceRecorded(counterparty_id=cid, source=command.source, on=command.on)]
        case MarkMerged():
            if command.into == cid:
                raise DomainError("a counterparty cannot be merged into itself", field="into")
            merged: list[DomainEvent] = [CounterpartyMerged(counterparty_id=cid, into=command.into)]
            if state.external_codes:  # they move to the counterparty it is merged into
                merged.append(CounterpartyExternalCodesChanged(counterparty_id=cid, external_codes=[]))
            return merged
        case Absorb():
            return _absorb(command.duplicate, state)
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


def _register(command: RegisterCounterparty) -> list[DomainEvent]:
    cid = command.counterparty_id
    if command.head_counterparty_id == cid:
        raise DomainError("a counterparty cannot be its own head", field="head_counterparty_id")
    events: list[DomainEvent] = [
        CounterpartyRegistered(
            counterparty_id=cid,
            name=_clean_name(command.name),
            relations=_relations(command.relations),
            tax_id=command.tax_id,
            main_manager=command.main_manager,
            registered_at=command.now,
            access_group=command.access_group,
            legal_form=command.legal_form,
            vat_id=command.vat_id,
            group=command.group,
            head_counterparty_id=command.head_counterparty_id,
            region=command.region,
            comment=_comment(command.comment),
            activity_kinds=_unique(command.activity_kinds),
            managers=_unique([command.main_manager, *command.managers]),
        )
    ]
    if command.contact_info:
        events.append(ContactInformationChanged(counterparty_id=cid, entries=_entry_dicts(command.contact_info)))
    if command.properties:
        values = {k: v for k, v in command.properties.items() if v is not None}
        events.append(CounterpartyPropertiesChanged(counterparty_id=cid, values=values))
    if command.categories:
        events.append(CounterpartyCategoriesChanged(counterparty_id=cid, categories=_unique(command.categories)))
    if command.source is not None:
        source = command.source
        events.append(InformationSourceRecorded(counterparty_id=cid, source=source.source, on=source.on))
    codes = external_codes(command.external_codes)
    if codes:
        events.append(CounterpartyExternalCodesChanged(counterparty_id=cid, external_codes=_code_dicts(codes)))
    return events


def _update(command: UpdateCounterparty, state: Counterparty) -> list[DomainEvent]:
    unknown = set(command.changes) - set(UPDATABLE)
    if unknown:
        raise DomainError(f"{sorted(unknown)[0]} cannot be changed", field=sorted(unknown)[0])
    given = command.changes
    cid = state.id
    events: list[DomainEvent] = []
    if "name" in given and _clean_name(given["name"] or "") != state.name:
        events.append(CounterpartyRenamed(counterparty_id=cid, name=_clean_name(given["name"])))
    if "relations" in given:
        relations = _relations(given["relations"] or ())
        if tuple(relations) != state.relations:
            events.append(CounterpartyRelationsChanged(counterparty_id=cid, relations=relations))
    if "tax_id" in given and given["tax_id"] != state.tax_id:
        events.append(CounterpartyTaxIdChanged(counterparty_id=cid, tax_id=given["tax_id"]))
    details: dict[str, Any] = {}
    for name in DETAIL_FIELDS:
        if name not in given:
            continue
        value = given[name]
        if name == "comment":
            value = _comment(value or "")
        elif name == "activity_kinds":
            value = _unique(value or ())
        elif name == "legal_form" and value is None:
            raise DomainError("legal or natural", field="legal_form")
        current = getattr(state, name)
        if (list(current) if name == "activity_kinds" else current) != value:
            details[name] = value
    if details:
        events.append(CounterpartyDetailsChanged(counterparty_id=cid, changes=details))
    if "group" in given and given["group"] != state.group:
        events.append(CounterpartyRegrouped(counterparty_id=cid, group=given["group"]))
    if "head_counterparty_id" in given and given["head_counterparty_id"] != state.head_counterparty_id:
        if given["head_counterparty_id"] == cid:
            raise DomainError("a counterparty cannot be its own head", field="head_counterparty_id")
        events.append(HeadCounterpartyChanged(counterparty_id=cid, head_counterparty_id=given["head_counterparty_id"]))
    main = state.main_manager
    if given.get("main_manager") is not None and given["main_manager"] != state.main_manager:
        main = given["main_manager"]
        events.append(MainManagerAssigned(counterparty_id=cid, main_manager=main))
    if "managers" in given:
        managers = _unique([main, *(given["managers"] or ())])
        if tuple(managers) != _with(state.managers, main):
            events.append(ManagersChanged(counterparty_id=cid, managers=managers))
    if given.get("access_group") is not None and given["access_group"] != state.access_group:
        events.append(CounterpartyAccessGroupChanged(counterparty_id=cid, access_group=given["access_group"]))
    if "contact_info" in given:
        entries = _entry_dicts(given["contact_info"] or ())
        if entries != _entry_dicts(state.contact_info):
            events.append(ContactInformationChanged(counterparty_id=cid, entries=entries))
    if "properties" in given:
        merged = {**state.properties, **(given["properties"] or {})}
        values = {k: v for k, v in merged.items() if v is not None}
        if values != dict(state.properties):
            events.append(CounterpartyPropertiesChanged(counterparty_id=cid, values=values))
    if "categories" in given:
        categories = _unique(given["categories"] or ())
        if tuple(categories) != state.categories:
            events.append(CounterpartyCategoriesChanged(counterparty_id=cid, categories=categories))
    if "external_codes" in given:
        codes = external_codes(given["external_codes"] or ())
        if codes != state.external_codes:
            events.append(CounterpartyExternalCodesChanged(counterparty_id=cid, external_codes=_code_dicts(codes)))
    return events


def _absorb(duplicate: Counterparty, state: Counterparty) -> list[DomainEvent]:
    cid = state.id
    events: list[DomainEvent] = [DuplicateAbsorbed(counterparty_id=cid, merged=duplicate.id)]
    entries = _entry_dicts([*state.contact_info, *(replace(e, main=False) for e in duplicate.contact_info)])
    if entries != _entry_dicts(state.contact_info):
        events.append(ContactInformationChanged(counterparty_id=cid, entries=entries))
    categories = _unique([*state.categories, *duplicate.categories])
    if tuple(categories) != state.categories:
        events.append(CounterpartyCategoriesChanged(counterparty_id=cid, categories=categories))
    values = {**duplicate.properties, **state.properties}
    if values != dict(state.properties):
        events.append(CounterpartyPropertiesChanged(counterparty_id=cid, values=values))
    managers = _unique([*state.managers, *duplicate.managers])
    if tuple(managers) != state.managers:
        events.append(ManagersChanged(counterparty_id=cid, managers=managers))
    days = {s.on for s in state.sources}
    events.extend(
        InformationSourceRecorded(counterparty_id=cid, source=s.source, on=s.on)
        for s in duplicate.sources
        if s.on not in days
    )
    brought = duplicate.codes_moved if duplicate.merged_into is not None else duplicate.external_codes
    codes = tuple(dict.fromkeys([*state.external_codes, *brought]))
    if codes != state.external_codes:
        events.append(CounterpartyExternalCodesChanged(counterparty_id=cid, external_codes=_code_dicts(codes)))
    return events


# -- tax-id reservations (stream ``taxid-<normalised tax id>``) ------------------------------------


def normalise_tax_id(tax_id: str) -> str:
    """The form under which tax ids are compared: no spaces or dashes, upper case."""
    return "".join(tax_id.split()).replace("-", "").upper()


def tax_id_stream(tax_id: str) -> str:
    """The reservation stream of a tax id: one counterparty at a time may hold it."""
    return f"taxid-{normalise_tax_id(tax_id)}"


@catalog.register("contacts.TaxIdReserved")
class TaxIdReserved(DomainEvent):
    """The counterparty holds the tax id (confirmed). ``access_group``: its group when it claimed it
    (known while its own stream is still in flight; None in reservations made before issue 12)."""

    tax_id: str
    counterparty_id: str
    access_group: str | None = None


@catalog.register("contacts.TaxIdClaimedUnconfirmed")
class TaxIdClaimedUnconfirmed(DomainEvent):
    """The counterparty carries the tax id without holding it: its registering caller could not see
    the holder (ADR 0013), so the claim waits for review by someone who sees both."""

    tax_id: str
    counterparty_id: str
    access_group: str


@catalog.register("contacts.TaxIdReleased")
class TaxIdReleased(DomainEvent):
    tax_id: str
    counterparty_id: str


# -- external-code reservations (stream ``extcode-<system>:<code>``) -----------------------------------


def external_code_stream(key: str) -> str:
    """The reservation stream of an external code (its :attr:`ExternalCode.key`): one counterparty at a
    time may hold it."""
    return f"extcode-{key}"


@catalog.register("contacts.ExternalCodeReserved")
class ExternalCodeReserved(DomainEvent):
    """The counterparty holds the code of ``system`` (confirmed); ``access_group``: its group then."""

    system: str
    code: str
    counterparty_id: str
    access_group: str | None = None


@catalog.register("contacts.ExternalCodeClaimedUnconfirmed")
class ExternalCodeClaimedUnconfirmed(DomainEvent):
    """The counterparty carries the code without holding it: its caller could not see the holder
    (ADR 0013), as for tax ids."""

    system: str
    code: str
    counterparty_id: str
    access_group: str


@catalog.register("contacts.ExternalCodeReleased")
class ExternalCodeReleased(DomainEvent):
    system: str
    code: str
    counterparty_id: str


_RESERVED = (TaxIdReserved, ExternalCodeReserved)
_UNCONFIRMED = (TaxIdClaimedUnconfirmed, ExternalCodeClaimedUnconfirmed)
_RELEASED = (TaxIdReleased, ExternalCodeReleased)


def holder_of(reservations: list[DomainEvent]) -> str | None:
    """Who holds a tax id (or an external code) after its reservation events (None when free).

    When the holder releases it (its tax id changed, it was merged away), the earliest unconfirmed
    claimant still carrying it becomes the holder (ADR 0013): the tax id stays held while any
    counterparty carries it, so a later claimant who cannot see that one is still reviewed against it."""
    holder: str | None = None
    waiting: list[str] = []  # unconfirmed claimants, oldest first
    for event in reservations:
        if isinstance(event, _RESERVED):
            holder = event.counterparty_id
            if holder in waiting:
                waiting.remove(holder)
        elif isinstance(event, _UNCONFIRMED):
            if event.counterparty_id != holder and event.counterparty_id not in waiting:
                waiting.append(event.counterparty_id)
        elif isinstance(event, _RELEASED):
            if event.counterparty_id in waiting:
                waiting.remove(event.counterparty_id)
            if holder == event.counterparty_id:
                holder = waiting.pop(0) if waiting else None
    return holder


def claims_of(reservations: list[DomainEvent]) -> dict[str, str | None]:
    """Every counterparty carrying the tax id (or external code) after its reservation events (the
    holder and the unconfirmed claimants), with the access group it claimed it in (None when not
    recorded)."""
    claims: dict[str, str | None] = {}
    for event in reservations:
        if isinstance(event, _RESERVED + _UNCONFIRMED):
            claims[event.counterparty_id] = event.access_group
        elif isinstance(event, _RELEASED):
            claims.pop(event.counterparty_id, None)
    return claims
