"""``GET /api/v1/analytics/sources`` (and ``.csv``, ``.xlsx``, ``/history``): the report "Analysis of
interactions and information sources" (1C) — see ``application.sources`` for its rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse

from crm_analytics.application.reading import at
from crm_analytics.application.sources import (
    CSV_COLUMNS,
    MEASURES,
    CounterpartyRow,
    Detail,
    Sort,
    SourceRow,
    SourcesQuery,
    SourcesReport,
    lines_of,
    text_of,
)
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.entrypoints.abc import reporting_currency
from crm_analytics.entrypoints.abc_models import WithoutRateOut
from crm_analytics.entrypoints.exports import XLSX, new_workbook, number
from crm_analytics.entrypoints.facts_models import FactDate
from crm_analytics.entrypoints.reports import CSV_RESPONSE, AsOf, csv_response
from crm_analytics.entrypoints.sources_models import (
    CounterpartyRowOut,
    DetailRowOut,
    HistoryOut,
    MeasuresOut,
    SeriesOut,
    SharesOut,
    SourceRowOut,
    SourcesOut,
)
from crm_shared.http import caller_dependency
from crm_shared.identity import Caller, CallerTokens

PATH = "/api/v1/analytics/sources"
MAX_PLACE = 1_000_000_000
ACCESS = (
    " Administrators, heads of sales and marketers read every row; sales managers and read-only users the "
    "rows of their access groups' counterparties (totals and percentages of those only); 403 for others."
)
HEADINGS: dict[str, dict[str, str]] = {
    "en": {
        "sheet": "Sources",
        "level": "Level",
        "source": "Source code",
        "source_name": "Source",
        "counterparty_id": "Counterparty id",
        "customer": "Unlinked customer code",
        "detail": "Item / division",
        "revenue": "Revenue",
        "revenue_without_vat": "Revenue without VAT",
        "profit": "Profit",
        "sales": "Sales",
        "quantity": "Quantity",
        "incoming": "Incoming interactions",
        "share": "{name}, % of parent",
        "none": "(no source)",
    },
    "bg": {
        "sheet": "Източници",
        "level": "Ниво",
        "source": "Код на източника",
        "source_name": "Източник",
        "counterparty_id": "Id на контрагента",
        "customer": "Код на несвързан клиент",
        "detail": "Артикул / поделение",
        "revenue": "Приходи",
        "revenue_without_vat": "Приходи без ДДС",
        "profit": "Печалба",
        "sales": "Продажби",
        "quantity": "Количество",
        "incoming": "Входящи събития",
        "share": "{name}, % от горното ниво",
        "none": "(без източник)",
    },
}


def sources_parameters(service: AnalyticsService) -> Callable[..., SourcesQuery]:
    """The report's query parameters, as a dependency (the report, its files and its history)."""

    def asked_of(
        start: Annotated[FactDate, Query(alias="from", description="First day of the period")],
        end: Annotated[FactDate, Query(alias="to", description="Last day of the period (included); not before `from`")],
        by: Annotated[
            Detail | None, Query(description="A third level under each counterparty: its facts by item or division")
        ] = None,
        as_of: AsOf = None,
        source: Annotated[
            str | None,
            Query(max_length=200, description="Only this source's row (its code; empty: the rows without a source)"),
        ] = None,
        sort: Annotated[
            Sort, Query(description="The measure rows are ordered by, greatest first (ties by code)")
        ] = "revenue",
        currency: str | None = reporting_currency(service),
    ) -> SourcesQuery:
        return SourcesQuery(start, end, by=by, source=source, as_of=at(as_of), sort=sort)

    return asked_of


def _more(asked: SourcesQuery, row: SourceRow, shown: int, after: int) -> str | None:
    if after + shown >= row.counterparties or not shown:
        return None
    query: dict[str, Any] = {"from": asked.start.isoformat(), "to": asked.end.isoformat()}
    if asked.by:
        query["by"] = asked.by
    query |= {
        "as_of": asked.as_of.isoformat(),
        "sort": asked.sort,
        "source": row.source,
        "counterparties_after": after + shown,
        "counterparties": shown,
    }
    return f"{PATH}?{urlencode(query)}"


def _counterparty(c: CounterpartyRow) -> CounterpartyRowOut:
    return CounterpartyRowOut(
        place=c.place,
        counterparty_id=c.counterparty_id,
        customer=c.customer,
        measures=MeasuresOut.of(c.measures),
        shares=SharesOut.of(c.shares),
        details=[
            DetailRowOut(detail=d.detail, measures=MeasuresOut.of(d.measures), shares=SharesOut.of(d.shares))
            for d in c.details
        ],
    )


def _filename(asked: SourcesQuery, suffix: str) -> str:
    return f"sources-{asked.start}-{asked.end}.{suffix}"


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The report's routes; every route needs a verified caller."""
    router = APIRouter(prefix="/api/v1/analytics", tags=["analytics: reports"])
    authenticated = caller_dependency(tokens)
    report = SourcesReport(service.analytics, tz=service.settings.time_zone)
    parameters = Depends(sources_parameters(service))
    currency = service.settings.reporting_currency

    @router.get("/sources", response_model=SourcesOut, response_model_by_alias=True)
    async def sources(
        asked: SourcesQuery = parameters,
        after: Annotated[int, Query(ge=0, le=MAX_PLACE, description="The `place` of the last source row seen")] = 0,
        limit: Annotated[int, Query(ge=1, le=1000, description="Source rows per page")] = 100,
        counterparties_after: Annotated[
            int, Query(ge=0, le=MAX_PLACE, description="The `place` of the last counterparty row seen (with `source`)")
        ] = 0,
        counterparties: Annotated[
            int, Query(ge=0, le=1000, description="Counterparty rows per source (the first; `more` links the rest)")
        ] = 20,
        caller: Caller = authenticated,
    ) -> SourcesOut:
        (
            """Analysis of interactions and information sources (1C): rows information source →
        counterparty (→ item or division with `by`). Each sale or return of the period is attributed
        to its counterparty's source in force on the fact's date (the latest source record dated on or
        before it, within the source's actuality days); facts of customer codes no counterparty
        carries are their own rows under no source. Measures in the reporting currency (facts without
        a rate left out and listed in `without_rate`): revenue, revenue without VAT, profit, sales
        (sale facts), quantity, incoming interactions (not cancelled, started in the period in the
        organisation's time zone; the source the interaction names, else the counterparty's then);
        each with its percent of the parent row. Source rows a page at a time (`after`, `limit`),
        each with its first `counterparties` rows and a `more` link to the rest."""
            + ACCESS
        )
        result = await report.report(
            caller,
            asked,
            after=after,
            limit=limit,
            counterparties_after=counterparties_after,
            counterparties=counterparties,
        )
        return SourcesOut(
            start=asked.start,
            end=asked.end,
            by=asked.by,
            sort=asked.sort,
            as_of=asked.as_of,
            currency=currency,
            sources=result.sources,
            total=MeasuresOut.of(result.total),
            without_rate=WithoutRateOut.of(result.without_rate),
            rows=[
                SourceRowOut(
                    place=r.place,
                    source=r.source,
                    name=r.name,
                    measures=MeasuresOut.of(r.measures),
                    shares=SharesOut.of(r.shares),
                    counterparties=r.counterparties,
                    counterparty_rows=[_counterparty(c) for c in r.counterparty_rows],
                    more=_more(asked, r, len(r.counterparty_rows), counterparties_after),
                )
                for r in result.rows
            ],
            next_after=result.last_place,
        )

    @router.get("/sources/history", response_model=HistoryOut, response_model_by_alias=True)
    async def history(
        asked: SourcesQuery = parameters,
        bucket: Annotated[Literal["month", "quarter"], Query(description="The period of each value")] = "month",
        caller: Caller = authenticated,
    ) -> HistoryOut:
        (
            """Revenue per information source per month or quarter of the period (the report's rule of
        attribution; for the chart): every bucket from `from`'s to `to`'s, zeros where none."""
            + ACCESS
        )
        found = await report.history(caller, asked, bucket)
        return HistoryOut(
            start=asked.start,
            end=asked.end,
            bucket=bucket,
            as_of=asked.as_of,
            currency=currency,
            buckets=found.buckets,
            series=[
                SeriesOut(source=s.source, name=s.name, values=[format(v, "f") for v in s.values]) for s in found.series
            ],
            without_rate=WithoutRateOut.of(found.without_rate),
        )

    @router.get(
        "/sources.csv",
        response_class=StreamingResponse,
        responses=CSV_RESPONSE,
    )
    async def sources_csv(asked: SourcesQuery = parameters, caller: Caller = authenticated) -> StreamingResponse:
        (
            """The whole report (the parameters of `GET /api/v1/analytics/sources`) as CSV, UTF-8 with a
        byte order mark: `level` (source, counterparty, detail), `source`, `source_name`,
        `counterparty_id`, `customer`, `detail`, then each measure and its percent of the parent row
        (`revenue,revenue_share,...`); amounts as decimal text; each source row followed by its
        counterparties, each followed by its details."""
            + ACCESS
        )
        report.authorize(caller)
        rows = report.every_row(caller, asked)

        async def lines() -> AsyncIterator[tuple[object, ...]]:
            async for row, child in rows:
                for line in lines_of(row, child):
                    yield text_of(line)

        return csv_response(lines(), CSV_COLUMNS, _filename(asked, "csv"))

    @router.get(
        "/sources.xlsx",
        response_class=Response,
        responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
    )
    async def sources_xlsx(
        asked: SourcesQuery = parameters,
        lang: Annotated[Literal["bg", "en"], Query(description="The language of the headings")] = "en",
        caller: Caller = authenticated,
    ) -> Response:
        (
            """The whole report (the parameters of `GET /api/v1/analytics/sources`) as an Excel workbook:
        one sheet, a header row (frozen, with a filter), a row per source, counterparty and detail
        (the columns of the CSV), amounts and percentages as exact numeric cells."""
            + ACCESS
        )
        found = [(row, child) async for row, child in report.every_row(caller, asked)]
        body = await asyncio.to_thread(_workbook, found, lang)
        disposition = f'attachment; filename="{_filename(asked, "xlsx")}"'
        return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})

    return router


def _workbook(found: list[tuple[SourceRow, CounterpartyRow | None]], language: str) -> bytes:
    text = HEADINGS[language]
    book, buffer = new_workbook()
    bold = book.add_format({"bold": True, "bottom": 1})
    formats = {
        "money": book.add_format({"num_format": "#,##0.00"}),
        "quantity": book.add_format({"num_format": "#,##0.000"}),
        "integer": book.add_format({"num_format": "0"}),
        "percent": book.add_format({"num_format": "0.00"}),
    }
    sheet = book.add_worksheet(text["sheet"])
    headings = [text[name] for name in CSV_COLUMNS[:6]]
    for name in MEASURES:
        headings += [text[name], text["share"].format(name=text[name])]
    for col, heading in enumerate(headings):
        sheet.write_string(0, col, heading, bold)
        sheet.set_column(col, col, 36 if col == 3 else 18)
    styles = {"sales": "integer", "incoming": "integer", "quantity": "quantity"}
    line = 0
    for row, child in found:
        for level, code, source_name, cid, customer, detail, values in lines_of(row, child):
            line += 1
            label = source_name or (text["none"] if not code else "")
            for col, cell in enumerate((level, code, label, cid, customer, detail)):
                if cell:
                    sheet.write_string(line, col, cell)
            for index, value in enumerate(values):
                measure = MEASURES[index // 2]
                style = formats["percent"] if index % 2 else formats[styles.get(measure, "money")]
                number(sheet, line, 6 + index, None if value is None else Decimal(value), style)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(line, 1), len(headings) - 1)
    book.close()
    return buffer.getvalue()
