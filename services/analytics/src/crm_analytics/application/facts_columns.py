"""Trade facts from a CSV file read by column: the CSV import's fast way (issue 14, P6).

A well-formed file (every row has as many values as the header names columns) is parsed by
``pyarrow.csv`` into text columns and checked a column at a time with the same patterns as
:func:`~crm_analytics.domain.trade_fact.fact_of_cells` (RE2 and Python's ``re`` read them alike), so
no Python object is made per value and the facts go to the store as one typed Arrow table per batch.
A row that fails any check, or that a check by column cannot judge exactly (a value ending in a
non-ASCII space, which ``str.strip`` would trim), is judged by ``fact_of_cells`` itself: the reason
and column of a rejection are always the row rules' own. A file with a row of another width goes the
row-by-row way (``facts_import._Reader``), whose reading of such rows this one does not repeat.

Line numbers are physical lines, as the row-by-row way counts them: the header is line 1, an empty
line is a row of empty values (skipped, but counted), and a quoted value holding line breaks moves
the rows after it down by as many lines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from crm_analytics.domain import trade_fact as rules
from crm_analytics.domain.trade_fact import FactRejected, TradeFact
from crm_analytics.projections.tables import FACT_SCHEMA, FACT_TYPES, table_of
from crm_shared.jobs import Rejection

ASCII_SPACE = " \t\n\r\x0b\x0c"
"""Trimmed a column at a time; every other character ``str.strip`` trims is in :data:`OTHER_SPACE`."""
OTHER_SPACE = (
    "\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_OTHER_SPACE_CLASS = "".join(f"\\x{{{ord(c):x}}}" for c in OTHER_SPACE)
_CODE = rules.CODE_PATTERN.replace("\\x20\\x7F-\\x9F]", f"\\x20\\x7F-\\x9F{_OTHER_SPACE_CLASS}]")
"""``rules.CODE_PATTERN``, and no space of any kind at either end (such a value goes to the row rules)."""


def _matches(values: pa.Array, pattern: str) -> pa.Array:
    return pc.match_substring_regex(values, pattern)


def _code(values: pa.Array, limit: int, *, required: bool) -> pa.Array:
    """Where a value is a good id or code (``rules.code``), as ``str.strip`` would leave it. A column of
    printable ASCII only (trimmed: no space at either end) needs no pattern, just a length."""
    short = pc.less_equal(pc.utf8_length(values), limit)
    if pc.all(pc.ascii_is_printable(values)).as_py():
        good = pc.and_(short, pc.not_equal(values, ""))
    else:
        good = pc.and_(short, _matches(values, _CODE))
    return good if required else pc.or_(pc.equal(values, ""), good)


def _optional(values: pa.Array, pattern: str) -> pa.Array:
    return pc.or_(pc.equal(values, ""), _matches(values, pattern))


def _days(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The dates of ``values`` and where they are good (``rules.fact_date``): the pattern, a real day
    (written back the same: ``2026-02-30`` is not), within the range."""
    days = pc.cast(pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32())
    good = pc.and_(
        pc.and_(_matches(values, rules.DATE_PATTERN), pc.equal(days.cast(pa.string()), values)),
        pc.and_(pc.greater_equal(days, pa.scalar(rules.EARLIEST)), pc.less_equal(days, pa.scalar(rules.LATEST))),
    )
    return days, pc.fill_null(good, False)


def _or_default(values: pa.Array, default: pa.Array | str) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), default, values)


@dataclass
class Checked:
    """A batch's facts (typed, in file order) and its rejected rows."""

    facts: pa.Table
    rejected: list[Rejection]
    rows: int
    """Rows read, blank ones not counted (as the row-by-row way)."""


def check(cells: pa.Table, lines: pa.Array, default_currency: str) -> Checked:
    """The trade facts of ``cells`` (text columns named as the file's header, ``lines`` the line of
    each row), checked by column; see the module notes."""
    count = cells.num_rows
    empty = pa.array([""] * count, pa.string())
    text = {c: pc.ascii_trim(cells[c].combine_chunks(), ASCII_SPACE) for c in cells.column_names}
    value = {c: text.get(c, empty) for c in rules.COLUMNS}
    filled = [pc.not_equal(value[c], "") for c in cells.column_names]
    non_blank = filled[0]
    for column in filled[1:]:
        non_blank = pc.or_(non_blank, column)
    days, good_day = _days(value["date"])
    checks = [
        _code(value["id"], rules.MAX_ID, required=True),
        _code(value["customer"], rules.MAX_CODE, required=True),
        *(_code(value[c], rules.MAX_NAME, required=False) for c in ("item", "division", "manager")),
        pc.is_in(value["kind"], pa.array(["", *rules.KINDS])),
        good_day,
        _matches(value["quantity"], rules.QUANTITY_PATTERN),
        _matches(value["revenue"], rules.MONEY_PATTERN),
        *(_optional(value[c], rules.MONEY_PATTERN) for c in ("revenue_without_vat", "cost", "discount")),
        _optional(value["currency"], rules.CURRENCY_PATTERN),
    ]
    good = checks[0]
    for passed in checks[1:]:
        good = pc.and_(good, passed)
    good = pc.and_(good, non_blank)
    facts = pa.table(
        {
            "id": value["id"],
            "kind": _or_default(value["kind"], "sale"),
            "date": days,
            "customer": value["customer"],
            "item": value["item"],
            "division": value["division"],
            "manager": value["manager"],
            "quantity": value["quantity"],
            "revenue": value["revenue"],
            "revenue_without_vat": _or_default(value["revenue_without_vat"], value["revenue"]),
            "cost": _or_default(value["cost"], "0"),
            "discount": _or_default(value["discount"], "0"),
            "currency": _or_default(value["currency"], default_currency),
            "line": lines,
        }
    ).filter(good)
    typed = pa.table(
        {c: facts[c] if FACT_TYPES[c] == pa.string() else facts[c].cast(FACT_TYPES[c]) for c in FACT_SCHEMA.names}
        | {"line": facts["line"]}
    )
    rejected: list[Rejection] = []
    judged: list[tuple[int, TradeFact]] = []
    doubtful = pc.and_(pc.invert(good), non_blank)
    blank = 0
    if pc.any(doubtful).as_py():
        raw = cells.filter(doubtful).to_pylist()
        for row, line in zip(raw, lines.filter(doubtful).to_pylist(), strict=True):
            stripped = {c: v.strip() for c, v in row.items()}
            if not any(stripped.values()):
                blank += 1
                continue
            try:
                judged.append((line, rules.fact_of_cells(stripped, default_currency)))
            except FactRejected as exc:
                rejected.append(Rejection(line, exc.column, exc.reason, stripped.get("id", "")))
    if judged:
        typed = _merged(typed, judged)
    rows = (pc.sum(non_blank.cast(pa.int64())).as_py() or 0) - blank
    return Checked(typed.drop_columns(["line"]), rejected, rows)


def _merged(typed: pa.Table, judged: Sequence[tuple[int, TradeFact]]) -> pa.Table:
    """``typed`` with the facts the row rules took though a check by column did not, in line order."""
    lines = pa.array([line for line, _ in judged], typed.schema.field("line").type)
    extra = table_of([fact for _, fact in judged]).append_column("line", lines)
    both = pa.concat_tables([typed, extra])
    return both.take(pc.sort_indices(both["line"]))


class Columns:
    """A CSV file of trade facts read a batch at a time by column (blocking: run in a worker thread).

    :meth:`regular` says whether the file suits this way; :meth:`batches` yields its facts, and may run
    while :meth:`regular` does (a batch checked before it ends counts its rows' line breaks)."""

    def __init__(
        self,
        path: Path,
        delimiter: str,
        columns: Sequence[str],
        default_currency: str,
        *,
        lines: int | None = None,
        block_size: int = 1 << 20,
    ) -> None:
        """``lines``: the file's physical lines, when known; if the file has one more than it has rows
        (the header), no value holds a line break and the rows' lines need no counting."""
        self._path = path
        self._block_size = block_size
        self._delimiter = delimiter
        self._columns = list(columns)
        self._default_currency = default_currency
        self._lines = lines
        self._breaks = True

    def _open(self, *, only_first: bool, irregular: list[int] | None = None) -> pcsv.CSVStreamingReader:
        def count(_row: object) -> str:
            if irregular is not None:
                irregular.append(1)
            return "skip"

        return pcsv.open_csv(
            self._path,
            read_options=pcsv.ReadOptions(column_names=self._columns, skip_rows=1, block_size=self._block_size),
            parse_options=pcsv.ParseOptions(
                delimiter=self._delimiter, newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=count
            ),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(self._columns, pa.string()),
                include_columns=self._columns[:1] if only_first else self._columns,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    def regular(self) -> bool:
        """Whether every row has as many values as the header has columns (an empty line counts as one
        of empty values)."""
        irregular: list[int] = []
        rows = 0
        try:
            for batch in self._open(only_first=True, irregular=irregular):
                if irregular:
                    return False
                rows += batch.num_rows
        except pa.ArrowInvalid:
            return False
        self._breaks = self._lines != rows + 1
        return not irregular

    def batches(self, size: int) -> Iterator[Checked]:
        """The file's facts, about ``size`` rows a batch."""
        line = 2
        pending: list[pa.RecordBatch] = []
        held = 0
        for batch in self._open(only_first=False):
            pending.append(batch)
            held += batch.num_rows
            if held >= size:
                checked, line = self._check(pending, line)
                yield checked
                pending, held = [], 0
        if held:
            yield self._check(pending, line)[0]

    def _check(self, batches: list[pa.RecordBatch], line: int) -> tuple[Checked, int]:
        cells = pa.Table.from_batches(batches)
        if not self._breaks:
            lines = pa.array(range(line, line + cells.num_rows), pa.int64())
            return check(cells, lines, self._default_currency), line + cells.num_rows
        breaks = pc.count_substring(cells.columns[0].combine_chunks(), "\n")
        for column in cells.columns[1:]:
            breaks = pc.add(breaks, pc.count_substring(column.combine_chunks(), "\n"))
        # Row i starts at line + i + the line breaks inside the values of the rows before it.
        after = pc.cumulative_sum(pc.add(breaks.cast(pa.int64()), 1))
        lines = pc.add(pc.subtract(after, pc.add(breaks.cast(pa.int64()), 1)), line)
        end = line + (after[-1].as_py() if len(after) else 0)
        return check(cells, lines, self._default_currency), end
