"""Import of counterparties from a CSV file (columns in application/csv_columns.py), as a job.

Every row is checked in full (its values, the reference codes, the access group, the same rules as
the HTTP API) before anything is written; a row that fails goes to the job's report with its line
number, column and reason, and the good rows are written.

Writing takes the bulk path: a batch of new counterparties, with their reservation streams (tax id,
external codes), is
appended with ``EventStore.append_many`` (one transaction on SQLite). If the batch meets a stream that
exists, its rows are looked at one by one: new ones are written in bulk again, and a row whose
counterparty exists is compared with it: the same data is counted as *unchanged*, different data is
applied through the ordinary command path.

Re-running is safe. A row's counterparty id follows from its ``id`` column, else from its tax id
(the counterparty that holds that tax id, or an id derived from it), else from a hash of the row's
content; its event ids follow from the file's digest and the row's line, so retrying a batch appends
nothing, and importing the same file twice changes nothing.

A row may also bring one contact person (the ``person_*`` columns), registered through
:class:`~crm_contacts.application.persons.commands.PersonCommands` after its batch of counterparties
is written and the counterparty view has caught up, linked to the row's counterparty, owned by the
importing user.
Its id follows from the counterparty and the person's normalised name, so a person that exists
already counts as unchanged. Further rows of the same counterparty bring further persons; their
counterparty columns are not imported again.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from crm_contacts.application.counterparties.commands import CounterpartyCommands
from crm_contacts.application.counterparties.validation import CounterpartyRules
from crm_contacts.application.csv_columns import (
    CODES_COLUMN,
    CONTACT_PREFIX,
    ERP_COLUMN,
    PERSON_COLUMNS,
    PROPERTY_PREFIX,
    CellRejected,
    CsvFile,
    FileRejected,
    Header,
    RawPerson,
    Record,
    RowValues,
    parse_row,
    raw_rows,
    record_of,
    scan,
)
from crm_contacts.application.import_plan import (
    INDEXED,
    NAMESPACE,
    Context,
    Entries,
    EntryKey,
    Registration,
    RowPlan,
    column_of,
    counterparty_id_of,
    decoded,
    event_id,
    plan_chunk,
    registration,
)
from crm_contacts.application.persons.commands import PersonCommands
from crm_contacts.application.reference.data import CACHE_TTL_SECONDS as REFERENCE_TTL
from crm_contacts.application.reference.data import ReferenceData
from crm_contacts.domain import counterparty as cp
from crm_contacts.domain import person as pe
from crm_contacts.domain.contact_info import ContactEntry, with_main_rule
from crm_shared.errors import DomainError, Forbidden
from crm_shared.eventstore import NO_STREAM, EventStore, NewEvent, WrongExpectedVersion
from crm_shared.eventstore.port import StreamAppend
from crm_shared.identity import Caller, Permission
from crm_shared.jobs import Control, Rejection

__all__ = [
    "BATCH",
    "CounterpartyImport",
    "column_of",
    "counterparty_id_of",
    "event_id",
    "person_column",
    "person_id_of",
]

ViewReady = Callable[[int], Awaitable[None]]
"""Returns once the counterparty view holds the given commit position (persons link to counterparties
the view knows)."""

BATCH = 2000
POOL_MIN_ROWS = 20_000
"""From this many rows on, rows are planned in worker processes (when the machine has 2 cores or more)."""
MAX_WORKERS = 4
POOL_CHUNK = 1000
INLINE_CHUNK = 200
_PERSON_FIELDS = {"first_name", "middle_name", "last_name"}
Outcome = Literal["accepted", "unchanged"]


def person_id_of(counterparty_id: str, person: RawPerson) -> str:
    """The id of a row's contact person: from its counterparty and its normalised name."""
    return str(uuid.uuid5(NAMESPACE, f"person:{counterparty_id}:{person.key}"))


def person_column(field: str | None, person: RawPerson) -> str:
    """The CSV column of a person field named in a DomainError (``links[0].role`` -> ``person_role``)."""
    if not field:
        return ""
    if field in _PERSON_FIELDS:
        return f"person_{field}"
    if field.startswith("links[0]."):
        return "person_" + field.removeprefix("links[0].")
    indexed = INDEXED.match(field)
    if indexed is not None and indexed.group(1) == "contact_info" and int(indexed.group(2)) < len(person.contacts):
        return "person_" + person.contacts[int(indexed.group(2))].kind
    return field


@dataclass(frozen=True, slots=True)
class Planned:
    """A row that passed every check, with the events that register it; a row planned by a worker has
    no ``values`` and ``command`` until they are needed (see ``_Run._complete``)."""

    line: int
    record: Record | list[str]
    """The row (as read: its cells, when a worker planned it)."""
    counterparty_id: str
    events: list[NewEvent]
    reservations: list[tuple[str, NewEvent]]
    values: RowValues | None = None
    command: cp.RegisterCounterparty | None = None


@dataclass(frozen=True, slots=True)
class PlannedPerson:
    """A row's contact person that passed every check; registered once its counterparty is written."""

    line: int
    name: str
    counterparty_id: str
    raw: RawPerson
    command: pe.RegisterPerson


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
        persons: PersonCommands | None = None,
        view_ready: ViewReady | None = None,
        workers: int | None = None,
    ) -> None:
        """``persons`` and ``view_ready`` (waits until the counterparty view holds a commit position) are
        needed for ``person_*`` columns. ``workers``: processes that plan the rows (0: this one; None:
        one for a file of :data:`POOL_MIN_ROWS` rows or more on a machine of 2 cores or more)."""
        self._store = store
        self._commands = commands
        self._rules = rules
        self._reference = reference
        self._batch_size = batch_size
        self._persons = persons
        self._view_ready = view_ready
        self._workers = workers

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
        await self._check_header(csv_file.header, caller)
        run = _Run(self._store, self._commands, self._rules, self._reference, control, csv_file, caller)
        run.batch_size = self._batch_size
        run.persons, run.view_ready = self._persons, self._view_ready
        for catalog, codes in (
            ("contact-kinds", csv_file.header.contact_kinds),
            ("properties", csv_file.header.properties),
        ):
            for code in codes:
                await run.learn((catalog, code))
        workers = self._workers
        if workers is None:
            # One core stays with this process (writing, and the relay and views beside it): on 2 cores
            # one worker, measured faster than two (bench/README.md, P2).
            cores = os.cpu_count() or 1
            workers = min(MAX_WORKERS, cores - 1) if csv_file.rows >= POOL_MIN_ROWS else 0
        if workers <= 0:
            with csv_file.open() as text:
                for rows in _chunks(raw_rows(text, csv_file), INLINE_CHUNK):
                    await run.take_chunk(rows, run.plan_here(rows))
        else:
            # Spawned, not forked: this process has threads (the stores' writers and readers).
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            try:
                await self._planned_by(pool, run, csv_file, ahead=workers + 2)
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
        await run.flush()
        await control.tick(force=True)

    @staticmethod
    async def _planned_by(pool: Executor, run: _Run, csv_file: CsvFile, *, ahead: int) -> None:
        """Read chunks of rows and have ``pool`` plan them, ``ahead`` chunks ahead of the one being taken."""
        loop = asyncio.get_running_loop()
        planning: deque[tuple[list[tuple[int, list[str]]], asyncio.Future[list[RowPlan]]]] = deque()
        with csv_file.open() as text:
            for rows in _chunks(raw_rows(text, csv_file), POOL_CHUNK):
                args = await run.plan_args(rows)
                planning.append((rows, loop.run_in_executor(pool, plan_chunk, *args)))
                if len(planning) > ahead:
                    taken, plans = planning.popleft()
                    await run.take_chunk(taken, await plans)
        while planning:
            taken, plans = planning.popleft()
            await run.take_chunk(taken, await plans)

    async def _check_header(self, header: Header, caller: Caller) -> None:
        if any(c in PERSON_COLUMNS for c in header.columns):
            if self._persons is None or self._view_ready is None:
                raise DomainError("contact persons (person_* columns) cannot be imported here", field="file")
            if not caller.can(Permission.COUNTERPARTY_WRITE):
                raise Forbidden("your roles do not allow changing contact persons")
        for catalog, codes, prefix in (
            ("contact-kinds", header.contact_kinds, CONTACT_PREFIX),
            ("properties", header.properties, PROPERTY_PREFIX),
        ):
            for code in codes:
                if await self._reference.get(catalog, code) is None:
                    raise DomainError(f"column {prefix}{code}: there is no {code!r} in {catalog}", field="file")


def _chunks(rows: Iterator[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    while chunk := list(islice(rows, size)):
        yield chunk


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
        # Users and access groups are checked here, once per value and import (_check_people).
        self._rules = rules.without_directory()
        self._directory = rules.directory
        self._refusals: dict[tuple[str, str], str | None] = {}
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
        self.persons: PersonCommands | None = None
        self.view_ready: ViewReady | None = None
        self._people: list[PlannedPerson] = []
        self._targets: dict[str, str] = {}  # a row's counterparty id -> the one that holds its tax id
        self._failed: dict[str, int] = {}  # counterparty id -> the line whose row failed to write it
        self._with_person: set[int] = set()  # lines of rows with a counterparty and a person, not yet counted
        self._counted: dict[int, Outcome] = {}  # how rows with a person were counted for their counterparty
        self._written = 0  # the position of the last counterparty event written
        self._context = Context(
            digest=csv_file.digest,
            caller=caller,
            metadata=self._metadata,
            default_country=rules.default_country,
            unique_tax_id=self._unique_tax_id,
            today=self._today,
        )
        self._entries: Entries = {}  # reference entries for planning, read from their streams
        self._entries_until = 0.0  # when they are read again (as often as ReferenceData's cache)

    # -- reading and checking ----------------------------------------------------------------------

    async def learn(self, key: EntryKey) -> None:
        """Read a reference entry for planning (through ReferenceData, so from its stream or its cache)."""
        self._entries[key] = await self._reference.get(*key)

    async def _fresh_entries(self) -> Entries:
        if time.monotonic() >= self._entries_until:
            for key in list(self._entries):
                await self.learn(key)
            self._entries_until = time.monotonic() + REFERENCE_TTL
        return dict(self._entries)

    async def plan_args(
        self, rows: list[tuple[int, list[str]]]
    ) -> tuple[Context, tuple[str, ...], Entries, list[tuple[int, list[str]]], datetime]:
        """The arguments of :func:`plan_chunk` for ``rows``."""
        entries = await self._fresh_entries()
        return self._context, self._file.header.columns, entries, rows, self._commands.now()

    def plan_here(self, rows: list[tuple[int, list[str]]]) -> Awaitable[list[RowPlan]]:
        """Plan ``rows`` in this process."""

        async def plan() -> list[RowPlan]:
            return plan_chunk(*await self.plan_args(rows))

        return plan()

    async def take_chunk(
        self, rows: list[tuple[int, list[str]]], plans: Awaitable[list[RowPlan]] | list[RowPlan]
    ) -> None:
        """Take planned rows in file order: check each against the rows before it, then batch it."""
        planned_rows = plans if isinstance(plans, list) else await plans
        columns = self._file.header.columns
        for (line, cells), plan in zip(rows, planned_rows, strict=True):
            if plan.stores:
                if plan.missing is not None and plan.missing not in self._entries:
                    await self.learn(plan.missing)
                await self.take(record_of(line, cells, columns))
                continue
            try:
                planned = self._accepted(plan, cells)
                try:
                    await self._check_people(planned)
                except CellRejected:
                    del self._seen[planned.counterparty_id]  # the row is not taken: a later one may be
                    raise
            except CellRejected as exc:
                self._control.reject(Rejection(line, exc.column, exc.reason, plan.name))
            else:
                self._batch.append(planned)
                self._pending.add(planned.counterparty_id)
            await self._counted_row()

    def _accepted(self, plan: RowPlan, cells: list[str]) -> Planned:
        """A row a worker planned, checked against the rows before it."""
        if plan.cid is None:
            assert plan.error is not None
            raise CellRejected(*plan.error)
        earlier = self._seen.get(plan.cid)
        if earlier is not None:
            raise CellRejected(plan.same, f"the same counterparty as line {earlier}")
        if plan.error is not None:
            raise CellRejected(*plan.error)
        assert plan.events is not None
        self._seen[plan.cid] = plan.line
        reservations = [(stream, decoded(event)) for stream, event in plan.reservations]
        return Planned(plan.line, cells, plan.cid, [decoded(e) for e in plan.events], reservations)

    async def _counted_row(self) -> None:
        progress = self._control.progress
        progress.done += 1
        if len(self._batch) >= self.batch_size:
            await self.flush()
        elif progress.done % 200 == 0:
            await asyncio.sleep(0)  # let requests in between rows

    async def take(self, record: Record) -> None:
        """Check one row here and add it to the batch (or to the report)."""
        try:
            planned, person = await self._plan(record)
        except CellRejected as exc:
            self._control.reject(Rejection(record.line, exc.column, exc.reason, record.cells.get("name", "")))
        else:
            if planned is not None:
                self._batch.append(planned)
                self._pending.add(planned.counterparty_id)
            if person is not None:
                self._people.append(person)
                if planned is not None:
                    self._with_person.add(record.line)
        await self._counted_row()

    async def _plan(self, record: Record) -> tuple[Planned | None, PlannedPerson | None]:
        """The row's counterparty (None when an earlier row has it) and its person."""
        values = parse_row(record)
        cid = counterparty_id_of(values)
        earlier = self._seen.get(cid)
        if earlier is not None:
            if values.person is None:
                column = "id" if values.id else "tax_id" if values.tax_id else "name"
                raise CellRejected(column, f"the same counterparty as line {earlier}")
            return None, await self._plan_person(record.line, values, cid)
        person = None if values.person is None else await self._plan_person(record.line, values, cid)
        group = values.access_group or cp.DEFAULT_ACCESS_GROUP
        if not self._caller.sees_group(group):
            raise CellRejected("access_group", f"you have no access to the access group {group!r}")
        if values.head_counterparty_id in self._pending:
            await self.flush()  # the head is in this batch: write it first, so the check finds it
        try:
            command, events, reservations = await self._registration(values, cid, record.line)
        except DomainError as exc:
            raise CellRejected(column_of(exc.field, values), str(exc)) from exc
        planned = Planned(record.line, record, cid, events, reservations, values, command)
        await self._check_people(planned)
        self._seen[cid] = record.line
        return planned, person

    async def _check_people(self, planned: Planned) -> None:
        """The row's main manager and managers must be active users of the directory, its access group
        an active group (the importer's own id is always taken). Each value is asked once per import:
        the first ask waits for the local copy as every check does, the rows after it do not."""
        if self._directory is None:
            return
        data = planned.events[0].data
        wanted = [("main_manager", "user", str(data["main_manager"]))]
        wanted += [("managers", "user", str(m)) for m in data.get("managers") or ()]
        wanted.append(("access_group", "group", str(data["access_group"])))
        for column, kind, value in wanted:
            if kind == "user" and value == self._caller.user_id:
                continue
            key = (kind, value)
            if key not in self._refusals:
                directory = self._directory
                ask = directory.refusal_of_user(value) if kind == "user" else directory.refusal_of_group(value)
                self._refusals[key] = await ask
            refusal = self._refusals[key]
            if refusal is not None:
                raise CellRejected(column, refusal)

    async def _registration(self, values: RowValues, cid: str, line: int) -> Registration:
        return await registration(
            values,
            cid,
            line,
            rules=self._rules,
            reference=self._reference,
            context=self._context,
            now=self._commands.now(),
        )

    def _record(self, planned: Planned) -> Record:
        if isinstance(planned.record, Record):
            return planned.record
        return record_of(planned.line, planned.record, self._file.header.columns)

    async def _complete(self, planned: Planned) -> Planned:
        """A row planned by a worker with its values and command (to compare it with its counterparty)."""
        if planned.values is not None and planned.command is not None:
            return planned
        values = parse_row(self._record(planned))
        planned = replace(planned, values=values)
        command, _, _ = await self._registration(values, planned.counterparty_id, planned.line)
        return replace(planned, command=command)

    async def _plan_person(self, line: int, values: RowValues, cid: str) -> PlannedPerson:
        """The row's person, checked as the persons API checks a registration (but its link)."""
        raw = values.person
        assert raw is not None and self.persons is not None
        try:
            entries = await self.persons.contact_entries(raw.contacts) if raw.contacts else ()
            if raw.role:
                await self._reference.require("person-roles", raw.role, field="links[0].role")
            command = pe.RegisterPerson(
                person_id=person_id_of(cid, raw),
                owner=self._caller.user_id,
                now=self._commands.now(),
                first_name=raw.first_name,
                middle_name=raw.middle_name,
                last_name=raw.last_name,
                contact_info=entries,
                links=(pe.Link(cid, raw.position, raw.role),),
            )
            pe.decide(command, None)
        except DomainError as exc:
            raise CellRejected(person_column(exc.field, raw), str(exc)) from exc
        return PlannedPerson(line, values.name, cid, raw, command)

    # -- writing -----------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write the batch, then save the progress (and stop here if the job was cancelled)."""
        batch, self._batch = self._batch, []
        self._pending.clear()
        if batch:
            await self._write(batch, retry=True)
        await self._register_persons()
        await self._control.tick()

    def _count(self, line: int, outcome: Outcome, *, person: bool = False) -> None:
        """Count a row's outcome; a row with a person counts once: accepted if either part was."""
        progress = self._control.progress
        earlier = self._counted.pop(line, None) if person else None
        if person and earlier is not None:
            if earlier == "unchanged" and outcome == "accepted":
                progress.unchanged -= 1
                progress.accepted += 1
            return
        if not person and line in self._with_person:
            self._with_person.discard(line)
            self._counted[line] = outcome
        if outcome == "accepted":
            progress.accepted += 1
        else:
            progress.unchanged += 1

    async def _register_persons(self) -> None:
        """Register the persons of the rows read so far whose counterparties are written."""
        people, self._people = self._people, []
        if not people:
            return
        assert self.persons is not None and self.view_ready is not None
        await self.view_ready(self._written)
        for planned in people:
            if planned.counterparty_id in self._failed:
                first = self._failed[planned.counterparty_id]
                if first != planned.line:
                    reason = f"its counterparty (line {first}) was not imported"
                    self._control.reject(Rejection(planned.line, "", reason, planned.name))
                continue
            try:
                outcome = await self._register(planned, self.persons)
            except DomainError as exc:
                earlier = self._counted.pop(planned.line, None)
                if earlier is not None:  # the row's counterparty was written; the row counts as rejected
                    setattr(self._control.progress, earlier, getattr(self._control.progress, earlier) - 1)
                column = person_column(exc.field, planned.raw)
                self._control.reject(Rejection(planned.line, column, str(exc), planned.name))
                continue
            self._count(planned.line, outcome, person=True)

    async def _register(self, planned: PlannedPerson, persons: PersonCommands) -> Outcome:
        target = self._targets.get(planned.counterparty_id, planned.counterparty_id)
        pid = person_id_of(target, planned.raw)
        events = (await persons.load_person(pid)).events
        if events:
            return "unchanged"
        link = replace(planned.command.links[0], counterparty_id=target)
        command = replace(planned.command, person_id=pid, links=(link,))
        await persons.handle(command, self._caller, idempotency_key=f"import:{pid}", metadata=self._metadata)
        return "accepted"

    async def _write(self, batch: list[Planned], *, retry: bool) -> None:
        head = await self._store.head_position()
        items: list[StreamAppend] = []
        ends: list[int] = []  # where each row's own stream is in the batch (after its reservations)
        for planned in batch:
            for stream, event in planned.reservations:
                items.append((stream, [event], NO_STREAM))
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
            self._written = max(self._written, results[index].position)
            if results[index].position > head:
                self._count(planned.line, "accepted")
            else:
                await self._settle(planned, head)

    async def _classify(self, batch: list[Planned]) -> tuple[list[Planned], list[Planned]]:
        """Split a batch that met existing streams into rows whose streams are all new, and the others."""

        async def is_new(planned: Planned) -> bool:
            streams = [cp.stream_of(planned.counterparty_id)]
            streams.extend(stream for stream, _ in planned.reservations)
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
        values = planned.values if planned.values is not None else parse_row(self._record(planned))
        try:
            planned = await self._complete(replace(planned, values=values))
            outcome = await self._upsert(planned, head)
        except (DomainError, CellRejected) as exc:
            if isinstance(exc, CellRejected):
                column, reason = exc.column, exc.reason
            else:
                column, reason = column_of(exc.field, values), str(exc)
            self._control.reject(Rejection(planned.line, column, reason, values.name))
            self._failed[planned.counterparty_id] = planned.line
            self._with_person.discard(planned.line)
            return
        except WrongExpectedVersion:
            reason = "the counterparty changed while it was imported; import the file again"
            self._control.reject(Rejection(planned.line, "", reason, values.name))
            self._failed[planned.counterparty_id] = planned.line
            self._with_person.discard(planned.line)
            return
        self._count(planned.line, outcome)

    async def _upsert(self, planned: Planned, head: int) -> Outcome:
        values, caller, command = planned.values, self._caller, planned.command
        assert values is not None and command is not None
        target = planned.counterparty_id
        loaded = await self._commands.load(cp.stream_of(target))
        state, events = loaded.state, loaded.events
        if values.id is None and values.tax_id and self._unique_tax_id and not _has_tax_id(state, values.tax_id):
            holder = await self._holder(values.tax_id)
            if holder is not None and holder != target:
                target = holder
                loaded = await self._commands.load(cp.stream_of(target))
                state, events = loaded.state, loaded.events
        self._targets[planned.counterparty_id] = target
        metadata = self._metadata
        if state is None:
            key = f"import:{values.digest}:{target}"
            registering = replace(command, counterparty_id=target)
            result = await self._commands.handle(registering, caller, idempotency_key=key, metadata=metadata)
            self._written = max(self._written, result.position)
            return "accepted"
        self._written = max(self._written, events[-1].position)  # its persons wait until the view has it
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
            self._written = max(self._written, result.position)
        if source is not None:
            key = f"import:{values.digest}:{version}"
            result = await self._commands.handle(
                cp.RecordSource(target, source.source, source.on), caller, idempotency_key=key, metadata=metadata
            )
            self._written = max(self._written, result.position)
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
        values, command = planned.values, planned.command
        assert values is not None and command is not None
        given = values.given
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
        if ERP_COLUMN in given or CODES_COLUMN in given:
            codes = _merged_codes(
                state.external_codes, command.external_codes, ERP_COLUMN in given, CODES_COLUMN in given
            )
            if set(codes) != set(state.external_codes):
                changes["external_codes"] = codes
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


def _merged_codes(
    current: tuple[cp.ExternalCode, ...], given: tuple[cp.ExternalCode, ...], erp: bool, others: bool
) -> tuple[cp.ExternalCode, ...]:
    """The file's codes for the columns it has (``erp_code``: the ERP's, ``external_codes``: the other
    systems'), and the current codes of the others; the current ones that stay keep their place."""

    def from_file(code: cp.ExternalCode) -> bool:
        return erp if code.system == cp.DEFAULT_EXTERNAL_SYSTEM else others

    kept = [c for c in current if not from_file(c) or c in given]
    return tuple(dict.fromkeys([*kept, *given]))


def _entry_set(entries: tuple[ContactEntry, ...]) -> set[tuple[str, str, bool, str]]:
    return {(e.kind, e.key, e.main, e.comment) for e in with_main_rule(list(entries))}
