"""The CSV import's two ways of reading trade facts agree: by column (``facts_columns``, a well-formed
file) and row by row (``facts_import._Reader``, any file) take the same facts and reject the same rows
at the same lines for the same reasons, on generated files full of edge cases."""

from __future__ import annotations

import csv
import io
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from crm_analytics.application.facts_columns import OTHER_SPACE, Columns
from crm_analytics.application.facts_import import _check_utf8, _Reader
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.records import TRADE_FACTS
from crm_shared.jobs import Rejection

from .test_http import client, finished

CURRENCY = "EUR"
VALUES: dict[str, list[str]] = {
    "id": ["S-{n}", "S-{n}", "S-{n}", " S-{n} ", "S {n}", "", "S-\xa0{n}", "\xa0S-{n}", "x" * 101, "x" * 100, "S-1"],
    "date": [
        "2026-01-05",
        "2024-02-29",
        "2023-02-29",
        "2026-02-30",
        "05.01.2026",
        "",
        "2148-12-31",
        "2149-01-01",
        "1970-01-01",
        "1969-12-31",
        "2026-1-5",
        " 2026-03-01",
    ],
    "customer": [
        "C{c}",
        "C{c}",
        "Фирма «Ромашка»",
        "",
        "C\u3000",
        "C\x85",
        "c" * 64,
        "c" * 65,
        'A "quoted" one',
        "a;b,c",
        "C\u2028",
    ],
    "quantity": ["1", "2.5", "0.125", "0.1234", "-1", "1e3", "", "999999999999999.999", "1000000000000000", "1,5"],
    "revenue": ["100.00", "12.5", "0", "12,50", "1.234", "", "9999999999999999.99", "-5", " 7.00 "],
    "kind": ["", "sale", "return", "Sale", "refund", " return"],
    "item": ["", "Item {c}", "i" * 200, "i" * 201, "\x01bad", "\u2003"],
    "division": ["", "North", " South"],
    "manager": ["", "M{c}", "M\xa0"],
    "revenue_without_vat": ["", "80.00", "x"],
    "cost": ["", "60.00", "1.001"],
    "currency": ["", "EUR", "USD", "usd", "EURO"],
    "discount": ["", "0", "5.50", "-1"],
}
COLUMNS = list(VALUES)


def _cell(chance: random.Random, column: str) -> str:
    """Mostly the column's first value (a good one), else any of them."""
    return VALUES[column][0] if chance.random() < 0.9 else chance.choice(VALUES[column])


def _file(tmp_path: Path, seed: int, delimiter: str, rows: int, *, breaks: bool = True) -> Path:
    chance = random.Random(seed)
    columns = chance.sample(COLUMNS[5:], k=chance.randint(0, len(COLUMNS) - 5))
    header = [*COLUMNS[:5], *columns]
    chance.shuffle(header)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=chance.choice(["\n", "\r\n"]))
    writer.writerow([name.upper() if chance.random() < 0.3 else name for name in header])
    for n in range(rows):
        roll = chance.random()
        if roll < 0.01:
            out.write("\n")
            continue
        if roll < 0.02:
            writer.writerow([""] * len(header))
            continue
        cells = [_cell(chance, name).format(n=n, c=n % 17) for name in header]
        if roll < 0.03 and breaks:
            cells[0] = f"broken\nacross{delimiter} lines"
        writer.writerow(cells)
    path = tmp_path / f"facts-{seed}.csv"
    path.write_text(("\ufeff" if seed % 2 else "") + out.getvalue(), encoding="utf-8", newline="")
    return path


def _row_by_row(path: Path) -> tuple[list[dict[str, Any]], list[Rejection], int]:
    facts: list[dict[str, Any]] = []
    rejected: list[Rejection] = []
    rows = 0
    with path.open(encoding="utf-8-sig", newline="") as text:
        reader = _Reader(text, TRADE_FACTS, CURRENCY, 37)
        while (batch := reader.batch()) is not None:
            facts.extend({c: getattr(f, c) for c in TRADE_FACTS.columns} for f in batch.records)
            rejected.extend(batch.rejected)
            rows += batch.rows
    return facts, rejected, rows


def _by_column(path: Path, block_size: int) -> tuple[list[dict[str, Any]], list[Rejection], int]:
    with path.open(encoding="utf-8-sig", newline="") as text:
        reader = _Reader(text, TRADE_FACTS, CURRENCY, 37)
    columns = Columns(path, reader.delimiter, reader.columns, CURRENCY, lines=_check_utf8(path), block_size=block_size)
    assert columns.regular()
    facts: list[dict[str, Any]] = []
    rejected: list[Rejection] = []
    rows = 0
    for checked in columns.batches(50):
        facts.extend(checked.facts.to_pylist())
        rejected.extend(checked.rejected)
        rows += checked.rows
    return facts, rejected, rows


@pytest.mark.parametrize("seed", range(8))
def test_both_ways_take_the_same_facts_and_reject_the_same_rows(tmp_path: Path, seed: int) -> None:
    path = _file(tmp_path, seed, [",", ";", "\t"][seed % 3], 600, breaks=seed % 4 != 0)
    expected_facts, expected_rejected, expected_rows = _row_by_row(path)
    facts, rejected, rows = _by_column(path, block_size=[1 << 22, 4096][seed % 2])
    assert rejected == expected_rejected
    assert rows == expected_rows
    assert facts == expected_facts  # Decimal("2") == Decimal("2.000"): the same amounts, typed by the table
    assert len(expected_facts) > 50 and len(expected_rejected) > 50  # the file has both, plenty of each


def test_every_space_that_str_strip_trims_is_known() -> None:
    spaces = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert spaces == set(" \t\n\r\x0b\x0c") | set(OTHER_SPACE)


def test_a_file_with_a_row_of_another_width_is_not_read_by_column(tmp_path: Path) -> None:
    for body in ("S-1,2026-01-05,C1,1,1.00,extra\n", "S-1,2026-01-05,C1,1\n", "   \n"):
        path = tmp_path / "odd.csv"
        path.write_text(f"id,date,customer,quantity,revenue\nS-0,2026-01-05,C1,1,1.00\n{body}")
        assert not Columns(path, ",", ["id", "date", "customer", "quantity", "revenue"], CURRENCY).regular()


async def test_a_well_formed_file_is_imported_by_column_with_the_same_facts(
    tmp_path: Path, app: FastAPI, service: AnalyticsService
) -> None:
    path = _file(tmp_path, 11, ",", 2000)
    expected_facts, expected_rejected, expected_rows = _row_by_row(path)
    latest = {fact["id"]: fact for fact in expected_facts}  # a later fact of the file replaces an earlier one
    service.importer._batch_size = 300
    async with client(app) as http:
        for _ in range(2):  # imported twice: nothing counts twice
            answer = await http.post(
                "/api/v1/analytics/imports/trade-facts", content=path.read_bytes(), headers={"content-type": "text/csv"}
            )
            job = await finished(http, answer.headers["location"])
            assert job["state"] == "succeeded", job
            assert job["progress"]["done"] == expected_rows
            assert (job["progress"]["accepted"], job["progress"]["rejected"]) == (
                len(expected_facts),
                len(expected_rejected),
            )
            assert [Rejection(**r) for r in job["rejected"]] == expected_rejected[: len(job["rejected"])]
    store = service.analytics
    stored = await store.query("SELECT * EXCEPT version FROM trade_facts FINAL ORDER BY id")
    assert stored == sorted(latest.values(), key=lambda fact: fact["id"])
    [sums] = await store.query("SELECT sum(revenue) AS revenue, sum(facts) AS facts FROM trade_sums_month")
    signed = sum((f["revenue"] * (-1 if f["kind"] == "return" else 1) for f in latest.values()), Decimal(0))
    assert sums == {"revenue": signed, "facts": len(latest)}


async def test_a_file_with_a_row_of_another_width_is_imported_row_by_row_once(
    tmp_path: Path, app: FastAPI, service: AnalyticsService
) -> None:
    # The first batch is read by column while the file's shape is checked; the wide row at the end sends
    # the whole file the row-by-row way, and nothing read by column may reach the store.
    good = [f"S-{n},2026-01-{n % 28 + 1:02d},C{n % 7},1,{n}.50" for n in range(900)]
    body = "\n".join(["id,date,customer,quantity,revenue", *good, "S-wide,2026-01-05,C1,1,1.00,extra"]) + "\n"
    service.importer._batch_size = 100
    async with client(app) as http:
        answer = await http.post(
            "/api/v1/analytics/imports/trade-facts", content=body.encode(), headers={"content-type": "text/csv"}
        )
        job = await finished(http, answer.headers["location"])
    assert job["state"] == "succeeded", job
    assert (job["progress"]["accepted"], job["progress"]["rejected"]) == (900, 1)
    assert [r["line"] for r in job["rejected"]] == [902]
    store = service.analytics
    [stored] = await store.query("SELECT count() AS facts, uniqExact(id) AS ids FROM trade_fact_versions")
    assert stored == {"facts": 900, "ids": 900}  # each good row written once, by one way only
    [sums] = await store.query("SELECT sum(revenue) AS revenue, sum(facts) AS facts FROM trade_sums_month")
    assert sums == {"revenue": sum(Decimal(f"{n}.50") for n in range(900)), "facts": 900}
