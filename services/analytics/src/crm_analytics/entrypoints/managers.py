"""``GET /api/v1/analytics/managers`` (and ``.csv``, ``.xlsx``) and ``/managers/{manager}/customers``:
the sales-manager comparison — see ``application.managers`` for the rule of every indicator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field, create_model

from crm_analytics.application.managers import (
    INDICATORS,
    NO_MANAGER,
    Credit,
    ManagerRow,
    ManagersQuery,
    ManagersReport,
    ManagersResult,
)
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.attribution import checked_period
from crm_analytics.entrypoints.attribution import From, To
from crm_analytics.entrypoints.exports import XLSX, new_workbook, number
from crm_analytics.entrypoints.reports import CSV_RESPONSE, AsOf, csv_response
from crm_shared.http import Cursor, HttpProblem, caller_dependency
from crm_shared.identity import Caller, CallerTokens
from crm_shared.readstore.cursor import BadCursor, decode_cursor, encode_cursor

NO_MANAGER_PATH = "-"
"""The ``{manager}`` of the drill-down for the row of no manager."""
SortKey = Literal[("manager", *INDICATORS)]  # type: ignore[valid-type]

DESCRIPTIONS: dict[str, str] = {
    "manager": "The manager's user id ('' = no manager: customers no counterparty carries, counterparties without one)",
    "revenue": "Σ sign × revenue of the facts dated in the period, in the reporting currency (returns subtract)",
    "cost": "Σ sign × cost of those facts",
    "discounts": "Σ sign × discount granted on those facts (the ERP's `discount` of each line, 0 when none)",
    "deals": "Distinct (customer code, date) with a sale in the period",
    "first_deals": "Deals on the customer's first sale day ever (as known as of)",
    "clients": "Customers with a deal",
    "deals_per_client": "deals / clients, 2 decimals; null without deals",
    "revenue_per_deal": "revenue / deals, 2 decimals; null without deals",
    "counterparties": "The manager's counterparties not archived (at `to` when crediting at the time; else today's)",
    "contact_completeness": "% of those with a phone, an e-mail and an address, 2 decimals; null without any",
    "orders_issued": "Orders issued in the period",
    "orders_amount": "Σ amount of those orders (reporting currency at the issue day's rate)",
    "orders_paid": "Of those, paid in full by `to` (payments naming the order, in its currency)",
    "orders_unpaid": "Of those, nothing paid by `to`",
    "orders_partly_paid": "Of those, partly paid by `to`",
    "receivables": "Σ outstanding (amount − paid, ≥ 0) at `to` of every order issued up to `to`",
    "debtors": "Customers with an outstanding order",
    "average_debt_age": "Mean days from the issue date to `to` over outstanding orders, 1 decimal",
    "overdue": "Σ outstanding of the orders due before `to`",
    "overdue_debtors": "Customers with an overdue order",
    "average_days_overdue": "Mean days from the due date to `to` over overdue orders, 1 decimal",
    "max_days_overdue": "The most days overdue; null without overdue orders",
    "advances": "Σ payments up to `to` not netted against an order (no order, unknown order, other currency)",
    "interactions": "Interactions completed with an end in the period, by their responsible user",
    "interaction_minutes": "Their total duration (start to end) in minutes, 2 decimals",
    "average_interaction_minutes": "Their mean duration in minutes, 2 decimals",
    "without_rate": "Facts, orders and payments left out of the amounts for lack of a rate",
}
_TYPES: dict[type, Any] = {Decimal: str, int: int}


def _field(name: str, kind: Any) -> tuple[Any, Any]:
    text = DESCRIPTIONS[name]
    if kind in (Decimal, Decimal | None):
        return (str | None if kind != Decimal else str), Field(description="Decimal text: " + text)
    return kind, Field(description=text)


ManagerRowOut: type[BaseModel] = create_model(
    "ManagerRowOut",
    __doc__="What one manager is credited with.",
    **{name: _field(name, kind) for name, kind in ManagerRow.__annotations__.items()},  # type: ignore[call-overload]
)


def _out(row: Any) -> dict[str, Any]:
    return {k: format(v, "f") if isinstance(v, Decimal) else v for k, v in asdict(row).items()}


class ManagersOut(BaseModel):
    """The comparison: one row per manager, and every row summed."""

    start: date = Field(serialization_alias="from")
    to: date
    credit: Credit
    as_of: datetime
    currency: str = Field(description="The reporting currency of the amounts")
    sort: str
    order: Literal["asc", "desc"]
    total: ManagerRowOut = Field(  # type: ignore[valid-type]
        description="Every row summed (manager '*'); customers credited to two managers count twice in it"
    )
    rows: list[ManagerRowOut]  # type: ignore[valid-type]


class CustomerRowOut(BaseModel):
    """What is credited to the manager for one customer code."""

    customer: str = Field(description="The ERP's customer code")
    counterparty_id: str | None = Field(description="The counterparty carrying the code; null when none does")
    revenue: str = Field(description="Decimal text: " + DESCRIPTIONS["revenue"])
    cost: str = Field(description="Decimal text: " + DESCRIPTIONS["cost"])
    discounts: str = Field(description="Decimal text: " + DESCRIPTIONS["discounts"])
    deals: int
    first_deals: int
    orders_issued: int
    receivables: str = Field(description="Decimal text: " + DESCRIPTIONS["receivables"])
    overdue: str = Field(description="Decimal text: " + DESCRIPTIONS["overdue"])
    advances: str = Field(description="Decimal text: " + DESCRIPTIONS["advances"])


class CustomersOut(BaseModel):
    """A page of the customers credited to a manager, by revenue (greatest first, ties by code)."""

    manager: str
    rows: list[CustomerRowOut]
    next_cursor: str | None


CreditParam = Annotated[
    Credit,
    Query(description="at_the_time: to the customer's main manager on each fact's date; current: today's (1C)"),
]


Sort = Annotated[SortKey, Query(description="The indicator (or manager) the rows are ordered by")]
Order = Annotated[Literal["asc", "desc"], Query(description="Ascending or descending (nulls lowest)")]


def managers_parameters() -> Callable[..., ManagersQuery]:
    """The report's query parameters as a dependency (the report, its files and the drill-down)."""

    def asked_of(start: From, end: To, credit: CreditParam = "at_the_time", as_of: AsOf = None) -> ManagersQuery:
        return ManagersQuery(checked_period(start, end), credit, as_of)

    return asked_of


def _headings(language: str) -> dict[str, str]:
    if language == "en":
        return {name: name.replace("_", " ").capitalize() for name in ("manager", *INDICATORS)}
    return {
        "manager": "Мениджър",
        "revenue": "Приходи",
        "cost": "Себестойност",
        "discounts": "Отстъпки",
        "deals": "Сделки",
        "first_deals": "Първи сделки",
        "clients": "Клиенти",
        "deals_per_client": "Сделки на клиент",
        "revenue_per_deal": "Приходи на сделка",
        "counterparties": "Контрагенти",
        "contact_completeness": "Пълнота на контактите, %",
        "orders_issued": "Издадени поръчки",
        "orders_amount": "Сума на поръчките",
        "orders_paid": "Платени",
        "orders_unpaid": "Неплатени",
        "orders_partly_paid": "Частично платени",
        "receivables": "Вземания",
        "debtors": "Длъжници",
        "average_debt_age": "Средна възраст на дълга, дни",
        "overdue": "Просрочени",
        "overdue_debtors": "Длъжници с просрочие",
        "average_days_overdue": "Средно дни просрочие",
        "max_days_overdue": "Най-много дни просрочие",
        "advances": "Аванси",
        "interactions": "Завършени събития",
        "interaction_minutes": "Продължителност, мин",
        "average_interaction_minutes": "Средна продължителност, мин",
        "without_rate": "Без курс",
    }


def workbook(rows: list[ManagerRow], language: str) -> bytes:
    """The rows as a sheet: a header row (frozen, with a filter), amounts as exact numeric cells."""
    book, buffer = new_workbook()
    bold = book.add_format({"bold": True, "bottom": 1})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet = book.add_worksheet("Managers" if language == "en" else "Мениджъри")
    names = ("manager", *INDICATORS)
    text = _headings(language)
    for col, name in enumerate(names):
        sheet.write_string(0, col, text[name], bold)
        sheet.set_column(col, col, 18)
    for index, row in enumerate(rows, start=1):
        for col, name in enumerate(names):
            value = getattr(row, name)
            if isinstance(value, str):
                sheet.write_string(index, col, value)
            else:
                number(sheet, index, col, None if value is None else Decimal(value), money)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), len(names) - 1)
    book.close()
    return buffer.getvalue()


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The comparison's routes; every route needs a verified caller."""
    router = APIRouter(prefix="/api/v1/analytics", tags=["analytics: reports"])
    authenticated = caller_dependency(tokens)
    report = ManagersReport(service.analytics, tz=getattr(service.settings, "time_zone", "UTC"))
    parameters = Depends(managers_parameters())

    async def compared(caller: Caller, asked: ManagersQuery, sort: str, order: str) -> ManagersResult:
        return await report.compare(caller, asked, sort=sort, descending=order == "desc")

    @router.get("/managers", response_model=ManagersOut, response_model_by_alias=True)
    async def managers(
        asked: ManagersQuery = parameters,
        sort: Sort = "revenue",
        order: Order = "desc",
        caller: Caller = authenticated,
    ) -> ManagersOut:
        """The sales-manager comparison (1C's indicators): one row per manager credited with something in
        the period, the row of no manager ('') included. Each indicator's rule is in its field's
        description (discounts: the facts' optional `discount`). Administrators, heads of sales and
        marketers read every row; sales managers and read-only users only what concerns their access
        groups' counterparties; 403 for others."""
        result = await compared(caller, asked, sort, order)
        return ManagersOut(
            start=asked.period.start,
            to=asked.period.end,
            credit=asked.credit,
            as_of=result.as_of,
            currency=service.settings.reporting_currency,
            sort=sort,
            order=order,
            total=ManagerRowOut(**_out(result.total)),
            rows=[ManagerRowOut(**_out(r)) for r in result.rows],
        )

    @router.get("/managers.csv", response_class=Response, responses=CSV_RESPONSE)
    async def managers_csv(
        asked: ManagersQuery = parameters,
        sort: Sort = "revenue",
        order: Order = "desc",
        caller: Caller = authenticated,
    ) -> Response:
        """The comparison as CSV (UTF-8 with a byte order mark): ``manager`` and every indicator of the
        JSON rows, amounts as decimal text, empty for null; the parameters of ``GET /managers``."""
        result = await compared(caller, asked, sort, order)
        names = ("manager", *INDICATORS)
        lines = [tuple(_out(r)[name] for name in names) for r in result.rows]
        return csv_response(lines, names, f"managers-{asked.period.start}-{asked.period.end}.csv")

    @router.get(
        "/managers.xlsx",
        response_class=Response,
        responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
    )
    async def managers_xlsx(
        asked: ManagersQuery = parameters,
        sort: Sort = "revenue",
        order: Order = "desc",
        lang: Annotated[Literal["bg", "en"], Query(description="The language of the headings")] = "en",
        caller: Caller = authenticated,
    ) -> Response:
        """The comparison as an Excel workbook: a header row (frozen, with a filter) and one row per
        manager, amounts as exact numeric cells; the parameters of ``GET /managers``."""
        result = await compared(caller, asked, sort, order)
        body = await asyncio.to_thread(workbook, result.rows, lang)
        disposition = f'attachment; filename="managers-{asked.period.start}-{asked.period.end}.xlsx"'
        return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})

    @router.get("/managers/{manager}/customers", response_model=CustomersOut)
    async def manager_customers(
        manager: Annotated[
            str, Path(min_length=1, max_length=200, description="The manager's user id; '-' for no manager")
        ],
        asked: ManagersQuery = parameters,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Cursor = None,
        caller: Caller = authenticated,
    ) -> CustomersOut:
        """The customers credited to a manager in the comparison (same parameters), by revenue, greatest
        first (ties by code), a page at a time: revenue, cost, discounts, deals, orders, receivables,
        overdue and advances of each. Access as ``GET /managers``."""
        try:
            after = decode_cursor(cursor)
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        who = NO_MANAGER if manager == NO_MANAGER_PATH else manager
        if after is not None and not (isinstance(after[0], int) and after[0] >= 0 and after[1] == who):
            raise HttpProblem(400, "Bad cursor", "cursor is not one this API returned", "cursor")
        offset = 0 if after is None else after[0]
        rows, more = await report.customers(caller, asked, who, offset=offset, limit=limit)
        return CustomersOut(
            manager=who,
            rows=[CustomerRowOut(**_out(r)) for r in rows],
            next_cursor=encode_cursor((offset + len(rows), who)) if more else None,
        )

    return router
