"""One imported row planned: the checks of a registration that need no store, and its events.

The row's values (csv_columns.parse_row), the access group, the reference codes, the contact
information (E.164 phones, e-mails), property values and ``decide`` are the same functions the
command path runs (:class:`~crm_contacts.application.counterparties.validation.CounterpartyRules`,
``cp.decide``). The importing process runs :func:`plan_chunk` on chunks of rows, inline or in worker
processes; there the reference entries come from a :class:`Snapshot` the importing process read from
the entries' streams (:class:`~crm_contacts.application.reference.data.ReferenceData`, refreshed as
often as its cache), and a row that needs the stores (a head counterparty, a contact person) or an
entry not in the snapshot comes back marked ``stores`` to be planned in the importing process.
What depends on the rows before it (a counterparty repeated in the file) and the writing stay there.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol, TypeVar

from crm_contacts.application.counterparties.validation import CounterpartyRules
from crm_contacts.application.csv_columns import (
    CONTACT_PREFIX,
    PROPERTY_PREFIX,
    CellRejected,
    Record,
    RowValues,
    codes_column,
    parse_row,
    property_value,
    record_of,
)
from crm_contacts.application.reference.data import active, check_code
from crm_contacts.domain import counterparty as cp
from crm_contacts.domain.reference import ReferenceEntry
from crm_shared import jsoncodec
from crm_shared.errors import DomainError
from crm_shared.events import DomainEvent
from crm_shared.eventstore import NewEvent
from crm_shared.identity import Caller

T = TypeVar("T")
NAMESPACE = uuid.UUID("3e0b8f7c-2d5a-4c61-9b8e-7a4f1d6c2e95")
INDEXED = re.compile(r"^(contact_info|activity_kinds|categories|managers|external_codes)\[(\d+)\]")

EntryKey = tuple[str, str]
"""A reference entry: (catalog, code)."""
Entries = dict[EntryKey, ReferenceEntry | None]
"""Reference entries as read from their streams (None: there is none)."""
EncodedEvent = tuple[int, str, bytes, bytes]
"""An event ready to append: its id (as an int), type, data and metadata as JSON."""


def counterparty_id_of(values: RowValues) -> str:
    """The row's counterparty: its ``id``, else one derived from its tax id, else from its content."""
    if values.id:
        return values.id
    if values.tax_id:
        return str(uuid.uuid5(NAMESPACE, f"taxid:{cp.normalise_tax_id(values.tax_id)}"))
    return str(uuid.uuid5(NAMESPACE, f"row:{values.digest}"))


def event_id(file_digest: str, line: int, index: int) -> uuid.UUID:
    """The id of the ``index``-th event of the row on ``line`` (0: its tax-id reservation; from
    :data:`FIRST_CODE` on: its external codes' reservations).

    The same file always gives the same ids (so re-appending is a no-op), and one file's ids ascend
    with its lines, so inserting them keeps to one end of the event store's id index: a version-8
    UUID of 48 bits of the file's digest, the line (40 bits) and the index.
    """
    prefix = int(file_digest[:12], 16)
    value = (
        prefix << 80
        | 0x8 << 76
        | ((line >> 28) & 0xFFF) << 64
        | 0b10 << 62
        | (line & 0xFFFFFFF) << 34
        | (index & 0xFF) << 26
    )
    return uuid.UUID(int=value)


FIRST_CODE = 200
"""The event index (see :func:`event_id`) of a row's first external-code reservation."""


def column_of(field: str | None, values: RowValues | None = None) -> str:
    """The CSV column of a command field named in a DomainError (``contact_info[2].value`` -> ``contact:phone``)."""
    if not field:
        return ""
    if field.startswith("properties."):
        return PROPERTY_PREFIX + field.removeprefix("properties.")
    indexed = INDEXED.match(field)
    if indexed is None:
        return field
    if indexed.group(1) == "contact_info" and values is not None and int(indexed.group(2)) < len(values.contacts):
        return CONTACT_PREFIX + values.contacts[int(indexed.group(2))].kind
    if indexed.group(1) == "external_codes":
        return codes_column(() if values is None else values.external_codes, int(indexed.group(2)))
    return indexed.group(1)


@dataclass(frozen=True, slots=True)
class Context:
    """What planning a row of one import needs besides the row (sent to the workers with each chunk)."""

    digest: str
    """The file's digest (event ids follow from it and the line)."""
    caller: Caller
    metadata: Mapping[str, str]
    default_country: str
    unique_tax_id: bool
    today: date


class Lookup(Protocol):
    """The reference entries as planning needs them (ReferenceData, or a Snapshot of it)."""

    async def require(self, catalog: str, code: str, *, field: str) -> ReferenceEntry: ...


class NeedsStores(Exception):
    """The row needs what only the importing process has: the stores, or an entry not in the snapshot."""

    def __init__(self, missing: EntryKey | None = None) -> None:
        super().__init__(missing)
        self.missing = missing


class Snapshot:
    """Reference entries read beforehand, answering as ``ReferenceData.require`` does."""

    def __init__(self, entries: Mapping[EntryKey, ReferenceEntry | None]) -> None:
        self._entries = entries

    async def require(self, catalog: str, code: str, *, field: str) -> ReferenceEntry:
        """The active entry, a DomainError naming ``field``, or :class:`NeedsStores` when not read yet."""
        check_code(catalog, code, field=field)
        key = (catalog, code)
        if key not in self._entries:
            raise NeedsStores(key)
        return active(catalog, code, self._entries[key], field=field)


Reservation = tuple[str, NewEvent]
"""A reservation stream and the event that takes it."""
Registration = tuple[cp.RegisterCounterparty, list[NewEvent], list[Reservation]]
"""The command of a row, its events, and its reservations (of its tax id and its external codes)."""


async def registration(
    values: RowValues,
    cid: str,
    line: int,
    *,
    rules: CounterpartyRules,
    reference: Lookup,
    context: Context,
    now: datetime,
) -> Registration:
    """The registration a row means, checked as the command path checks one (a DomainError names the
    field, a CellRejected the column), and its events with the row's ids."""
    contact_info = await rules.contact_entries(values.contacts) if values.contacts else ()
    properties: dict[str, Any] = {}
    for code, text in values.properties.items():
        column = PROPERTY_PREFIX + code
        definition = await reference.require("properties", code, field=f"properties.{code}")
        value = property_value(text, str(definition.attributes.get("value_type", "string")), column)
        if value is not None:
            properties[code] = value
    caller = context.caller
    command = cp.RegisterCounterparty(
        counterparty_id=cid,
        name=values.name,
        relations=values.relations or ("other",),
        tax_id=values.tax_id,
        main_manager=values.main_manager or caller.user_id,
        now=now,
        access_group=values.access_group or cp.DEFAULT_ACCESS_GROUP,
        legal_form=values.legal_form or "legal",
        vat_id=values.vat_id,
        group=values.group,
        head_counterparty_id=values.head_counterparty_id,
        region=values.region,
        comment=values.comment,
        activity_kinds=values.activity_kinds,
        managers=values.managers,
        contact_info=contact_info,
        properties=properties,
        categories=values.categories,
        source=None if values.source is None else cp.SourceRecord(values.source, values.source_date or context.today),
        external_codes=values.external_codes,
    )
    await rules(command, None, caller)
    decided = cp.decide(command, None)
    digest = context.digest
    ids = [event_id(digest, line, i + 1) for i in range(len(decided))]
    taken: list[tuple[str, DomainEvent]] = []
    if values.tax_id and context.unique_tax_id:
        reserved = cp.TaxIdReserved(tax_id=cp.normalise_tax_id(values.tax_id), counterparty_id=cid)
        ids.append(event_id(digest, line, 0))
        taken.append((cp.tax_id_stream(values.tax_id), reserved))
    for i, external in enumerate(command.external_codes):
        reserved_code = cp.ExternalCodeReserved(
            system=external.system, code=external.code, counterparty_id=cid, access_group=command.access_group
        )
        ids.append(event_id(digest, line, FIRST_CODE + i))
        taken.append((cp.external_code_stream(external.key), reserved_code))
    stored = cp.catalog.encode_json([*decided, *(event for _, event in taken)], ids, context.metadata)
    events = stored[: len(decided)]
    reservations = [(stream, event) for (stream, _), event in zip(taken, stored[len(decided) :], strict=True)]
    return command, events, reservations


class RowPlan(NamedTuple):
    """What :func:`plan_chunk` found of one row."""

    line: int
    name: str
    """The name as written (for the report)."""
    cid: str | None
    """The row's counterparty; None when its values are wrong (``error`` says how)."""
    same: str
    """The column that names the counterparty, should an earlier row have it too."""
    error: tuple[str, str] | None
    """The column and the reason the row is rejected for (after the check for an earlier row)."""
    stores: bool
    """Plan the row in the importing process (it needs the stores, or ``missing``)."""
    missing: EntryKey | None
    events: list[EncodedEvent] | None
    reservations: list[tuple[str, EncodedEvent]]


def encoded(event: NewEvent) -> EncodedEvent:
    """An event as an :data:`EncodedEvent` (compact to send between processes)."""
    return (event.id.int, event.type, jsoncodec.dumps_mapping(event.data), jsoncodec.dumps_mapping(event.metadata))


def decoded(event: EncodedEvent) -> NewEvent:
    """An :data:`EncodedEvent` to append (the store writes its JSON as it is)."""
    number, type_, data, metadata = event
    return NewEvent(uuid.UUID(int=number), type_, jsoncodec.Encoded(data), jsoncodec.Encoded(metadata))


def plan_chunk(
    context: Context,
    columns: Sequence[str],
    entries: Mapping[EntryKey, ReferenceEntry | None],
    rows: Sequence[tuple[int, list[str]]],
    now: datetime,
) -> list[RowPlan]:
    """Plan rows as read (line and cells); pure, so it runs in a worker process as well."""
    reference = Snapshot(entries)
    rules = CounterpartyRules(reference, _needs_stores, context.default_country)
    return [_plan_row(context, rules, reference, record_of(line, cells, columns), now) for line, cells in rows]


async def _needs_stores(counterparty_id: str) -> cp.State:
    raise NeedsStores()


def _plan_row(
    context: Context, rules: CounterpartyRules, reference: Snapshot, record: Record, now: datetime
) -> RowPlan:
    line, name = record.line, record.cells.get("name", "")
    try:
        values = parse_row(record)
    except CellRejected as exc:
        return RowPlan(line, name, None, "", (exc.column, exc.reason), False, None, None, [])
    cid = counterparty_id_of(values)
    same = "id" if values.id else "tax_id" if values.tax_id else "name"
    if values.person is not None or values.head_counterparty_id:
        return RowPlan(line, name, cid, same, None, True, None, None, [])
    group = values.access_group or cp.DEFAULT_ACCESS_GROUP
    if not context.caller.sees_group(group):
        error = ("access_group", f"you have no access to the access group {group!r}")
        return RowPlan(line, name, cid, same, error, False, None, None, [])
    try:
        checked = run_sync(registration(values, cid, line, rules=rules, reference=reference, context=context, now=now))
    except NeedsStores as exc:
        return RowPlan(line, name, cid, same, None, True, exc.missing, None, [])
    except DomainError as exc:
        return RowPlan(line, name, cid, same, (column_of(exc.field, values), str(exc)), False, None, None, [])
    except CellRejected as exc:
        return RowPlan(line, name, cid, same, (exc.column, exc.reason), False, None, None, [])
    _, events, reservations = checked
    taken = [(stream, encoded(event)) for stream, event in reservations]
    return RowPlan(line, name, cid, same, None, False, None, [encoded(e) for e in events], taken)


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never waits (the checks on a :class:`Snapshot`)."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result
    coroutine.close()
    raise RuntimeError("planning a row waited for I/O")
