"""Rules of a counterparty command that need more than its own stream: reference codes must name
defined, active entries of the administrators' catalogs, property values must fit their property's
type, contact information is typed by its kind, the head counterparty must exist, be visible and
not close a cycle of holdings, and new managers and a new access group must be active users and
groups of the gateway's directory (its local copy, :mod:`crm_shared.directory`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from crm_contacts.domain import counterparty as cp
from crm_contacts.domain.contact_info import CONTACT_TYPES, ContactEntry, ContactType, normalise
from crm_shared.directory import LocalDirectory
from crm_shared.errors import DomainError
from crm_shared.identity import Caller

MAX_HOLDING_DEPTH = 32
MAX_TEXT_PROPERTY = 1000


class Entry(Protocol):
    """A reference entry as the rules need it."""

    @property
    def attributes(self) -> Mapping[str, Any]: ...


class ReferenceLookup(Protocol):
    """The administrators' catalogs (see application/reference/data.py)."""

    async def require(self, catalog: str, code: str, *, field: str) -> Entry:
        """The active entry ``code`` of ``catalog``, or a DomainError naming ``field``."""
        ...


@dataclass(frozen=True, slots=True)
class RawContact:
    """A contact information entry as given: its kind's code and the value as typed."""

    kind: str
    value: str
    main: bool = False
    comment: str = ""


LoadState = Callable[[str], Awaitable[cp.State]]


class CounterpartyRules:
    """Validates counterparty commands against the reference data and other counterparties."""

    def __init__(
        self,
        reference: ReferenceLookup,
        load: LoadState,
        default_country: str,
        directory: LocalDirectory | None = None,
    ) -> None:
        self._reference = reference
        self._load = load
        self.default_country = default_country
        self.directory = directory
        """Where managers and access groups are checked (None: not checked, e.g. in an import's
        planning workers, whose rows the import checks itself)."""

    def without_directory(self) -> CounterpartyRules:
        """These rules without the checks of users and access groups."""
        return CounterpartyRules(self._reference, self._load, self.default_country)

    async def contact_entries(
        self, raws: Iterable[RawContact], *, applies_to: str = "counterparty", field: str = "contact_info"
    ) -> tuple[ContactEntry, ...]:
        """Typed, normalised entries; each kind must apply to ``applies_to`` (counterparty or person)."""
        entries = []
        for i, raw in enumerate(raws):
            where = f"{field}[{i}]"
            kind = await self._reference.require("contact-kinds", raw.kind, field=f"{where}.kind")
            if kind.attributes.get("applies_to", "both") not in ("both", applies_to):
                raise DomainError(f"the kind {raw.kind!r} is not for a {applies_to}", field=f"{where}.kind")
            type_ = str(kind.attributes.get("type", "other"))
            if type_ not in CONTACT_TYPES:
                type_ = "other"
            contact_type: ContactType = type_  # type: ignore[assignment]
            value, key = normalise(contact_type, raw.value, self.default_country, field=f"{where}.value")
            entries.append(ContactEntry(raw.kind, contact_type, value, key, raw.main, raw.comment.strip()))
        return tuple(entries)

    async def __call__(self, command: cp.Command, state: cp.State, caller: Caller) -> None:
        """Raise a DomainError naming the field if the command breaks a rule."""
        match command:
            case cp.RegisterCounterparty():
                given: Mapping[str, Any] = {
                    "group": command.group,
                    "region": command.region,
                    "activity_kinds": command.activity_kinds,
                    "categories": command.categories,
                    "properties": command.properties,
                    "head_counterparty_id": command.head_counterparty_id,
                }
                await self._check(given, command.counterparty_id, caller)
                if command.source is not None:
                    await self._reference.require("sources", command.source.source, field="source")
                await self._check_people(
                    {
                        "main_manager": command.main_manager,
                        "managers": command.managers,
                        "access_group": command.access_group,
                    },
                    None,
                    caller,
                )
            case cp.UpdateCounterparty():
                await self._check(command.changes, command.counterparty_id, caller)
                await self._check_people(command.changes, state, caller)
            case cp.RecordSource():
                await self._reference.require("sources", command.source, field="source")

    async def _check(self, given: Mapping[str, Any], counterparty_id: str, caller: Caller) -> None:
        if given.get("group"):
            await self._reference.require("groups", given["group"], field="group")
        if given.get("region"):
            await self._reference.require("regions", given["region"], field="region")
        for i, code in enumerate(given.get("activity_kinds") or ()):
            await self._reference.require("activity-kinds", code, field=f"activity_kinds[{i}]")
        for i, code in enumerate(given.get("categories") or ()):
            category = await self._reference.require("categories", code, field=f"categories[{i}]")
            _applies(category, "counterparty", f"categories[{i}]")
        for code, value in (given.get("properties") or {}).items():
            prop = await self._reference.require("properties", code, field=f"properties.{code}")
            _applies(prop, "counterparty", f"properties.{code}")
            if value is not None:
                check_property_value(prop.attributes, value, field=f"properties.{code}")
        if given.get("head_counterparty_id"):
            await self._check_head(counterparty_id, given["head_counterparty_id"], caller)

    async def _check_people(self, given: Mapping[str, Any], state: cp.State, caller: Caller) -> None:
        """New managers must be active users, a new access group an active group; what the record
        names already stays (it may predate the directory), and the caller may name themselves."""
        if self.directory is None:
            return
        kept = (caller.user_id,) if state is None else (caller.user_id, state.main_manager, *state.managers)
        if given.get("main_manager"):
            await self.directory.require_user(given["main_manager"], field="main_manager", kept=kept)
        if given.get("managers"):
            await self.directory.require_users(list(given["managers"]), field="managers", kept=kept)
        if given.get("access_group"):
            current = None if state is None else state.access_group
            await self.directory.require_group(given["access_group"], field="access_group", kept=current)

    async def _check_head(self, counterparty_id: str, head_id: str, caller: Caller) -> None:
        field = "head_counterparty_id"
        current: str | None = head_id
        for _ in range(MAX_HOLDING_DEPTH):
            if current is None:
                return
            if current == counterparty_id:
                raise DomainError("this head would make a cycle of holdings", field=field)
            head = await self._load(current)
            if head is None or (current == head_id and not caller.sees_group(head.access_group)):
                raise DomainError(f"no counterparty {current}", field=field)
            current = head.head_counterparty_id
        raise DomainError(f"holdings may be at most {MAX_HOLDING_DEPTH} levels deep", field=field)


def _applies(entry: Entry, to: str, field: str) -> None:
    if entry.attributes.get("applies_to", "both") not in ("both", to):
        raise DomainError(f"not defined for a {to}", field=field)


def check_property_value(definition: Mapping[str, Any], value: Any, *, field: str) -> None:
    """Refuse a value that does not fit the property's type (string, number, date, boolean, choice)."""
    match definition.get("value_type", "string"):
        case "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DomainError("must be a number", field=field)
        case "boolean":
            if not isinstance(value, bool):
                raise DomainError("must be true or false", field=field)
        case "date":
            try:
                date.fromisoformat(str(value))
            except ValueError as exc:
                raise DomainError("must be a date (YYYY-MM-DD)", field=field) from exc
            if not isinstance(value, str):
                raise DomainError("must be a date (YYYY-MM-DD)", field=field)
        case "choice":
            choices = list(definition.get("choices", ()))
            if value not in choices:
                raise DomainError(f"must be one of {choices}", field=field)
        case _:
            if not isinstance(value, str) or len(value) > MAX_TEXT_PROPERTY:
                raise DomainError(f"must be text of at most {MAX_TEXT_PROPERTY} characters", field=field)
