"""The back-tests and the XYZ report as files (``/abc/backtest.csv|.xlsx``, ``/xyz/backtest.csv|.xlsx``,
``/xyz.csv|.xlsx``) on the embedded adapters: the figures of the JSON answers, one row per run (per
customer, every page, for the report), exact numbers in the workbook, headings in English and
Bulgarian, the caller's scope, 422 naming the field; and ``without_rate`` on the back-tests' JSON.
The workbook is read with zipfile and its XML (``test_exports``' helpers)."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element

import httpx
import pytest
from fastapi import FastAPI

from crm_analytics.bootstrap import AnalyticsService
from crm_shared.identity import CALLER_HEADER, caller_of

from .test_crm_events import registered
from .test_exports import number_of, shared_strings, sheet_cells, text_of
from .test_xyz_http import FACTS, TOKENS, client, codes

API = "/api/v1/analytics"
ROWS = [
    {"id": f"S-{n}", "date": day, "customer": code, "quantity": "1", "revenue": revenue, **extra}
    for n, (code, day, revenue, extra) in enumerate(
        [
            ("K1", "2026-01-05", "100.00", {}),
            ("K1", "2026-02-05", "100.00", {}),
            ("K2", "2026-01-07", "50.00", {}),
            ("K2", "2026-02-07", "250.00", {}),
            ("K3", "2026-02-09", "20.00", {}),
            ("K2", "2026-02-20", "30.00", {"currency": "USD"}),  # no USD rate: left out, listed
        ]
    )
]
ABC = {"to": "2026-02-15", "periods": "2"}
XYZ = {"to": "2026-02-15", "runs": "2", "periods": "2"}
REPORT = {"to": "2026-02-28", "periods": "2"}
STANDINGS = ("potential", "one-time", "X", "Y", "Z", "lost")


def csv_rows(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


def workbook_rows(answer: httpx.Response) -> tuple[list[dict[str, Element]], list[str]]:
    """The first sheet's rows, each its cells by heading (a cell left empty is absent), and the
    workbook's strings."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = zipfile.ZipFile(io.BytesIO(answer.content))
    strings = shared_strings(book)
    cells = sheet_cells(book, "xl/worksheets/sheet1.xml")
    columns = sorted({ref.rstrip("0123456789") for ref in cells}, key=lambda c: (len(c), c))
    header = [text_of(cells[f"{c}1"], strings) for c in columns]
    lines = sorted({int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) for ref in cells} - {1})
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert 'state="frozen"' in sheet and "<autoFilter" in sheet
    rows = [{h: cells[f"{c}{n}"] for c, h in zip(columns, header, strict=True) if f"{c}{n}" in cells} for n in lines]
    return rows, strings


def text(value: str | None) -> str:
    return "" if value is None else value


def abc_expected(item: dict[str, Any]) -> dict[str, str]:
    """A period of the JSON answer as the CSV's row."""
    row = {"from": item["from"], "to": item["to"], "as_of": text(item["as_of"])}
    for c in "ABC":
        row[f"customers_{c}"] = str(item["classes"][c]["customers"])
        row[f"value_{c}"] = item["classes"][c]["value"]
    row["kept_share"] = text(item["kept_share"])
    for p in (*"ABC", "new"):
        row[f"next_share_{p}"] = "" if item["next_share"] is None else text(item["next_share"][p])
    moved = {(m["previous"], m["class"]): m["customers"] for m in item["movement"] or []}
    for p in (*"ABC", "new"):
        for c in "ABC":
            row[f"moved_{p}_to_{c}"] = str(moved[(p, c)]) if item["movement"] else ""
    return row


def xyz_expected(item: dict[str, Any]) -> dict[str, str]:
    """A run of the JSON answer as the CSV's row."""
    row = {"to": item["to"], "from": item["from"], "as_of": text(item["as_of"]), "customers": str(item["customers"])}
    row |= {s: str(n) for s, n in item["stages"].items()} | {c: str(n) for c, n in item["classes"].items()}
    row |= {f"value_{s}": item["values"][s] for s in STANDINGS}
    row["kept_share"] = text(item["kept_share"])
    for p in (*STANDINGS, "new"):
        row[f"next_share_{p}"] = "" if item["next_share"] is None else text(item["next_share"][p])
    moved = {(m["previous"], m["current"]): m["customers"] for m in item["movement"] or []}
    for p in (*STANDINGS, "new"):
        for c in STANDINGS:
            row[f"moved_{p}_to_{c}"] = str(moved[(p, c)]) if item["movement"] else ""
    return row


async def test_the_back_tests_files_hold_the_json_figures_and_the_json_lists_the_facts_without_a_rate(
    app: FastAPI,
) -> None:
    async with client(app) as http:
        assert (await http.post(FACTS, json={"facts": ROWS})).status_code == 200
        abc = (await http.get(f"{API}/abc/backtest", params=ABC)).json()
        xyz = (await http.get(f"{API}/xyz/backtest", params=XYZ)).json()
        usd = [{"currency": "USD", "facts": 1, "earliest": "2026-02-20"}]
        assert abc["without_rate"] == usd and xyz["without_rate"] == usd
        counted = (await http.get(f"{API}/xyz/backtest", params={**XYZ, "by": "sales"})).json()
        assert counted["without_rate"] == []  # a count needs no rate

        abc_csv = csv_rows(await http.get(f"{API}/abc/backtest.csv", params=ABC))
        assert abc_csv == [abc_expected(item) for item in abc["items"]]
        assert abc_csv[0]["value_A"] == "150.00" and abc_csv[0]["next_share_new"] == "5.41"
        xyz_csv = csv_rows(await http.get(f"{API}/xyz/backtest.csv", params=XYZ))
        assert xyz_csv == [xyz_expected(item) for item in xyz["items"]]
        assert xyz_csv[0]["next_share_one-time"] == "96.15" and xyz_csv[1]["moved_one-time_to_X"] == "1"

        answer = await http.get(f"{API}/abc/backtest.xlsx", params={**ABC, "lang": "en"})
        assert 'filename="abc-backtest-2026-02-15-month-2-revenue.xlsx"' in answer.headers["content-disposition"]
        rows, strings = workbook_rows(answer)
        assert len(rows) == 2
        for row, item in zip(rows, abc["items"], strict=True):
            assert text_of(row["From"], strings) == item["from"]
            assert "As known at" not in row
            assert number_of(row["Customers A"]) == item["classes"]["A"]["customers"]
            assert number_of(row["Value A"]) == Decimal(item["classes"]["A"]["value"])
        assert number_of(rows[0]["Next value from New, %"]) == Decimal("5.41")
        assert "Kept, %" not in rows[0] and "Next value from A, %" not in rows[1]
        assert number_of(rows[1]["New → C"]) == 1

        answer = await http.get(f"{API}/xyz/backtest.xlsx", params={**XYZ, "lang": "bg"})
        rows, _ = workbook_rows(answer)
        assert [number_of(row["Клиенти"]) for row in rows] == [run["customers"] for run in xyz["items"]]
        assert number_of(rows[0]["Стойност Еднократен"]) == Decimal("150.00")
        assert number_of(rows[0]["Следваща стойност от Еднократен, %"]) == Decimal("96.15")
        assert number_of(rows[1]["Еднократен → X"]) == 1


async def test_the_xyz_report_files_hold_every_customer_of_every_page(app: FastAPI) -> None:
    async with client(app) as http:
        assert (await http.post(FACTS, json={"facts": ROWS})).status_code == 200
        pages: list[dict[str, Any]] = []
        cursor: dict[str, str] = {}
        while True:
            page = (await http.get(f"{API}/xyz", params={**REPORT, "limit": "1", **cursor})).json()
            pages += page["rows"]
            if page["next_cursor"] is None:
                break
            cursor = {"cursor": page["next_cursor"]}
        assert len(pages) == 3
        found = csv_rows(await http.get(f"{API}/xyz.csv", params=REPORT))
        assert found == [
            {
                "customer": r["customer"],
                "counterparty_id": text(r["counterparty_id"]),
                "stage": r["stage"],
                "class": text(r["class"]),
                "coefficient": text(r["coefficient"]),
                "mean": text(r["mean"]),
                "total": r["total"],
                "values": str(r["values"]),
                "active_periods": str(r["active_periods"]),
            }
            for r in pages
        ]
        answer = await http.get(f"{API}/xyz.xlsx", params={**REPORT, "lang": "en"})
        assert 'filename="xyz-2026-02-28-month-2-revenue.xlsx"' in answer.headers["content-disposition"]
        rows, strings = workbook_rows(answer)
        assert [text_of(row["Customer code"], strings) for row in rows] == [r["customer"] for r in pages]
        for row, r in zip(rows, pages, strict=True):
            assert number_of(row["Total"]) == Decimal(r["total"])
            assert ("Mean" in row) == (r["mean"] is not None)
            if r["mean"] is not None:
                assert number_of(row["Mean"]) == Decimal(r["mean"])
        # As of a moment before any fact was received: no customer.
        before = csv_rows(await http.get(f"{API}/xyz.csv", params={**REPORT, "as_of": "2026-01-01T00:00:00Z"}))
        assert before == []


async def test_a_sales_manager_s_files_hold_only_their_customers(app: FastAPI, service: AnalyticsService) -> None:
    async with client(app) as http:
        assert (await http.post(FACTS, json={"facts": ROWS})).status_code == 200
    await service.events.handle([registered("cp-1", "ana", group="general"), codes(2, "cp-1", "K1")])
    await service.events.handle([registered("cp-2", "ana", group="south"), codes(3, "cp-2", "K2")])
    async with client(app, "sales_manager") as http:  # of the general group: K1 only
        report = csv_rows(await http.get(f"{API}/xyz.csv", params=REPORT))
        assert [(r["customer"], r["counterparty_id"]) for r in report] == [("K1", "cp-1")]
        xyz = csv_rows(await http.get(f"{API}/xyz/backtest.csv", params=XYZ))
        assert [r["customers"] for r in xyz] == ["1", "1"]
        assert xyz[0]["value_one-time"] == "100.00"
        mine = (await http.get(f"{API}/abc/backtest", params=ABC)).json()
        abc = csv_rows(await http.get(f"{API}/abc/backtest.csv", params=ABC))
        assert abc == [abc_expected(item) for item in mine["items"]]
        assert [sum(int(r[f"customers_{c}"]) for c in "ABC") for r in abc] == [1, 1]
        assert abc[1]["value_A"] == "100.00"
        rows, _ = workbook_rows(await http.get(f"{API}/xyz.xlsx", params=REPORT))
        assert len(rows) == 1


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/abc/backtest", {**ABC, "periods": "1"}, "periods"),
        ("/abc/backtest", {**ABC, "shares": "50/50/50"}, "shares"),
        ("/abc/backtest", {"periods": "2"}, "to"),
        ("/xyz/backtest", {**XYZ, "runs": "40"}, "runs"),
        ("/xyz/backtest", {**XYZ, "x": "30"}, "y"),
        ("/xyz", {**REPORT, "by": "margin"}, "by"),
        ("/xyz", {**REPORT, "as_of": "yesterday"}, "as_of"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field_and_a_caller_with_no_role_403(
    app: FastAPI, suffix: str, path: str, params: dict[str, str], field: str
) -> None:
    async with client(app) as http:
        answer = await http.get(f"{API}{path}.{suffix}", params=params)
    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]], answer.text
    token = TOKENS.issue(caller_of("nobody", [], []))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    ) as nobody:
        good = {"to": "2026-02-15"}
        assert (await nobody.get(f"{API}{path}.{suffix}", params=good)).status_code == 403
