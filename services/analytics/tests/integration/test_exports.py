"""The ABC classification as files (``/api/v1/analytics/abc.xlsx`` and ``/abc.csv``) on the embedded
adapters: every row, amounts exact (numeric cells with a number format in the workbook, decimal text in
the CSV), a frozen header row, the parameters and roles of the JSON report. The workbook is read with
zipfile and its XML, as a spreadsheet program would (no Excel library needed to check it)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from fastapi import FastAPI

from crm_analytics import bootstrap
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.entrypoints.api import build_router
from crm_analytics.entrypoints.exports import exact_number
from crm_shared.http import install
from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of
from crm_shared.settings import KernelSettings

TOKENS = CallerTokens(b"0123456789abcdef0123456789abcdef")
PERIOD = {"from": "2026-01-01", "to": "2026-03-31"}
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    wired: AnalyticsService = await bootstrap.build(KernelSettings(data_dir=tmp_path))
    app = FastAPI()
    install(app)
    app.include_router(build_router(wired, TOKENS))
    try:
        yield app
    finally:
        await wired.close()


def client(app: FastAPI, role: str = "marketer") -> httpx.AsyncClient:
    token = TOKENS.issue(caller_of("ana", [role], ["general"]))  # type: ignore[list-item]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    )


def sale(n: int, customer: str, revenue: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"X-{n}", "date": "2026-02-10", "customer": customer, "quantity": "1", "revenue": revenue, **extra}


FACTS = [
    sale(1, "BIG", "1234567.89"),
    sale(2, "MID", "300000.10"),
    sale(3, "SMALL", "0.01"),
    sale(4, "SMALL", "0.02"),
    sale(5, "GONE", "10.00", date="2025-06-01"),  # known before the period, no sales in it: C with 0
]


async def record(app: FastAPI) -> None:
    async with client(app, "administrator") as http:
        answer = await http.post("/api/v1/analytics/trade-facts", json={"facts": FACTS})
        assert answer.status_code == 200, answer.text


def sheet_cells(book: zipfile.ZipFile, name: str) -> dict[str, ElementTree.Element]:
    root = ElementTree.fromstring(book.read(name))
    return {cell.attrib["r"]: cell for cell in root.iter(f"{{{NS['m']}}}c")}


def shared_strings(book: zipfile.ZipFile) -> list[str]:
    root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root.findall("m:si", NS)]


def text_of(cell: ElementTree.Element, strings: list[str]) -> str:
    assert cell.attrib.get("t") == "s", cell.attrib
    value = cell.find("m:v", NS)
    assert value is not None and value.text is not None
    return strings[int(value.text)]


def number_of(cell: ElementTree.Element) -> Decimal:
    assert cell.attrib.get("t") in (None, "n"), f"{cell.attrib['r']} is not a number: {cell.attrib}"
    value = cell.find("m:v", NS)
    assert value is not None and value.text is not None
    return Decimal(value.text)


def number_format_of(book: zipfile.ZipFile, cell: ElementTree.Element) -> str:
    styles = ElementTree.fromstring(book.read("xl/styles.xml"))
    formats = {f.attrib["numFmtId"]: f.attrib["formatCode"] for f in styles.iter(f"{{{NS['m']}}}numFmt")}
    xfs = styles.find("m:cellXfs", NS)
    assert xfs is not None
    xf = xfs.findall("m:xf", NS)[int(cell.attrib.get("s", "0"))]
    return formats.get(xf.attrib["numFmtId"], f"builtin {xf.attrib['numFmtId']}")


async def test_the_workbook_holds_every_row_with_exact_numbers_and_a_frozen_header(app: FastAPI) -> None:
    await record(app)
    async with client(app) as http:
        answer = await http.get("/api/v1/analytics/abc.xlsx", params={**PERIOD, "lang": "en"})
        json_rows = (await http.get("/api/v1/analytics/abc", params=PERIOD)).json()["rows"]
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert answer.headers["content-disposition"] == 'attachment; filename="abc-2026-01-01-2026-03-31-revenue.xlsx"'
    book = zipfile.ZipFile(io.BytesIO(answer.content))
    strings = shared_strings(book)
    cells = sheet_cells(book, "xl/worksheets/sheet1.xml")
    header = [text_of(cells[f"{col}1"], strings) for col in "ABCDEFGH"]
    assert header == [
        "Place",
        "Customer code",
        "Counterparty id",
        "Value",
        "Share, %",
        "Cumulative value",
        "Cumulative share, %",
        "Class",
    ]
    # One row per customer in place order, as the JSON report has them: numbers as numbers.
    assert len(json_rows) == 4
    for line, row in enumerate(json_rows, start=2):
        assert number_of(cells[f"A{line}"]) == row["place"]
        assert text_of(cells[f"B{line}"], strings) == row["customer"]
        assert f"C{line}" not in cells  # not linked to a counterparty: left empty
        assert number_of(cells[f"D{line}"]) == Decimal(row["value"])
        assert number_of(cells[f"F{line}"]) == Decimal(row["cumulative_value"])
        assert number_of(cells[f"G{line}"]) == Decimal(row["cumulative_share"])
        assert text_of(cells[f"H{line}"], strings) == row["class"]
    assert number_of(cells["D2"]) == Decimal("1234567.89")  # the digits of the decimal, not a float's tail
    assert re.search(r"<v>1234567\.89</v>", book.read("xl/worksheets/sheet1.xml").decode())
    assert number_of(cells["D4"]) == Decimal("0.03")
    assert number_of(cells["D5"]) == 0  # GONE: no sales in the period
    total = Decimal("1534568.02")
    assert number_of(cells["E2"]) == (Decimal("1234567.89") * 100 / total).quantize(Decimal("0.0001"))
    assert number_format_of(book, cells["D2"]) == "#,##0.00"
    assert number_format_of(book, cells["G2"]) == "0.0000"
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' in sheet
    assert '<autoFilter ref="A1:H5"/>' in sheet
    # The second sheet: the parameters and the summary per class.
    summary = sheet_cells(book, "xl/worksheets/sheet2.xml")
    labels = {text_of(summary[f"A{n}"], strings): summary[f"B{n}"] for n in range(1, 14)}
    assert text_of(labels["Shares A/B/C, %"], strings) == "70/20/10"
    assert number_of(labels["Total"]) == total
    assert number_of(labels["Customers"]) == 4
    assert number_of(labels["Customers of class A"]) == 1


async def test_the_workbook_speaks_bulgarian_and_follows_the_parameters(app: FastAPI) -> None:
    await record(app)
    async with client(app, "head_of_sales") as http:
        answer = await http.get(
            "/api/v1/analytics/abc.xlsx", params={**PERIOD, "lang": "bg", "by": "profit", "shares": "50/30/20"}
        )
    assert answer.status_code == 200, answer.text
    assert "abc-2026-01-01-2026-03-31-profit.xlsx" in answer.headers["content-disposition"]
    book = zipfile.ZipFile(io.BytesIO(answer.content))
    strings = shared_strings(book)
    cells = sheet_cells(book, "xl/worksheets/sheet1.xml")
    assert text_of(cells["A1"], strings) == "Място"
    assert "брутна печалба" in strings and "50/30/20" in strings


async def test_the_csv_has_every_row_as_decimal_text(app: FastAPI) -> None:
    await record(app)
    async with client(app) as http:
        answer = await http.get("/api/v1/analytics/abc.csv", params=PERIOD)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "place",
        "customer",
        "counterparty_id",
        "value",
        "share",
        "cumulative_value",
        "cumulative_share",
        "class",
    ]
    assert rows[1] == ["1", "BIG", "", "1234567.89", "80.4505", "1534568.02", "100.0000", "A"]
    assert [row[1] for row in rows[1:]] == ["BIG", "MID", "SMALL", "GONE"]
    assert rows[4][3:] == ["0.00", "0.0000", "0.00", "0.0000", "C"]


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
async def test_parameters_and_access_are_those_of_the_report(app: FastAPI, suffix: str) -> None:
    path = f"/api/v1/analytics/abc.{suffix}"
    async with client(app) as http:
        bad = await http.get(path, params={**PERIOD, "shares": "70/20/20"})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "shares"
        backwards = await http.get(path, params={"from": "2026-03-01", "to": "2026-01-01"})
        assert backwards.status_code == 422
        assert backwards.json()["errors"][0]["field"] == "to"
        empty = await http.get(path, params=PERIOD)
        assert empty.status_code == 200
    for role in ("sales_manager", "read_only"):  # their groups' rows (here none: no customer is linked)
        async with client(app, role) as http:
            assert (await http.get(path, params=PERIOD)).status_code == 200
    token = TOKENS.issue(caller_of("nobody", [], []))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    ) as nobody:
        assert (await nobody.get(path, params=PERIOD)).status_code == 403
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://crm") as anonymous:
        assert (await anonymous.get(path, params=PERIOD)).status_code == 401


def test_a_value_a_double_cannot_hold_is_not_rounded_silently() -> None:
    assert exact_number(Decimal("9999999999999.99")) == Decimal("9999999999999.99")  # 15 digits: exact
    assert exact_number(Decimal("1234567890123456.78")) is None  # 18 digits: written as text


async def test_the_workbook_lists_the_facts_without_a_rate(app: FastAPI) -> None:
    await record(app)
    foreign = [
        sale(10, "MID", "50.00", currency="USD", date="2026-02-03"),
        sale(11, "SMALL", "60.00", currency="USD", date="2026-01-20"),
        sale(12, "SMALL", "70.00", currency="GBP", date="2026-03-01"),
    ]
    async with client(app, "administrator") as http:
        assert (await http.post("/api/v1/analytics/trade-facts", json={"facts": foreign})).status_code == 200
        for lang, label, value in (
            ("en", "Without a rate, {c} (left out)", "{n} facts from {d}"),
            ("bg", "Без курс, {c} (не са включени)", "{n} факта от {d}"),
        ):
            answer = await http.get("/api/v1/analytics/abc.xlsx", params={**PERIOD, "lang": lang})
            assert answer.status_code == 200, answer.text
            book = zipfile.ZipFile(io.BytesIO(answer.content))
            strings = shared_strings(book)
            summary = sheet_cells(book, "xl/worksheets/sheet2.xml")
            rows = {
                text_of(summary[f"A{n}"], strings): text_of(summary[f"B{n}"], strings)
                for n in range(1, 20)
                if f"B{n}" in summary and summary[f"B{n}"].attrib.get("t") == "s"
            }
            assert rows[label.format(c="GBP")] == value.format(n=1, d="2026-03-01")
            assert rows[label.format(c="USD")] == value.format(n=2, d="2026-01-20")
            # Left out of the sums: the total is the EUR facts' alone.
            labels = {text_of(summary[f"A{n}"], strings): summary[f"B{n}"] for n in range(1, 14)}
            assert number_of(labels["Total" if lang == "en" else "Общо"]) == Decimal("1534568.02")
