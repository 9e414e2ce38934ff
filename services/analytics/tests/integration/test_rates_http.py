"""Currency rates in and out over HTTP on the embedded adapters: a batch (a rate sent again for its
currency and date replaces the old one; 422 naming rates.<index>.<field>; at most 10,000), the read
route (order, paging, filters), the CSV import job with its report of rejected rows, roles, and the ABC
report converting with the rates sent."""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of

TOKENS = CallerTokens(b"0123456789abcdef0123456789abcdef")
RATES = "/api/v1/analytics/currency-rates"
IMPORT = "/api/v1/analytics/imports/currency-rates"


def client(app: FastAPI, role: str = "administrator") -> httpx.AsyncClient:
    token = TOKENS.issue(caller_of("ana", [role], ["general"]))  # type: ignore[list-item]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    )


def rate(currency: str, day: str, value: str) -> dict[str, str]:
    return {"currency": currency, "date": day, "rate": value}


async def every_rate(http: httpx.AsyncClient, limit: int, **params: str) -> list[tuple[str, str, str]]:
    seen: list[tuple[str, str, str]] = []
    cursor = None
    while True:
        answer = await http.get(RATES, params={**params, "limit": str(limit), **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["items"]) <= limit
        seen += [(r["currency"], r["date"], r["rate"]) for r in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


async def test_rates_sent_again_replace_and_read_back_in_order(app: FastAPI) -> None:
    rng = random.Random(4)
    sent: dict[tuple[str, str], str] = {}
    batch = []
    for _ in range(60):
        key = (
            rng.choice(["USD", "BGN", "GBP", "CHF"]),
            (date(2026, 1, 1) + timedelta(days=rng.randint(0, 40))).isoformat(),
        )
        value = f"{rng.randint(1, 3)}.{rng.randint(0, 999999):06d}"
        batch.append(rate(*key, value))
        sent[key] = value  # the later one of the batch wins
    async with client(app, "head_of_sales") as http:
        answer = await http.post(RATES, json={"rates": batch})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"recorded": 60}
        # A correction, and the same rate sent again.
        correction = rate("USD", "2026-01-05", "0.912345")
        for _ in range(2):
            assert (await http.post(RATES, json={"rates": [correction]})).status_code == 200
        sent[("USD", "2026-01-05")] = "0.912345"
        want = sorted((c, d, f"{Decimal(v):.6f}") for (c, d), v in sent.items())
        assert await every_rate(http, 7) == want
        assert await every_rate(http, 1000, currency="USD", **{"from": "2026-01-05", "to": "2026-01-20"}) == [
            r for r in want if r[0] == "USD" and "2026-01-05" <= r[1] <= "2026-01-20"
        ]
        assert await every_rate(http, 5, currency="EUR") == []


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"rate": "0"}, "rates.1.rate"),
        ({"rate": "0.000000"}, "rates.1.rate"),
        ({"rate": "-1.5"}, "rates.1.rate"),
        ({"rate": "1.1234567"}, "rates.1.rate"),
        ({"rate": "1,5"}, "rates.1.rate"),
        ({"rate": "1234567890123.5"}, "rates.1.rate"),
        ({"rate": "12345678"}, "rates.1.rate"),  # 8 digits: more than the reports' decimals hold
        ({"rate": 1.5}, "rates.1.rate"),
        ({"currency": "usd"}, "rates.1.currency"),
        ({"date": "2026-02-30"}, "rates.1.date"),
        ({"date": "1969-12-31"}, "rates.1.date"),
        ({"extra": "x"}, "rates.1.extra"),
    ],
)
async def test_a_bad_rate_is_422_naming_it_and_nothing_is_written(
    app: FastAPI, item: dict[str, Any], field: str
) -> None:
    async with client(app) as http:
        answer = await http.post(
            RATES, json={"rates": [rate("USD", "2026-01-01", "1.5"), {**rate("GBP", "2026-01-01", "1.1"), **item}]}
        )
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in answer.json()["errors"]], answer.text
        assert await every_rate(http, 10) == []


async def test_a_batch_holds_1_to_10000_rates(app: FastAPI) -> None:
    start = date(2000, 1, 1)
    many = [rate("USD", (start + timedelta(days=n)).isoformat(), "1.25") for n in range(10_001)]
    async with client(app) as http:
        for body in ({"rates": many}, {"rates": []}, {}):
            answer = await http.post(RATES, json=body)
            assert answer.status_code == 422, answer.text
            assert "rates" in [e["field"] for e in answer.json()["errors"]]
        answer = await http.post(RATES, json={"rates": many[:10_000]})
        assert answer.json() == {"recorded": 10_000}


async def test_read_parameters_and_roles(app: FastAPI) -> None:
    async with client(app) as http:
        for params, status, field in (
            ({"from": "2026-02-01", "to": "2026-01-01"}, 422, "to"),
            ({"currency": "usd"}, 422, "currency"),
            ({"limit": "1001"}, 422, "limit"),
            ({"cursor": "bm9wZQ"}, 400, "cursor"),
        ):
            answer = await http.get(RATES, params=params)
            assert answer.status_code == status, (params, answer.text)
            assert answer.json()["errors"][0]["field"] == field, answer.text
    async with client(app, "marketer") as http:
        assert (await http.get(RATES)).status_code == 200
        assert (await http.post(RATES, json={"rates": [rate("USD", "2026-01-01", "1")]})).status_code == 403
        assert (
            await http.post(IMPORT, content=b"currency,date,rate\n", headers={"content-type": "text/csv"})
        ).status_code == 403
    for role in ("sales_manager", "read_only"):
        async with client(app, role) as http:
            assert (await http.get(RATES)).status_code == 403


async def finished(http: httpx.AsyncClient, location: str) -> dict[str, Any]:
    for _ in range(600):
        job: dict[str, Any] = (await http.get(location)).json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"the job did not end: {job}")


CSV = (
    "\ufeffRate;Currency;Date\n"
    "0.5;USD;2026-01-01\n"
    "0.55;USD;2026-01-15\n"
    "0;USD;2026-01-20\n"
    "1.955830;BGN;2026-1-1\n"
    "1.2345678;GBP;2026-01-01\n"
    "1.1;gbp;2026-01-01\n"
    ";CHF;2026-01-01\n"
    "0.6;USD;2026-01-15\n"
)


async def test_a_csv_file_of_rates_is_imported_as_a_job_with_a_report(app: FastAPI) -> None:
    async with client(app, "head_of_sales") as http:
        answer = await http.post(
            IMPORT, params={"filename": "rates.csv"}, content=CSV.encode(), headers={"content-type": "text/csv"}
        )
        assert answer.status_code == 202, answer.text
        job = await finished(http, answer.headers["location"])
        assert job["state"] == "succeeded", job
        assert (job["progress"]["accepted"], job["progress"]["rejected"]) == (3, 5)
        assert [(r["line"], r["column"]) for r in job["rejected"]] == [
            (4, "rate"),
            (5, "date"),
            (6, "rate"),
            (7, "currency"),
            (8, "rate"),
        ]
        report = await http.get(job["report"])
        assert report.status_code == 200
        lines = report.text.lstrip("\ufeff").splitlines()
        assert lines[0] == "line,column,reason,name" and lines[1].startswith('4,rate,"must be a decimal > 0')
        # The last line's rate for USD on 2026-01-15 replaced the earlier one of the file.
        assert await every_rate(http, 100) == [("USD", "2026-01-01", "0.500000"), ("USD", "2026-01-15", "0.600000")]
        # A file with an unknown column fails before anything is written.
        answer = await http.post(
            IMPORT, content=b"currency,date,rate,source\nUSD,2026-02-01,1,x\n", headers={"content-type": "text/csv"}
        )
        job = await finished(http, answer.headers["location"])
        assert job["state"] == "failed" and "source" in job["error"]
        assert len(await every_rate(http, 100)) == 2


async def test_the_abc_report_converts_with_the_rates_sent(app: FastAPI) -> None:
    def fact(n: int, day: str, revenue: str, currency: str, kind: str = "sale") -> dict[str, str]:
        return {
            "id": f"S-{n}",
            "date": day,
            "customer": f"K{n % 3}",
            "quantity": "1",
            "revenue": revenue,
            "currency": currency,
            "kind": kind,
        }

    facts = [
        fact(1, "2026-01-03", "100.00", "USD"),  # before USD's first rate: left out
        fact(2, "2026-01-10", "100.00", "USD"),
        fact(3, "2026-01-20", "33.33", "USD"),
        fact(4, "2026-01-21", "10.00", "USD", "return"),
        fact(5, "2026-01-22", "50.00", "EUR"),
        fact(6, "2026-01-23", "19.99", "BGN"),
    ]
    rates = [
        rate("USD", "2026-01-05", "0.9"),
        rate("USD", "2026-01-15", "0.925"),
        rate("BGN", "2026-01-01", "0.511292"),
    ]
    async with client(app) as http:
        assert (await http.post("/api/v1/analytics/trade-facts", json={"facts": facts})).status_code == 200
        assert (await http.post(RATES, json={"rates": rates})).status_code == 200
        # The second USD rate corrected.
        assert (await http.post(RATES, json={"rates": [rate("USD", "2026-01-15", "0.95")]})).status_code == 200
        answer = await http.get("/api/v1/analytics/abc", params={"from": "2026-01-01", "to": "2026-01-31"})
        assert answer.status_code == 200, answer.text
        body = answer.json()

    def rc(amount: str, r: str) -> Decimal:
        return (Decimal(amount) * Decimal(r)).quantize(Decimal("0.01"), ROUND_HALF_UP)

    want = {
        "K2": rc("100.00", "0.9") + Decimal("50.00"),  # S-2, S-5
        "K0": rc("33.33", "0.95") + rc("19.99", "0.511292"),  # S-3, S-6
        "K1": -rc("10.00", "0.95"),  # S-4 (return); S-1 left out
    }
    assert {r["customer"]: Decimal(r["value"]) for r in body["rows"]} == want
    assert Decimal(body["total"]) == sum(want.values())
    assert body["without_rate"] == [{"currency": "USD", "facts": 1, "earliest": "2026-01-03"}]


async def test_the_largest_amounts_at_the_largest_rate_do_not_overflow_the_reports(app: FastAPI) -> None:
    most = "9999999999999999.99"
    facts = [
        {
            "id": f"S-{n}",
            "date": f"2026-0{1 + n % 6}-01",
            "customer": "K",
            "quantity": "1",
            "revenue": most,
            "cost": "0",
            "currency": "USD",
            "kind": "return" if n == 3 else "sale",
        }
        for n in range(12)
    ]
    async with client(app) as http:
        assert (await http.post("/api/v1/analytics/trade-facts", json={"facts": facts})).status_code == 200
        assert (
            await http.post(RATES, json={"rates": [rate("USD", "1970-01-01", "9999999.999999")]})
        ).status_code == 200
        value = (Decimal(most) * Decimal("9999999.999999")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        answer = await http.get("/api/v1/analytics/abc", params={"from": "2026-01-01", "to": "2026-12-31"})
        assert answer.status_code == 200, answer.text
        assert Decimal(answer.json()["total"]) == 10 * value
        for by in ("revenue", "profit"):
            for periodicity, periods in (("month", "6"), ("day", "1000")):
                for x, y in (("0", "999.99"), ("999.99", "999.99")):  # the bands' bounds squared too
                    params = {"to": "2026-06-30", "by": by, "periodicity": periodicity, "periods": periods}
                    answer = await http.get("/api/v1/analytics/xyz", params={**params, "x": x, "y": y})
                    assert answer.status_code == 200, answer.text
                    assert answer.json()["rows"][0]["stage"] == "regular"
