"""The ABC classification as a file: ``GET /api/v1/analytics/abc.xlsx`` and ``/abc.csv``.

The same parameters and the same access as ``GET /api/v1/analytics/abc`` (``analytics:read``), every
row in place order (1 = the greatest value). Amounts stay exact: the CSV has the decimal text of the
JSON answer; the workbook has numeric cells with a number format, each written with the digits of
its decimal (a double holds 15 significant digits exactly, and Excel computes with no more; a value
with more digits than that is written as its decimal text, never rounded silently).

:func:`rows_workbook` writes any report's rows so (the ABC workbook, the back-tests' and the XYZ
report's, ``entrypoints.segment_files``).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

import xlsxwriter
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse

from crm_analytics.application.abc import AbcQuery, AbcResult, AbcRow
from crm_analytics.application.scope import scope_of
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.abc import CLASSES
from crm_analytics.entrypoints.abc import abc_parameters
from crm_analytics.entrypoints.reports import CSV_RESPONSE, csv_response
from crm_shared.http import caller_dependency
from crm_shared.identity import Caller, CallerTokens

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_COLUMNS = (
    "place",
    "customer",
    "counterparty_id",
    "value",
    "share",
    "cumulative_value",
    "cumulative_share",
    "class",
)
SHARE_PLACES = Decimal("0.0001")
EXACT_DIGITS = 15
"""Significant digits a double holds exactly (and Excel computes with)."""

HEADINGS: dict[str, dict[str, str]] = {
    "en": {
        "sheet": "ABC",
        "summary": "Parameters",
        "place": "Place",
        "customer": "Customer code",
        "counterparty_id": "Counterparty id",
        "value": "Value",
        "share": "Share, %",
        "cumulative_value": "Cumulative value",
        "cumulative_share": "Cumulative share, %",
        "class": "Class",
        "from": "From",
        "to": "To",
        "by": "Measure",
        "shares": "Shares A/B/C, %",
        "currency": "Currency",
        "customers": "Customers",
        "total": "Total",
        "revenue": "revenue",
        "revenue_without_vat": "revenue without VAT",
        "profit": "gross profit",
        "class_customers": "Customers of class {c}",
        "class_value": "Value of class {c}",
        "without_rate": "Without a rate, {currency} (left out)",
        "without_rate_value": "{facts} facts from {earliest}",
    },
    "bg": {
        "sheet": "ABC",
        "summary": "Параметри",
        "place": "Място",
        "customer": "Код на клиента",
        "counterparty_id": "Id на контрагента",
        "value": "Стойност",
        "share": "Дял, %",
        "cumulative_value": "Натрупана стойност",
        "cumulative_share": "Натрупан дял, %",
        "class": "Клас",
        "from": "От",
        "to": "До",
        "by": "Показател",
        "shares": "Дялове A/B/C, %",
        "currency": "Валута",
        "customers": "Клиенти",
        "total": "Общо",
        "revenue": "приходи",
        "revenue_without_vat": "приходи без ДДС",
        "profit": "брутна печалба",
        "class_customers": "Клиенти от клас {c}",
        "class_value": "Стойност на клас {c}",
        "without_rate": "Без курс, {currency} (не са включени)",
        "without_rate_value": "{facts} факта от {earliest}",
    },
}


def share_of(value: Decimal, total: Decimal) -> Decimal | None:
    """``value`` in percent of ``total`` (4 decimals); None when the total is not positive."""
    if total <= 0:
        return None
    return (value * 100 / total).quantize(SHARE_PLACES)


def exact_number(value: Decimal) -> Decimal | None:
    """``value`` when a numeric cell holds it exactly (at most 15 significant digits), else None.

    XlsxWriter writes a numeric cell's value as ``format(value, ".16G")``: a float would bring its
    binary tail (80.4505 → ``80.45050000000001``), a Decimal writes its own digits (``80.4505``),
    which the spreadsheet reads into the nearest double, exact to the 15 digits it shows."""
    if len(value.as_tuple().digits) > EXACT_DIGITS:
        return None
    return value


def number(sheet: Any, row: int, col: int, value: Decimal | None, style: Any) -> None:
    """Write ``value`` to a cell exactly: a numeric cell with ``style`` (its number format) when it
    holds the value (:func:`exact_number`), else the decimal text; a blank cell for None."""
    if value is None:
        sheet.write_blank(row, col, None, style)
        return
    exact = exact_number(value)
    if exact is None:
        sheet.write_string(row, col, format(value, "f"))
    else:
        sheet.write_number(row, col, exact, style)  # a Decimal: see exact_number


@dataclass(frozen=True, slots=True)
class Sheet:
    """A sheet of :func:`rows_workbook`: its name and rows (one value per cell: text, int, Decimal, or
    None or '' for an empty cell) and how they are shown."""

    name: str
    rows: Iterable[Sequence[object]]
    header: Sequence[str] = ()
    """The header row (bold, frozen, with a filter); none when empty."""
    formats: Sequence[str] = ()
    """Each column's number format of its Decimal cells (missing: ``#,##0.00``); an int's is ``0``."""
    widths: Sequence[int] = ()
    """Each column's width (missing: 18)."""


MONEY = "#,##0.00"


def rows_workbook(*sheets: Sheet) -> bytes:
    """The ``sheets`` as an .xlsx workbook, every Decimal written exactly (:func:`number`)."""
    book, buffer = new_workbook()
    bold = book.add_format({"bold": True, "bottom": 1})
    styles: dict[str, Any] = {}

    def style(code: str) -> Any:
        if code not in styles:
            styles[code] = book.add_format({"num_format": code})
        return styles[code]

    for sheet in sheets:
        page = book.add_worksheet(sheet.name)
        start = 1 if sheet.header else 0
        for col, heading in enumerate(sheet.header):
            page.write_string(0, col, heading, bold)
        count = len(sheet.header)
        line = start - 1
        for line, values in enumerate(sheet.rows, start=start):
            count = max(count, len(values))
            for col, value in enumerate(values):
                if value is None or value == "":
                    continue
                if isinstance(value, bool) or not isinstance(value, int | Decimal):
                    page.write_string(line, col, str(value))
                elif isinstance(value, int):
                    page.write_number(line, col, value, style("0"))
                else:
                    code = sheet.formats[col] if col < len(sheet.formats) and sheet.formats[col] else MONEY
                    number(page, line, col, value, style(code))
        for col in range(count):
            page.set_column(col, col, sheet.widths[col] if col < len(sheet.widths) else 18)
        if sheet.header:
            page.freeze_panes(1, 0)
            page.autofilter(0, 0, max(line, 1), len(sheet.header) - 1)
    book.close()
    return buffer.getvalue()


def new_workbook() -> tuple[Any, io.BytesIO]:
    """An in-memory XlsxWriter workbook that writes strings as strings (never as numbers or links)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_urls": False})
    return book, buffer


@dataclass(frozen=True, slots=True)
class _Report:
    asked: AbcQuery
    summary: AbcResult
    rows: list[AbcRow]


def _filename(asked: AbcQuery, suffix: str) -> str:
    return f"abc-{asked.period.start}-{asked.period.end}-{asked.measure}.{suffix}"


def workbook(report: _Report, language: str = "en") -> bytes:
    """The classification as an .xlsx workbook: a sheet of rows (a header row, frozen, with a filter)
    and a sheet of the parameters and the summary per class."""
    text = HEADINGS[language]
    total = report.summary.total
    rows = (
        (
            row.place,
            row.customer,
            row.counterparty_id,
            row.value,
            share_of(row.value, total),
            row.cumulative_value,
            row.cumulative_share,
            row.abc_class,
        )
        for row in report.rows
    )
    asked = report.asked
    facts: list[tuple[str, object]] = [
        (text["from"], asked.period.start.isoformat()),
        (text["to"], asked.period.end.isoformat()),
        (text["by"], text[asked.measure]),
        (text["shares"], str(asked.shares)),
        (text["currency"], asked.currency),
        (text["customers"], report.summary.customers),
        (text["total"], total),
    ]
    for c in CLASSES:
        facts.append((text["class_customers"].format(c=c), report.summary.classes[c].customers))
        facts.append((text["class_value"].format(c=c), report.summary.classes[c].value))
    facts += [
        (
            text["without_rate"].format(currency=w.currency),
            text["without_rate_value"].format(facts=w.facts, earliest=w.earliest.isoformat()),
        )
        for w in report.summary.without_rate
    ]
    return rows_workbook(
        Sheet(
            text["sheet"],
            rows,
            header=[text[name] for name in CSV_COLUMNS],
            formats=("", "", "", MONEY, "0.0000", MONEY, "0.0000"),
            widths=(8, 18, 34, 20, 20, 20, 20, 8),
        ),
        Sheet(text["summary"], facts, widths=(26, 20)),
    )


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The file routes of the classification; every route needs a verified caller."""
    router = APIRouter(prefix="/api/v1/analytics", tags=["analytics: segmentation"])
    authenticated = caller_dependency(tokens)

    parameters = Depends(abc_parameters(service))

    async def report(caller: Caller, asked: AbcQuery) -> _Report:
        scope_of(caller)
        summary = await service.abc.classify(caller, asked, limit=1)
        rows = [row async for row in service.abc.every_row(caller, asked)]
        return _Report(asked, summary, rows)

    @router.get(
        "/abc.xlsx",
        response_class=Response,
        responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
    )
    async def abc_xlsx(
        asked: AbcQuery = parameters,
        lang: Annotated[Literal["bg", "en"], Query(description="The language of the headings")] = "en",
        caller: Caller = authenticated,
    ) -> Response:
        """The whole ABC classification (the parameters of ``GET /api/v1/analytics/abc``) as an Excel
        workbook: a sheet with a header row (frozen, with a filter) and one row per customer in place
        order, amounts and shares as numeric cells with a number format; a sheet with the parameters
        and the summary per class. Administrators, heads of sales and marketers only."""
        found = await report(caller, asked)
        body = await asyncio.to_thread(workbook, found, lang)
        disposition = f'attachment; filename="{_filename(asked, "xlsx")}"'
        return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})

    @router.get(
        "/abc.csv",
        response_class=StreamingResponse,
        responses=CSV_RESPONSE,
    )
    async def abc_csv(
        asked: AbcQuery = parameters,
        caller: Caller = authenticated,
    ) -> StreamingResponse:
        """The whole ABC classification (the parameters of ``GET /api/v1/analytics/abc``) as CSV, UTF-8
        with a byte order mark: ``place,customer,counterparty_id,value,share,cumulative_value,
        cumulative_share,class``, amounts as decimal text, shares in percent (4 decimals; empty when
        the total is not positive). Administrators, heads of sales and marketers only."""
        scope_of(caller)
        summary = await service.abc.classify(caller, asked, limit=1)

        async def lines() -> AsyncIterator[tuple[object, ...]]:
            async for row in service.abc.every_row(caller, asked):
                share = share_of(row.value, summary.total)
                values = (
                    row.place,
                    row.customer,
                    row.counterparty_id or "",
                    format(row.value, "f"),
                    "" if share is None else format(share, "f"),
                    format(row.cumulative_value, "f"),
                    "" if row.cumulative_share is None else format(row.cumulative_share, "f"),
                    row.abc_class,
                )
                yield values

        return csv_response(lines(), CSV_COLUMNS, _filename(asked, "csv"))

    return router
