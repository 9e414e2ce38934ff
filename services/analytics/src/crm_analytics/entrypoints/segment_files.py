"""The back-tests and the XYZ report as files: ``GET /api/v1/analytics/abc/backtest.csv`` and ``.xlsx``,
``/xyz/backtest.csv`` and ``.xlsx``, ``/xyz.csv`` and ``.xlsx``.

The same parameters, access and scope as their JSON routes (a sales manager: their access groups'
customers; 403 without a role; 422 naming the field). A back-test is one row per run, oldest first, the
rows ``crm report abc-backtest`` and ``xyz-backtest`` write (``application.backtest.abc_cells``,
``application.xyz_backtest.xyz_cells``); the XYZ report one row per customer in code order, every one
(``application.xyz.cells``). The CSV has the columns' names and decimal text; the workbook
(:func:`~crm_analytics.entrypoints.exports.rows_workbook`) headings in English or Bulgarian (``lang``)
and exact numeric cells.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from crm_analytics.application import xyz_backtest
from crm_analytics.application.backtest import ABC_COLUMNS, BacktestQuery, abc_cells, backtest
from crm_analytics.application.scope import scope_of
from crm_analytics.application.xyz import COLUMNS as XYZ_COLUMNS
from crm_analytics.application.xyz import XyzReport, cells
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.xyz import SCALES, XyzMeasure, XyzParameters
from crm_analytics.entrypoints.abc import abc_backtest_parameters
from crm_analytics.entrypoints.exports import MONEY, XLSX, Sheet, rows_workbook
from crm_analytics.entrypoints.reports import CSV_RESPONSE, AsOf, csv_response
from crm_analytics.entrypoints.xyz import xyz_backtest_parameters, xyz_parameters
from crm_shared.http import caller_dependency
from crm_shared.identity import Caller, CallerTokens

Language = Annotated[Literal["bg", "en"], Query(description="The language of the headings")]
XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}
}

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "abc-backtest": "ABC back-test",
        "xyz-backtest": "XYZ back-test",
        "xyz": "XYZ",
        "from": "From",
        "to": "To",
        "as_of": "As known at",
        "customers": "Customers",
        "customers_{}": "Customers {}",
        "value_{}": "Value {}",
        "kept_share": "Kept, %",
        "next_share_{}": "Next value from {}, %",
        "moved_{}_to_{}": "{} → {}",
        "customer": "Customer code",
        "counterparty_id": "Counterparty id",
        "stage": "Stage",
        "class": "Class",
        "coefficient": "Coefficient of variation, %",
        "mean": "Mean",
        "total": "Total",
        "values": "Values",
        "active_periods": "Active periods",
        "potential": "Potential",
        "one-time": "One-time",
        "regular": "Regular",
        "lost": "Lost",
        "new": "New",
    },
    "bg": {
        "abc-backtest": "ABC проверка",
        "xyz-backtest": "XYZ проверка",
        "xyz": "XYZ",
        "from": "От",
        "to": "До",
        "as_of": "Към момента",
        "customers": "Клиенти",
        "customers_{}": "Клиенти {}",
        "value_{}": "Стойност {}",
        "kept_share": "Запазили, %",
        "next_share_{}": "Следваща стойност от {}, %",
        "moved_{}_to_{}": "{} → {}",
        "customer": "Код на клиента",
        "counterparty_id": "Id на контрагента",
        "stage": "Етап",
        "class": "Клас",
        "coefficient": "Коефициент на вариация, %",
        "mean": "Средно",
        "total": "Общо",
        "values": "Стойности",
        "active_periods": "Активни периоди",
        "potential": "Потенциален",
        "one-time": "Еднократен",
        "regular": "Постоянен",
        "lost": "Загубен",
        "new": "Нов",
    },
}
"""The workbooks' headings: a column's name, or its pattern (``{}`` a class, stage or standing)."""
_PATTERNS = [(key, re.compile(re.escape(key).replace(r"\{\}", "(.+)"))) for key in WORDS["en"] if "{}" in key]


def heading(column: str, language: str) -> str:
    """The heading of ``column`` in ``language``; a class, stage or standing in it named too."""
    words = WORDS[language]
    if column in words:
        return words[column]
    for key, pattern in _PATTERNS:
        found = pattern.fullmatch(column)
        if found:
            return words[key].format(*(words.get(part, part) for part in found.groups()))
    return column


def scale_format(measure: XyzMeasure) -> str:
    """The number format of a measure's values: its decimal places (money 2, quantities 3, counts 0)."""
    places = -int(SCALES[measure].as_tuple().exponent)
    return "#,##0" + ("." + "0" * places if places else "")


def formats_of(columns: Sequence[str], value: str = MONEY) -> tuple[str, ...]:
    """Each column's number format: shares in percent 2 decimals, the coefficient and the mean 4,
    values and totals ``value``."""

    def one(column: str) -> str:
        if column == "kept_share" or column.startswith("next_share_"):
            return "0.00"
        if column == "coefficient":
            return "0.0000"
        if column == "mean":
            return "#,##0.0000"
        return value

    return tuple(one(column) for column in columns)


def _text(value: object) -> object:
    return format(value, "f") if isinstance(value, Decimal) else value


def csv_file(columns: tuple[str, ...], rows: Iterable[Sequence[object]], filename: str) -> Response:
    """``rows`` as :func:`~crm_analytics.entrypoints.reports.csv_response`, decimals as their digits."""
    return csv_response((tuple(_text(v) for v in row) for row in rows), columns, filename)


async def xlsx_file(
    name: str, columns: tuple[str, ...], rows: Iterable[Sequence[object]], language: str, filename: str, value: str
) -> Response:
    """``rows`` as a one-sheet workbook with the headings of ``columns`` in ``language``."""
    sheet = Sheet(
        WORDS[language][name],
        list(rows),
        header=[heading(c, language) for c in columns],
        formats=formats_of(columns, value),
        widths=[24 if c in ("as_of", "counterparty_id") else 14 for c in columns],
    )
    body = await asyncio.to_thread(rows_workbook, sheet)
    disposition = f'attachment; filename="{filename}"'
    return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The file routes of the back-tests and of the XYZ report; every route needs a verified caller."""
    router = APIRouter(prefix="/api/v1/analytics", tags=["analytics: segmentation"])
    authenticated = caller_dependency(tokens)
    report = XyzReport(service.analytics)
    abc_asked = Depends(abc_backtest_parameters(service))
    xyz_asked = Depends(xyz_backtest_parameters(service))
    rule_asked = Depends(xyz_parameters(service))
    zone = service.settings.time_zone

    async def abc_rows(caller: Caller, asked: BacktestQuery) -> list[tuple[object, ...]]:
        scope_of(caller)
        return [abc_cells(p) for p in await backtest(service.abc, caller, asked, zone)]

    def abc_name(asked: BacktestQuery, suffix: str) -> str:
        return f"abc-backtest-{asked.to}-{asked.periodicity}-{asked.periods}-{asked.measure}.{suffix}"

    @router.get("/abc/backtest.csv", response_class=Response, responses=CSV_RESPONSE)
    async def abc_backtest_csv(asked: BacktestQuery = abc_asked, caller: Caller = authenticated) -> Response:
        """The ABC back-test (the parameters of `GET /abc/backtest`) as CSV, UTF-8 with a byte order
        mark: one row per period, oldest first — `from,to,as_of`, customers and value per class, then
        `kept_share`, `next_share_<class>` (`new` last) and `moved_<previous>_to_<class>`; decimal text,
        empty where there is nothing (the first period's movement, the last one's next share). In the
        caller's scope."""
        return csv_file(ABC_COLUMNS, await abc_rows(caller, asked), abc_name(asked, "csv"))

    @router.get("/abc/backtest.xlsx", response_class=Response, responses=XLSX_RESPONSE)
    async def abc_backtest_xlsx(
        asked: BacktestQuery = abc_asked, lang: Language = "en", caller: Caller = authenticated
    ) -> Response:
        """The ABC back-test as an Excel workbook: the rows of `/abc/backtest.csv` under headings in
        `lang` (frozen, with a filter), counts, values and shares as exact numeric cells."""
        rows = await abc_rows(caller, asked)
        return await xlsx_file("abc-backtest", ABC_COLUMNS, rows, lang, abc_name(asked, "xlsx"), MONEY)

    async def xyz_rows(caller: Caller, asked: xyz_backtest.XyzBacktestQuery) -> list[tuple[object, ...]]:
        scope_of(caller)
        found = await xyz_backtest.xyz_backtest(report, caller, asked, zone)
        return [xyz_backtest.xyz_cells(run) for run in found]

    def xyz_name(asked: xyz_backtest.XyzBacktestQuery, suffix: str) -> str:
        return f"xyz-backtest-{asked.rule.to}-{asked.step}-{asked.runs}-{asked.rule.measure}.{suffix}"

    @router.get("/xyz/backtest.csv", response_class=Response, responses=CSV_RESPONSE)
    async def xyz_backtest_csv(
        asked: xyz_backtest.XyzBacktestQuery = xyz_asked, caller: Caller = authenticated
    ) -> Response:
        """The stage/XYZ back-test (the parameters of `GET /xyz/backtest`) as CSV, UTF-8 with a byte
        order mark: one row per run, oldest first — `to,from,as_of,customers`, customers per stage and
        per class, the value per standing, then `kept_share`, `next_share_<standing>` (`new` last) and
        `moved_<previous>_to_<standing>`; decimal text, empty where there is nothing. In the caller's
        scope."""
        rows = await xyz_rows(caller, asked)
        return csv_file(xyz_backtest.XYZ_COLUMNS, rows, xyz_name(asked, "csv"))

    @router.get("/xyz/backtest.xlsx", response_class=Response, responses=XLSX_RESPONSE)
    async def xyz_backtest_xlsx(
        asked: xyz_backtest.XyzBacktestQuery = xyz_asked, lang: Language = "en", caller: Caller = authenticated
    ) -> Response:
        """The stage/XYZ back-test as an Excel workbook: the rows of `/xyz/backtest.csv` under headings
        in `lang` (frozen, with a filter), counts, values and shares as exact numeric cells."""
        rows = await xyz_rows(caller, asked)
        value = scale_format(asked.rule.measure)
        return await xlsx_file("xyz-backtest", xyz_backtest.XYZ_COLUMNS, rows, lang, xyz_name(asked, "xlsx"), value)

    async def customers(caller: Caller, asked: XyzParameters, as_of: Any) -> list[tuple[object, ...]]:
        scope_of(caller)
        return [cells(row) async for row in report.every_row(caller, asked, as_of=as_of)]

    def report_name(asked: XyzParameters, suffix: str) -> str:
        return f"xyz-{asked.to}-{asked.periodicity}-{asked.periods}-{asked.measure}.{suffix}"

    @router.get("/xyz.csv", response_class=Response, responses=CSV_RESPONSE)
    async def xyz_csv(
        asked: XyzParameters = rule_asked, as_of: AsOf = None, caller: Caller = authenticated
    ) -> Response:
        """The whole XYZ report (the parameters of `GET /xyz`) as CSV, UTF-8 with a byte order mark: one
        row per customer in code order, every page — `customer,counterparty_id,stage,class,coefficient,
        mean,total,values,active_periods`, decimal text, empty for null. In the caller's scope."""
        return csv_file(XYZ_COLUMNS, await customers(caller, asked, as_of), report_name(asked, "csv"))

    @router.get("/xyz.xlsx", response_class=Response, responses=XLSX_RESPONSE)
    async def xyz_xlsx(
        asked: XyzParameters = rule_asked, as_of: AsOf = None, lang: Language = "en", caller: Caller = authenticated
    ) -> Response:
        """The whole XYZ report as an Excel workbook: the rows of `/xyz.csv` under headings in `lang`
        (frozen, with a filter), numbers as exact numeric cells."""
        rows = await customers(caller, asked, as_of)
        value = scale_format(asked.measure)
        return await xlsx_file("xyz", XYZ_COLUMNS, rows, lang, report_name(asked, "xlsx"), value)

    return router
