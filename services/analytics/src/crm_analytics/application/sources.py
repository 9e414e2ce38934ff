"""The report "Analysis of interactions and information sources" (1C): sales and incoming interactions
by the information source valid when they happened.

Rows: information source → counterparty (→ item or division, optional). The rules:

- **Facts**: every sale and return dated in the period, as the CRM knew them at ``as_of`` (the
  latest version of each fact received by then). Its counterparty is the one carrying its customer
  code (``customer_links`` as of then); a fact no counterparty carries is an **unlinked** row of its
  own (its customer code, no counterparty) under "no source".
- **Source of a fact**: the counterparty's latest source record (``source_records``) dated on or
  before the fact's date, while it is in force: fewer days since its date than the source's
  ``actuality_days`` (0 = no limit; the ``sources`` catalog as of ``as_of``); else **no source**
  (code ``""``).
- **Measures** (in the reporting currency, each fact converted at its date's rate): revenue,
  revenue without VAT, profit (revenue without VAT − cost), quantity — a return subtracts what a
  sale adds; **sales** = the number of sale facts (a return is not a sale and does not lower it).
  A fact without a rate is left out of every measure and reported in ``without_rate``.
- **Incoming interactions**: interactions (as of ``as_of``) with direction ``incoming``, not
  cancelled, whose start falls in the period in the organisation's time zone; counted for their
  counterparty, under the source the interaction names when it names one, else the counterparty's
  source on the day it started (the facts' rule). Details (item, division) carry facts only.
- **Percentages**: each measure of a source row in percent of the total of all rows in scope, of a
  counterparty row of its source row, of a detail row of its counterparty row (2 decimals); null
  when the parent's value is not positive.
- **Access**: ``application.scope``: the whole for analytics readers, a sales manager the
  counterparties of their access groups (unlinked customers are outside it); totals are of the rows
  in scope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from crm_analytics.application.abc import WithoutRate
from crm_analytics.application.reading import known_version
from crm_analytics.application.scope import SCOPE_SQL, scope_of
from crm_analytics.projections.tables import query
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import DomainError
from crm_shared.identity import Caller

Detail = Literal["item", "division"]
Sort = Literal["revenue", "revenue_without_vat", "profit", "sales", "quantity", "incoming"]
Bucket = Literal["month", "quarter"]
MEASURES: tuple[Sort, ...] = ("revenue", "revenue_without_vat", "profit", "sales", "quantity", "incoming")
PERCENT = Decimal("0.01")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2262, 1, 1, tzinfo=UTC)
"""as_of is before it: its nanoseconds since the epoch fit a fact version (UInt64) and DateTime64(6)."""

_BASE = query("sources")
_SCOPED = f"SELECT * FROM ({_BASE}) WHERE {SCOPE_SQL} AND (NOT {{one:Bool}} OR source = {{source:String}})"
_SUMS = (
    "sum(revenue) AS revenue, sum(revenue_without_vat) AS revenue_without_vat, sum(profit) AS profit, "
    "sum(sale) AS sales, sum(quantity) AS quantity, sum(interaction) AS incoming"
)
_TOTAL = f"SELECT {_SUMS}, uniqExact(source) AS sources FROM ({_SCOPED}) WHERE NOT missing"
_SOURCES = (
    "SELECT * FROM (SELECT source, {sums}, uniqExact(counterparty_id, customer) AS counterparties, "
    "row_number() OVER (ORDER BY {sort} DESC, source ASC) AS place "
    "FROM ({scoped}) WHERE NOT missing GROUP BY source) "
    "WHERE place > {{after:UInt64}} ORDER BY place LIMIT {{limit:UInt32}}"
)
_COUNTERPARTIES = (
    "SELECT * FROM (SELECT source, counterparty_id, customer, {sums}, "
    "row_number() OVER (PARTITION BY source ORDER BY {sort} DESC, counterparty_id ASC, customer ASC) AS place "
    "FROM ({scoped}) WHERE NOT missing AND source IN {{sources:Array(String)}} "
    "GROUP BY source, counterparty_id, customer) "
    "WHERE place > {{counterparties_after:UInt64}} "
    "AND place <= {{counterparties_after:UInt64}} + {{counterparties:UInt32}} "
    "ORDER BY source, place"
)
_DETAILS = (
    "SELECT source, counterparty_id, customer, detail, {sums} "
    "FROM ({scoped}) WHERE NOT missing AND NOT interaction AND source IN {{sources:Array(String)}} "
    "AND concat(source, '\\n', counterparty_id, '\\n', customer) IN {{keys:Array(String)}} "
    "GROUP BY source, counterparty_id, customer, detail ORDER BY {sort} DESC, detail ASC"
)
_WITHOUT_RATE = (
    f"SELECT currency, count() AS facts, min(date) AS earliest FROM ({_SCOPED}) WHERE missing "
    "GROUP BY currency ORDER BY currency"
)
_HISTORY = (
    "SELECT source, {bucket}(date) AS bucket, sum(revenue) AS revenue FROM ({scoped}) "
    "WHERE NOT missing AND NOT interaction GROUP BY source, bucket ORDER BY bucket, source"
)
_NAMES = (
    "SELECT code, name FROM reference_entries(as_of = {as_of:DateTime64(6, 'UTC')}) "
    "WHERE catalog = 'sources' AND code IN {codes:Array(String)}"
)
_BUCKETS: dict[Bucket, str] = {"month": "toStartOfMonth", "quarter": "toStartOfQuarter"}


@dataclass(frozen=True, slots=True)
class SourcesQuery:
    """What to report: the period, the optional detail level, one source only (``source`` set; ``""``:
    the rows without a source), the moment whose knowledge counts and the order of rows."""

    start: date
    end: date
    by: Detail | None = None
    source: str | None = None
    as_of: datetime = field(default_factory=lambda: datetime.now(UTC))
    sort: Sort = "revenue"

    def __post_init__(self) -> None:
        if self.sort not in MEASURES:  # written into the SQL as a column name: only a measure's
            raise ValueError(f"unknown sort {self.sort!r}")
        if self.end < self.start:
            raise DomainError("the period must not end before it starts", field="to")
        if not EPOCH <= self.as_of < LATEST:
            raise DomainError("as_of must be from 1970 to 2261", field="as_of")

    def parameters(self) -> dict[str, Any]:
        """The SQL parameters of ``sources.sql`` and the source filter."""
        return {
            "from": self.start,
            "to": self.end,
            "by": self.by or "",
            "as_of": self.as_of,
            "known": known_version(self.as_of),
            "one": self.source is not None,
            "source": self.source or "",
        }


@dataclass(frozen=True, slots=True)
class Measures:
    """The measures of a row; amounts in the reporting currency, exact."""

    revenue: Decimal
    revenue_without_vat: Decimal
    profit: Decimal
    sales: int
    quantity: Decimal
    incoming: int | None
    """Incoming interactions (None on a detail row: interactions have no item or division)."""

    @classmethod
    def of(cls, found: dict[str, Any], *, incoming: bool = True) -> Measures:
        return cls(
            revenue=Decimal(str(found["revenue"])),
            revenue_without_vat=Decimal(str(found["revenue_without_vat"])),
            profit=Decimal(str(found["profit"])),
            sales=int(found["sales"]),
            quantity=Decimal(str(found["quantity"])),
            incoming=int(found["incoming"]) if incoming else None,
        )

    def shares(self, parent: Measures) -> dict[str, Decimal | None]:
        """Each measure in percent of ``parent``'s (2 decimals; None when the parent's is not positive)."""
        return {name: percent(getattr(self, name), getattr(parent, name)) for name in MEASURES}


def percent(value: Decimal | int | None, parent: Decimal | int | None) -> Decimal | None:
    """``value`` in percent of ``parent`` (2 decimals, half-even), None when the parent is not positive."""
    if value is None or parent is None or parent <= 0:
        return None
    return (Decimal(value) * 100 / Decimal(parent)).quantize(PERCENT)


@dataclass(frozen=True, slots=True)
class DetailRow:
    """An item's or division's facts under one counterparty and source."""

    detail: str
    measures: Measures
    shares: dict[str, Decimal | None]
    """Of the counterparty row."""


@dataclass(frozen=True, slots=True)
class CounterpartyRow:
    """A counterparty (or an unlinked customer code) under one source."""

    place: int
    """1 = the first in the report's order within its source."""
    counterparty_id: str | None
    """None: a customer code no counterparty carries (``customer``), or interactions of no counterparty."""
    customer: str | None
    """The customer code of an unlinked row; None on a counterparty's row."""
    measures: Measures
    shares: dict[str, Decimal | None]
    """Of the source row."""
    details: list[DetailRow]


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One information source ("" = no source) and its counterparties (the first of them)."""

    place: int
    source: str
    name: str | None
    """The name in the ``sources`` catalog (None: no source, or a code not in the catalog)."""
    measures: Measures
    shares: dict[str, Decimal | None]
    """Of the total."""
    counterparties: int
    """How many counterparty rows the source has (the first ``counterparty_rows`` are here)."""
    counterparty_rows: list[CounterpartyRow]


@dataclass(frozen=True, slots=True)
class SourcesResult:
    """A page of source rows with the total of all rows in scope."""

    rows: list[SourceRow]
    last_place: int | None
    """The place of the last row when more follow."""
    sources: int
    total: Measures
    without_rate: list[WithoutRate]
    as_of: datetime


@dataclass(frozen=True, slots=True)
class Series:
    """One source's revenue per bucket."""

    source: str
    name: str | None
    values: list[Decimal]


@dataclass(frozen=True, slots=True)
class History:
    """Revenue per source per bucket (month or quarter) of the period, zeros where none."""

    buckets: list[date]
    series: list[Series]
    without_rate: list[WithoutRate]
    as_of: datetime


def buckets(start: date, end: date, bucket: Bucket) -> list[date]:
    """The first days of the months (quarters) from the one of ``start`` to the one of ``end``."""
    step = 1 if bucket == "month" else 3
    month = start.month - (start.month - 1) % step
    day, found = date(start.year, month, 1), []
    while day <= end:
        found.append(day)
        shifted = day.month - 1 + step
        day = date(day.year + shifted // 12, shifted % 12 + 1, 1)
    return found


CSV_COLUMNS = (
    "level",
    "source",
    "source_name",
    "counterparty_id",
    "customer",
    "detail",
    *(f"{name}{suffix}" for name in MEASURES for suffix in ("", "_share")),
)
"""The columns of the report as flat lines (files, the command line)."""
Line = tuple[str, str, str, str, str, str, list[Decimal | int | None]]
"""level (source, counterparty, detail), source, its name, counterparty id, unlinked customer code,
detail, then each measure followed by its percent of the parent row."""


def _values(m: Measures, shares: dict[str, Decimal | None]) -> list[Decimal | int | None]:
    values: list[Decimal | int | None] = []
    for name in MEASURES:
        values += [getattr(m, name), shares.get(name)]
    return values


def lines_of(row: SourceRow, child: CounterpartyRow | None) -> list[Line]:
    """The flat lines of one item of :meth:`SourcesReport.every_row`: a source's line, or a
    counterparty's followed by its details'."""
    name = row.name or ""
    if child is None:
        return [("source", row.source, name, "", "", "", _values(row.measures, row.shares))]
    cid, customer = child.counterparty_id or "", child.customer or ""
    lines: list[Line] = [("counterparty", row.source, name, cid, customer, "", _values(child.measures, child.shares))]
    for d in child.details:
        lines.append(("detail", row.source, name, cid, customer, d.detail, _values(d.measures, d.shares)))
    return lines


def text_of(line: Line) -> tuple[str, ...]:
    """A line as text: decimals as their digits, None as empty."""
    *codes, values = line
    return (*codes, *("" if v is None else format(v, "f") if isinstance(v, Decimal) else str(v) for v in values))


class SourcesReport:
    """Reads the report for a caller, within their scope (``application.scope``)."""

    def __init__(self, store: AnalyticsStore, tz: str = "UTC") -> None:
        self._store = store
        self._tz = tz

    def _bound(self, caller: Caller, asked: SourcesQuery) -> tuple[dict[str, Any], str]:
        """The parameters (scope included) and the scoped rows' SQL; 403 outside every scope."""
        scope = scope_of(caller)
        return {**asked.parameters(), **scope.parameters(), "tz": self._tz}, _SCOPED

    def authorize(self, caller: Caller) -> None:
        """:class:`Forbidden` unless the caller may read reports over some scope."""
        scope_of(caller)

    async def names(self, as_of: datetime, codes: Iterable[str]) -> dict[str, str]:
        """The catalog names of source ``codes`` as of ``as_of``."""
        wanted = sorted({c for c in codes if c})
        if not wanted:
            return {}
        found = await self._store.query(_NAMES, {"as_of": as_of, "codes": wanted})
        return {str(r["code"]): str(r["name"]) for r in found if r["name"]}

    async def _without_rate(self, bound: dict[str, Any]) -> list[WithoutRate]:
        found = await self._store.query(_WITHOUT_RATE, bound)
        return [WithoutRate(str(r["currency"]), int(r["facts"]), r["earliest"]) for r in found]

    async def report(
        self,
        caller: Caller,
        asked: SourcesQuery,
        *,
        after: int = 0,
        limit: int = 100,
        counterparties_after: int = 0,
        counterparties: int = 20,
    ) -> SourcesResult:
        """The source rows after place ``after`` (at most ``limit``), each with its counterparty rows
        after place ``counterparties_after`` (at most ``counterparties``) and their details when
        ``asked.by`` is set; the total and the facts left out for lack of a rate."""
        bound, scoped = self._bound(caller, asked)
        [total_row] = await self._store.query(_TOTAL, bound)
        total = Measures.of(total_row)
        found = await self._store.query(
            _SOURCES.format(sums=_SUMS, sort=asked.sort, scoped=scoped), {**bound, "after": after, "limit": limit + 1}
        )
        page = found[:limit]
        codes = [str(r["source"]) for r in page]
        by_source: dict[str, list[dict[str, Any]]] = {code: [] for code in codes}
        details: dict[tuple[str, str, str], list[DetailRow]] = {}
        if page and counterparties:
            rows = await self._store.query(
                _COUNTERPARTIES.format(sums=_SUMS, sort=asked.sort, scoped=scoped),
                {
                    **bound,
                    "sources": codes,
                    "counterparties_after": counterparties_after,
                    "counterparties": counterparties,
                },
            )
            for r in rows:
                by_source[str(r["source"])].append(r)
            if asked.by is not None and rows:
                details = await self._details(bound, scoped, asked, rows)
        names = await self.names(asked.as_of, codes)
        result: list[SourceRow] = []
        for r in page:
            code = str(r["source"])
            measures = Measures.of(r)
            children = []
            for c in by_source[code]:
                key = (code, str(c["counterparty_id"]), str(c["customer"]))
                child = Measures.of(c)
                children.append(
                    CounterpartyRow(
                        place=int(c["place"]),
                        counterparty_id=key[1] or None,
                        customer=None if key[1] else key[2] or None,
                        measures=child,
                        shares=child.shares(measures),
                        details=[
                            DetailRow(d.detail, d.measures, d.measures.shares(child)) for d in details.get(key, [])
                        ],
                    )
                )
            result.append(
                SourceRow(
                    place=int(r["place"]),
                    source=code,
                    name=names.get(code),
                    measures=measures,
                    shares=measures.shares(total),
                    counterparties=int(r["counterparties"]),
                    counterparty_rows=children,
                )
            )
        return SourcesResult(
            rows=result,
            last_place=result[-1].place if len(found) > limit and result else None,
            sources=int(total_row["sources"]),
            total=total,
            without_rate=await self._without_rate(bound),
            as_of=asked.as_of,
        )

    async def _details(
        self, bound: dict[str, Any], scoped: str, asked: SourcesQuery, rows: list[dict[str, Any]]
    ) -> dict[tuple[str, str, str], list[DetailRow]]:
        keys = sorted({f"{r['source']}\n{r['counterparty_id']}\n{r['customer']}" for r in rows})
        found = await self._store.query(
            _DETAILS.format(sums=_SUMS, sort=asked.sort, scoped=scoped),
            {**bound, "sources": sorted({str(r["source"]) for r in rows}), "keys": keys},
        )
        details: dict[tuple[str, str, str], list[DetailRow]] = {}
        for d in found:
            key = (str(d["source"]), str(d["counterparty_id"]), str(d["customer"]))
            measures = Measures.of(d, incoming=False)
            details.setdefault(key, []).append(DetailRow(str(d["detail"]), measures, {}))
        return details

    async def every_row(
        self, caller: Caller, asked: SourcesQuery, *, page: int = 1000
    ) -> AsyncIterator[tuple[SourceRow, CounterpartyRow | None]]:
        """Every source row (with no counterparty), each followed by every one of its counterparty
        rows (with details when ``asked.by`` is set), a page at a time (for files)."""
        after: int | None = 0
        while after is not None:
            found = await self.report(caller, asked, after=after, limit=page, counterparties=0)
            for row in found.rows:
                yield row, None
                one = replace(asked, source=row.source)
                done = 0
                while done < row.counterparties:
                    [part] = (await self.report(caller, one, counterparties_after=done, counterparties=page)).rows
                    for child in part.counterparty_rows:
                        yield row, child
                    done += len(part.counterparty_rows)
                    if not part.counterparty_rows:
                        break
            after = found.last_place

    async def history(self, caller: Caller, asked: SourcesQuery, bucket: Bucket = "month") -> History:
        """Revenue per source per bucket of the period (the sources in order of their revenue over
        the period, the greatest first; ties by code)."""
        bound, scoped = self._bound(caller, asked)
        found = await self._store.query(_HISTORY.format(bucket=_BUCKETS[bucket], scoped=scoped), bound)
        days = buckets(asked.start, asked.end, bucket)
        index = {day: i for i, day in enumerate(days)}
        values: dict[str, list[Decimal]] = {}
        for r in found:
            row = values.setdefault(str(r["source"]), [Decimal("0.00")] * len(days))
            row[index[r["bucket"]]] = Decimal(str(r["revenue"]))
        names = await self.names(asked.as_of, values)
        order = sorted(values, key=lambda code: (-sum(values[code]), code))
        return History(
            buckets=days,
            series=[Series(code, names.get(code), values[code]) for code in order],
            without_rate=await self._without_rate(bound),
            as_of=asked.as_of,
        )
