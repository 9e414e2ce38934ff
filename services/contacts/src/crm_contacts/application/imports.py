"""Import of counterparties from a CSV file (columns in application/csv_columns.py), as a job.

Every row is checked in full (its values, the reference codes, the access group, the same rules as
the HTTP API) before anything is written; a row that fails goes to the job's report with its line
number, column and reason, and the good rows are written.

Writing takes the bulk path: a batch of new counterparties, with their tax-id reservation streams, is
appended with ``EventStore.append_many`` (one transaction on SQLite). If the batch meets a stream that
exists, its rows are looked at one by one: new ones are written in bulk again, and a row whose
counterparty exists is compared with it: the same data is counted as *unchanged*, different data is
applied through the ordinary command path.

Re-running is safe. A row's counterparty id follows from its ``id`` column, else from its tax id
(the counterparty that holds that tax id, or an id derived from it), else from a hash of the row's
content; its event ids follow from the file's digest and the row's line, so retrying a batch appends
nothing, and importing the same file twice changes nothing.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from crm_contacts.application.commands import CounterpartyCommands
from crm_contacts.application.csv_columns import (
    CONTACT_PREFIX,
    PROPERTY_PREFIX,
    CellRejected,
    CsvFile,
    FileRejected,
    Header,
    Record,
    RowValues,
    parse_row,
    property_value,
    records,
    scan,
)
from crm_contacts.application.jobs import Control, Rejection
from crm_contacts.application.reference import ReferenceData
from crm_contacts.application.validation import CounterpartyRules
from crm_contacts.domain import counterparty as cp
from crm_contacts.domain.contact_info import ContactEntry, with_main_rule
from crm_shared.errors import DomainError, Forbidden
from crm_shared.eventstore import NO_STREAM, EventStore, NewEvent, WrongExpectedVersion
from crm_shared.eventstore.port import StreamAppend
from crm_shared.identity import Caller, Permission

BATCH = 2000
_NAMESPACE = uuid.UUID("3e0b8f7c-2d5a-4c61-9b8e-7a4f1d6c2e95")
_INDEXED = re.compile(r"^(contact_info|activity_kinds|categories|managers)\[(\d+)\]")
Outcome = Literal["accepted", "unchanged"]


def counterparty_id_of(values: RowValues) -> str:
    """The row's counterparty: its ``id``, else one derived from its tax id, else from its content."""
    if values.id:
        return values.id
    if values.tax_id:
        return str(uuid.uuid5(_NAMESPACE, f"taxid:{cp.normalise_tax_id(values.tax_id)}"))
    return str(uuid.uuid5(_NAMESPACE, f"row:{values.digest}"))


def event_id(file_digest: str, line: int, index: int) -> uuid.UUID:
    """The id of the ``index``-th event of the row on ``line`` (0: its tax-id reservation).

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


@dataclass(frozen=True, slots=True)
class Planned:
    """A row that passed every check, with the events that register it."""

    line: int
    values: RowValues
    counterparty_id: str
    command: cp.RegisterCounterparty
    events: list[NewEvent]
    reservation: tuple[str, NewEvent] | None


def column_of(field: str | None, values: RowValues | None = None) -> str:
    """The CSV column of a command field named in a DomainError (``contact_info[2].value`` -> ``contact:phone``)."""
    if not field:
        return ""
    if field.startswith("properties."):
        return PROPERTY_PREFIX + field.removeprefix("properties.")
    indexed = _INDEXED.match(field)
    if indexed is None:
        return field
    if indexed.group(1) == "contact_info" and values is not None and int(indexed.group(2)) < len(values.contacts):
        return CONTACT_PREFIX + values.contacts[int(indexed.group(2))].kind
    return indexed.group(1)


class CounterpartyImport:
    """Imports one file for one caller, reporting through the job's :class:`Control`."""

    def __init__(
        self,
        store: EventStore,
        commands: CounterpartyCommands,
        rules: CounterpartyRules,
        reference: ReferenceData,
        *,
        batch_size: int = BATCH,
    ) -> None:
        self._store = store
        self._commands = commands
        self._rules = rules
        self._reference = reference
        self._batch_size = batch_size

    async def run(self, control: Control, path: Path, caller: Caller) -> None:
        """Import the file at ``path``; a file that cannot be read at all fails the job naming why."""
        if not caller.can(Permission.COUNTERPARTY_IMPORT):
            raise Forbidden("your roles do not allow importing counterparties")
        try:
            csv_file = await asyncio.to_thread(scan, path)
        except FileRejected as exc:
            raise DomainError(str(exc), field="file") from exc
        control.progress.total = csv_file.rows
        control.job.params.update(encoding=csv_file.encoding, delimiter=csv_file.delimiter)
        await control.tick(force=True)
        await self._check_header(csv_file.header)
        run = _Run(self._store, self._commands, self._rules, self._reference, control, csv_file, caller)
        run.batch_size = self._batch_size
        with csv_file.open() as text:
            for record in records(text, csv_file):
                await run.take(record)
        await run.flush()
        await control.tick(force=True)

    async def _check_header(self, header: Header) -> None:
        for catalog, codes, prefix in (
            ("contact-kinds", header.contact_kinds, CONTACT_PREFIX),
            ("properties", header.properties, PROPERTY_PREFIX),
        ):
            for code in codes:
                if await self._reference.get(catalog, code) is None:
                    raise DomainError(f"column {prefix}{code}: there is no {code!r} in {catalog}", field="file")


class _Run:
    """The state of one import: the batch being gathered and the counterparties seen so far."""

    def __init__(
        self,
        store: EventStore,
        commands: CounterpartyCommands,
        rules: CounterpartyRules,
        reference: ReferenceData,
        control: Control,
        csv_file: CsvFile,
        caller: Caller,
    ) -> None:
        self._store = store
        self._commands = commands
        self._rules = rules
        self._reference = reference
        self.batch_size = BATCH
        self._control = control
        self._file = csv_file
        self._caller = caller
        self._today = commands.now().date()
        self._seen: dict[str, int] = {}
        self._batch: list[Planned] = []
        self._pending: set[str] = set()
        self._metadata = {"actor": caller.user_id, "import_job": control.job.id}
        self._unique_tax_id = commands.tax_ids.enabled

    # -- reading and checking ----------------------------------------------------------------------

    async def take(self, record: Record) -> None:
        """Check one row and add it to the batch (or to the report)."""
        progress = self._control.progress
        try:
            planned = await self._plan(record)
        except CellRejected as exc:
            self._control.reject(Rejection(record.line, exc.column, exc.reason, record.cells.get("name", "")))
        else:
            self._batch.append(planned)
            self._pending.add(planned.counterparty_id)
        progress.done += 1
        if len(self._batch) >= self.batch_size:
            await self.flush()
        elif progress.done % 200 == 0:
            await asyncio.sleep(0)  # let requests in between rows

    async def _plan(self, record: Record) -> Planned:
        values = parse_row(record)
        cid = counterparty_id_of(values)
        earlier = self._seen.get(cid)
        if earlier is not None:
            column = "id" if values.id else "tax_id" if values.tax_id else "name"
            raise CellRejected(column, f"the same counterparty as line {earlier}")
        group = values.access_group or cp.DEFAULT_ACCESS_GROUP
        if not self._caller.sees_group(group):
            raise CellRejected("access_group", f"you have no access to the access group {group!r}")
        if values.head_counterparty_id in self._pending:
            await self.flush()  # the head is in this batch: write it first, so the check finds it
        try:
            command = await self._command(values, cid)
            await self._rules(command, None, self._caller)
            decided = cp.decide(command, None)
        except DomainError as exc:
            raise CellRejected(column_of(exc.field, values), str(exc)) from exc
        digest = self._file.digest
        events = [
            cp.catalog.encode(event, event_id=event_id(digest, record.line, i + 1), metadata=self._metadata)
            for i, event in enumerate(decided)
        ]
        reservation = None
        if values.tax_id and self._unique_tax_id:
            reserved = cp.TaxIdReserved(tax_id=cp.normalise_tax_id(values.tax_id), counterparty_id=cid)
            encoded = cp.catalog.encode(reserved, event_id=event_id(digest, record.line, 0), metadata=self._metadata)
            reservation = (cp.tax_id_stream(values.tax_id), encoded)
        self._seen[cid] = record.line
        return Planned(record.line, values, cid, command, events, reservation)

    async def _command(self, values: RowValues, cid: str) -> cp.RegisterCounterparty:
        contact_info = await self._rules.contact_entries(values.contacts) if values.contacts else ()
        properties: dict[str, Any] = {}
        for code, text in values.properties.items():
            column = PROPERTY_PREFIX + code
            definition = await self._reference.require("properties", code, field=f"properties.{code}")
            value = property_value(text, str(definition.attributes.get("value_type", "string")), column)
            if value is not None:
                properties[code] = value
        return cp.RegisterCounterparty(
            counterparty_id=cid,
            name=values.name,
            relations=values.relations or ("other",),
            tax_id=values.tax_id,
            main_manager=values.main_manager or self._caller.user_id,
            now=self._commands.now(),
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
            source=None if values.source is None else cp.SourceRecord(values.source, values.source_date or self._today),
        )

    # -- writing -----------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write the batch, then save the progress (and stop here if the job was cancelled)."""
        batch, self._batch = self._batch, []
        self._pending.clear()
        if batch:
            await self._write(batch, retry=True)
        await self._control.tick()

    async def _write(self, batch: list[Planned], *, retry: bool) -> None:
        head = await self._store.head_position()
        items: list[StreamAppend] = []
        ends: list[int] = []  # where each row's own stream is in the batch (after its reservation)
        for planned in batch:
            if planned.reservation is not None:
                items.append((planned.reservation[0], [planned.reservation[1]], NO_STREAM))
            ends.append(len(items))
            items.append((cp.stream_of(planned.counterparty_id), planned.events, NO_STREAM))
        try:
            results = await self._store.append_many(items)
        except WrongExpectedVersion:
            if not retry:
                for planned in batch:
                    await self._settle(planned, head)
                return
            fresh, known = await self._classify(batch)
            if fresh:
                await self._write(fresh, retry=False)
            for planned in known:
                await self._settle(planned, head)
            return
        # An idempotent re-append returns the position of the events appended before (at or below the
        # head): the row existed already, so it is compared with its counterparty.
        for planned, index in zip(batch, ends, strict=True):
            if results[index].position > head:
                self._control.progress.accepted += 1
            else:
                await self._settle(planned, head)

    async def _classify(self, batch: list[Planned]) -> tuple[list[Planned], list[Planned]]:
        """Split a batch that met existing streams into rows whose streams are all new, and the others."""

        async def is_new(planned: Planned) -> bool:
            streams = [cp.stream_of(planned.counterparty_id)]
            if planned.reservation is not None:
                streams.append(planned.reservation[0])
            found = await asyncio.gather(*(self._store.read_stream(s, limit=1) for s in streams))
            return not any(found)

        verdicts = await asyncio.gather(*(is_new(p) for p in batch))
        fresh: list[Planned] = []
        known: list[Planned] = []
        for planned, new in zip(batch, verdicts, strict=True):
            (fresh if new else known).append(planned)
        return fresh, known

    async def _settle(self, planned: Planned, head: int) -> None:
        """One row the bulk path could not simply add: create, update or leave it."""
        try:
            outcome = await self._upsert(planned, head)
        except DomainError as exc:
            column = column_of(exc.field, planned.values)
            self._control.reject(Rejection(planned.line, column, str(exc), planned.values.name))
            return
        except WrongExpectedVersion:
            reason = "the counterparty changed while it was imported; import the file again"
            self._control.reject(Rejection(planned.line, "", reason, planned.values.name))
            return
        if outcome == "accepted":
            self._control.progress.accepted += 1
        else:
            self._control.progress.unchanged += 1

    async def _upsert(self, planned: Planned, head: int) -> Outcome:
        values, caller = planned.values, self._caller
        target = planned.counterparty_id
        state, events = await self._commands.load(target)
        if values.id is None and values.tax_id and self._unique_tax_id and not _has_tax_id(state, values.tax_id):
            holder = await self._holder(values.tax_id)
            if holder is not None and holder != target:
                target = holder
                state, events = await self._commands.load(target)
        metadata = self._metadata
        if state is None:
            command = replace(planned.command, counterparty_id=target)
            key = f"import:{values.digest}:{target}"
            await self._commands.handle(command, caller, idempotency_key=key, metadata=metadata)
            return "accepted"
        if events[0].id == planned.events[0].id and events[0].position > head:
            return "accepted"  # this row registered it in this run (a batch partly applied before a conflict)
        if not caller.sees_group(state.access_group):
            column = "id" if values.id else "tax_id"
            raise DomainError("it exists in an access group you have no access to", field=column)
        update = cp.UpdateCounterparty(target, self._changes(planned, state))
        changes = cp.decide(update, replace(state, archived=False))
        source = self._new_source(values, state)
        if not changes and source is None:
            return "unchanged"
        if state.archived:
            raise DomainError("the counterparty is archived; restore it first", field="")
        version = events[-1].stream_version
        if changes:
            key = f"import:{values.digest}:{version}"
            result = await self._commands.handle(update, caller, idempotency_key=key, metadata=metadata)
            version = result.version
        if source is not None:
            key = f"import:{values.digest}:{version}"
            await self._commands.handle(
                cp.RecordSource(target, source.source, source.on), caller, idempotency_key=key, metadata=metadata
            )
        return "accepted"

    async def _holder(self, tax_id: str) -> str | None:
        """The counterparty that holds ``tax_id`` now (a stale reservation counts as none)."""
        recorded = await self._store.read_stream(cp.tax_id_stream(tax_id))
        holder = cp.holder_of([cp.catalog.decode(r) for r in recorded])
        if holder is None:
            return None
        return holder if _has_tax_id(await self._commands.load_state(holder), tax_id) else None

    def _changes(self, planned: Planned, state: cp.Counterparty) -> dict[str, Any]:
        """The update a row means for an existing counterparty: the columns the file has, nothing else."""
        values, command, given = planned.values, planned.command, planned.values.given
        changes: dict[str, Any] = {"name": values.name}
        for name in ("relations", "legal_form", "main_manager", "access_group"):
            if name in given and getattr(values, name):
                changes[name] = getattr(command, name)
        for name in ("tax_id", "vat_id", "group", "head_counterparty_id", "region", "comment"):
            if name in given:
                changes[name] = getattr(values, name)
        for name in ("tax_id", "vat_id"):  # the same number written another way is no change
            written, current = changes.get(name), getattr(state, name)
            if written and current and cp.normalise_tax_id(written) == cp.normalise_tax_id(current):
                changes[name] = current
        for name in ("activity_kinds", "managers", "categories"):
            if name in given:
                changes[name] = getattr(values, name)
        kinds = {c.removeprefix(CONTACT_PREFIX) for c in given if c.startswith(CONTACT_PREFIX)}
        if kinds:
            entries = _merged_contacts(state.contact_info, command.contact_info, kinds)
            if _entry_set(entries) != _entry_set(state.contact_info):
                changes["contact_info"] = entries
        properties = {c.removeprefix(PROPERTY_PREFIX) for c in given if c.startswith(PROPERTY_PREFIX)}
        if properties:
            changes["properties"] = {code: command.properties.get(code) for code in properties}
        return changes

    def _new_source(self, values: RowValues, state: cp.Counterparty) -> cp.SourceRecord | None:
        """The source to record, unless the counterparty has it already."""
        if values.source is None:
            return None
        if values.source_date is not None:
            on: date = values.source_date
            if any(s.on == on and s.source == values.source for s in state.sources):
                return None
            return cp.SourceRecord(values.source, on)
        latest = state.source_on(self._today)
        return (
            None
            if latest is not None and latest.source == values.source
            else cp.SourceRecord(values.source, self._today)
        )


def _has_tax_id(state: cp.State, tax_id: str) -> bool:
    return (
        state is not None
        and state.tax_id is not None
        and cp.normalise_tax_id(state.tax_id) == cp.normalise_tax_id(tax_id)
    )


def _merged_contacts(
    current: tuple[ContactEntry, ...], given: tuple[ContactEntry, ...], kinds: set[str]
) -> tuple[ContactEntry, ...]:
    """The file's entries for the kinds it has columns for (keeping the comments of entries that stay),
    and the current entries of the other kinds."""
    comments = {(e.kind, e.key): e.comment for e in current}
    kept = [e for e in current if e.kind not in kinds]
    new = [replace(e, comment=comments.get((e.kind, e.key), e.comment)) for e in given]
    return tuple(with_main_rule([*kept, *new]))


def _entry_set(entries: tuple[ContactEntry, ...]) -> set[tuple[str, str, bool, str]]:
    return {(e.kind, e.key, e.main, e.comment) for e in with_main_rule(list(entries))}
