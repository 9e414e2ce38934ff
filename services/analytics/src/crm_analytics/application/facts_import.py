"""Import of the ERP's records (trade facts, orders, payments: a :class:`~crm_analytics.domain.records.
RecordKind`) from a CSV file, as a kernel job (progress, report of rejected rows, cancel).

The file is UTF-8 (a byte-order mark is skipped); its first line names the columns, separated by
``,``, ``;`` or a tab (the one under which the header names the most known columns). The columns are
the kind's (for trade facts ``id,date,customer,quantity,revenue`` required and ``kind,item,division,
manager,revenue_without_vat,cost,currency,discount`` optional, defaults in :func:`~crm_analytics.domain.
trade_fact.fact_of_cells`; for orders and payments see their domain modules), in any order and
case. An unknown, repeated or missing required column rejects the file before anything is written.
Each row is checked in full; a wrong one goes to the report with its line, column and reason, and the
good rows are written in batches. A file of trade facts whose rows all have the header's width is read
and checked by column (``facts_columns``: the same rules, the same report, no object per value), and
read ahead while the store writes the batch before; any other file is read row by row. A blank row (no
value, or separators only) is skipped. Importing a file again, or a corrected one, replaces the records
with the same ids: nothing counts twice.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from crm_analytics.application.facts import require_writer
from crm_analytics.application.facts_columns import Columns
from crm_analytics.domain.records import TRADE_FACTS, RecordKind
from crm_analytics.domain.trade_fact import FactRejected
from crm_analytics.projections.tables import write_fact_table, write_records
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import DomainError
from crm_shared.identity import Caller
from crm_shared.jobs import Control, Rejection

BATCH = 50_000
"""Rows read and written at a time (a well-formed file of trade facts is read by column in blocks of
1 MB, ~10,000 rows, until a batch holds as many). A write of trade facts pays a fixed cost per insert (a
part in each table it feeds, the pipelines of its materialized views, the take-back's lookup: ADR 21),
~50 ms of CPU in chDB: 200,000 facts written as Arrow cost 3.2 s of CPU in inserts of 5,000, 1.1 s in
20,000 and 0.6-0.7 s in 50,000 or more (P6, issue 14)."""
DELIMITERS = (",", ";", "\t")
_CHUNK = 1 << 20


def _check_utf8(path: Path) -> int:
    """The number of lines, or :class:`DomainError` naming ``file`` when the file is not UTF-8 text."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = lines = 0
    last = b"\n"
    with path.open("rb") as raw:
        try:
            while chunk := raw.read(_CHUNK):
                if b"\x00" in chunk:
                    raise DomainError("the file contains NUL bytes: it is not a CSV text file", field="file")
                decoder.decode(chunk)
                offset += len(chunk)
                lines += chunk.count(b"\n")
                last = chunk[-1:]
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise DomainError(f"the file is not UTF-8 (byte {offset + exc.start})", field="file") from None
    return lines + (last != b"\n")


def _header(first_line: str, kind: RecordKind[Any]) -> tuple[str, list[str]]:
    known = kind.csv_columns

    def names(delimiter: str) -> list[str]:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        return [cell.strip().lstrip("\ufeff").lower() for cell in cells]

    delimiter = max(DELIMITERS, key=lambda d: (sum(1 for n in names(d) if n in known), len(names(d))))
    columns = names(delimiter)
    unknown = [n for n in columns if n not in known]
    if unknown:
        raise DomainError(
            f"unknown column(s): {', '.join(map(repr, unknown))}; the columns are {', '.join(known)}", field="file"
        )
    repeated = sorted({n for n in columns if columns.count(n) > 1})
    if repeated:
        raise DomainError(f"repeated column(s): {', '.join(repeated)}", field="file")
    missing = [n for n in kind.required_columns if n not in columns]
    if missing:
        raise DomainError(f"required column(s) missing: {', '.join(missing)}", field="file")
    return delimiter, columns


@dataclass
class _Batch:
    records: list[Any]
    rejected: list[Rejection]
    rows: int


class _Reader:
    """Reads rows a batch at a time (blocking: called in a worker thread)."""

    def __init__(self, text: IO[str], kind: RecordKind[Any], default_currency: str, batch_size: int) -> None:
        first = text.readline()
        if not first.strip():
            raise DomainError("the file is empty: the first line must name the columns", field="file")
        self._kind = kind
        self.delimiter, self.columns = _header(first, kind)
        text.seek(0)
        self._reader = csv.reader(text, delimiter=self.delimiter)
        next(self._reader)
        self._default_currency = default_currency
        self._batch_size = batch_size
        self._rows: Iterator[list[str]] = iter(self._reader)

    def batch(self) -> _Batch | None:
        found = _Batch([], [], 0)
        end = self._reader.line_num
        try:
            for values in self._rows:
                line, end = end + 1, self._reader.line_num
                if not any(value.strip() for value in values):  # a blank row, or one of separators only
                    continue
                found.rows += 1
                if len(values) > len(self.columns):
                    found.rejected.append(
                        Rejection(line, "", f"{len(values)} values, but the header has {len(self.columns)} columns")
                    )
                else:
                    cells = {c: v.strip() for c, v in zip(self.columns, values, strict=False)}
                    try:
                        found.records.append(self._kind.of_cells(cells, self._default_currency))
                    except FactRejected as exc:
                        found.rejected.append(Rejection(line, exc.column, exc.reason, cells.get("id", "")))
                if found.rows >= self._batch_size:
                    break
        except csv.Error as exc:
            raise DomainError(f"line {self._reader.line_num}: {exc}", field="file") from exc
        return found if found.rows else None


class RecordImport:
    """Imports one CSV file of one kind of record for one caller, reporting through the job's :class:`Control`."""

    def __init__(self, store: AnalyticsStore, default_currency: str, *, batch_size: int = BATCH) -> None:
        self._store = store
        self._default_currency = default_currency
        self._batch_size = batch_size

    async def run(self, control: Control, path: Path, caller: Caller, kind: RecordKind[Any] = TRADE_FACTS) -> None:
        """Import the file of ``kind`` at ``path``; a file that cannot be read fails the job naming why."""
        require_writer(caller, kind)
        lines = await asyncio.to_thread(_check_utf8, path)
        control.progress.total = max(lines - 1, 0)
        await control.tick(force=True)
        with path.open(encoding="utf-8-sig", newline="") as text:
            reader = await asyncio.to_thread(_Reader, text, kind, self._default_currency, self._batch_size)
            control.job.params.update(delimiter=reader.delimiter, columns=reader.columns)
            if not (kind is TRADE_FACTS and await self._by_column(control, path, reader, lines)):
                while (batch := await asyncio.to_thread(reader.batch)) is not None:
                    await write_records(self._store, kind, batch.records)
                    await self._done(control, batch.rows, len(batch.records), batch.rejected)
        # Lines counted at first are physical lines; rows may span lines in quotes.
        control.progress.total = control.progress.done
        await control.tick(force=True)

    async def _by_column(self, control: Control, path: Path, reader: _Reader, lines: int) -> bool:
        """Trade facts of a well-formed file, read and written by column (``facts_columns``); False, with
        nothing written, when the file does not suit that way."""
        columns = Columns(path, reader.delimiter, reader.columns, self._default_currency, lines=lines)
        batches = columns.batches(self._batch_size)
        # In worker threads: the first batch is read while the file is checked to suit this way, then the
        # next batch is read and checked while the store writes this one.
        following = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
        try:
            if not await asyncio.to_thread(columns.regular):
                return False
            while (checked := await following) is not None:
                following = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
                await write_fact_table(self._store, checked.facts)
                await self._done(control, checked.rows, checked.facts.num_rows, checked.rejected)
            return True
        finally:
            if not following.cancel() and not following.cancelled():
                following.exception()  # a read that failed after the file was found unsuited: dropped unlogged

    @staticmethod
    async def _done(control: Control, rows: int, accepted: int, rejected: Sequence[Rejection]) -> None:
        for rejection in rejected:
            control.reject(rejection)
        control.progress.done += rows
        control.progress.accepted += accepted
        await control.tick()
