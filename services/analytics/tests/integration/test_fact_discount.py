"""A trade fact's optional ``discount``: accepted by the HTTP batch and the CSV import (with and without
the column; a negative or non-numeric one refused naming ``discount``), stored with the fact and its
history, converted like the revenue, and added to a store made before the column existed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.currency_rate import Rate
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections.tables import FACTS_KNOWN, prepare, write_facts, write_rates
from crm_shared.analytics import AnalyticsStore
from crm_shared.analytics.chdb import ChdbAnalyticsStore

from .test_http import FACTS, client, finished, sale

IMPORT = "/api/v1/analytics/imports/trade-facts"


async def stored(store: AnalyticsStore) -> dict[str, Decimal]:
    rows = await store.query("SELECT id, discount FROM trade_facts FINAL ORDER BY id")
    return {str(r["id"]): Decimal(str(r["discount"])) for r in rows}


async def test_the_http_batch_takes_a_discount_and_defaults_it_to_0(app: FastAPI, service: AnalyticsService) -> None:
    async with client(app) as http:
        batch = {"facts": [sale(1, "C1", "100.00", discount="7.25"), sale(2, "C1", "50.00")]}
        answer = await http.post(FACTS, json=batch)
        assert answer.status_code == 200, answer.text
    assert await stored(service.analytics) == {"S-1": Decimal("7.25"), "S-2": Decimal("0")}


@pytest.mark.parametrize("discount", ["-1.00", "ten", "1.001", 1.5])
async def test_a_wrong_discount_in_a_batch_is_422_naming_it(app: FastAPI, discount: Any) -> None:
    async with client(app) as http:
        answer = await http.post(
            FACTS, json={"facts": [sale(1, "C1", "1.00"), sale(2, "C1", "1.00", discount=discount)]}
        )
        assert answer.status_code == 422, answer.text
        assert "facts.1.discount" in [e["field"] for e in answer.json()["errors"]]


async def test_a_csv_file_with_and_without_a_discount_column(app: FastAPI, service: AnalyticsService) -> None:
    with_column = (
        "id,date,customer,quantity,revenue,kind,discount\n"
        "D-1,2026-01-05,C1,1,100.00,sale,12.50\n"
        "D-2,2026-01-06,C1,1,40.00,return,\n"
        "D-3,2026-01-07,C1,1,40.00,sale,-3\n"
        "D-4,2026-01-08,C1,1,40.00,sale,lots\n"
        "D-5,2026-01-09,C1,1,40.00,return,4\n"
    )
    without_column = "id,date,customer,quantity,revenue\nN-1,2026-01-05,C2,1,10.00\n"
    async with client(app, "head_of_sales") as http:
        answer = await http.post(IMPORT, content=with_column.encode(), headers={"content-type": "text/csv"})
        assert answer.status_code == 202, answer.text
        job = await finished(http, answer.headers["location"])
        assert job["state"] == "succeeded", job
        assert (job["progress"]["accepted"], job["progress"]["rejected"]) == (3, 2)
        assert [(r["line"], r["column"]) for r in job["rejected"]] == [(4, "discount"), (5, "discount")]
        answer = await http.post(IMPORT, content=without_column.encode(), headers={"content-type": "text/csv"})
        assert (await finished(http, answer.headers["location"]))["state"] == "succeeded"
    assert await stored(service.analytics) == {
        "D-1": Decimal("12.50"),
        "D-2": Decimal("0"),
        "D-5": Decimal("4"),
        "N-1": Decimal("0"),
    }


# The tables as they were before facts carried a discount (schema.sql of issue 14 before it).
OLD_SCHEMA = (
    """CREATE TABLE trade_facts (id String, kind LowCardinality(String), date Date, customer String,
    item String, division String, manager String, quantity Decimal(18, 3), revenue Decimal(18, 2),
    revenue_without_vat Decimal(18, 2), cost Decimal(18, 2), currency LowCardinality(String), version UInt64)
    ENGINE = ReplacingMergeTree(version) ORDER BY id""",
    "CREATE TABLE trade_fact_versions AS trade_facts ENGINE = MergeTree ORDER BY (id, version)",
    "CREATE MATERIALIZED VIEW trade_fact_versions_feed TO trade_fact_versions AS SELECT * FROM trade_facts",
    """INSERT INTO trade_facts VALUES ('OLD', 'sale', '2026-01-10', 'C1', '', '', '', 1, 80.00, 80.00, 10.00,
    'EUR', 1)""",
)


async def test_a_store_made_before_the_discount_gains_it_at_prepare(tmp_path: Path) -> None:
    store = await ChdbAnalyticsStore.open(tmp_path / "chdb")
    try:
        for statement in OLD_SCHEMA:
            await store.execute(statement)
        await prepare(store)
        await write_rates(store, [Rate("USD", date(2026, 1, 1), Decimal("0.5"))])
        new = [
            TradeFact(
                "NEW",
                date(2026, 1, 11),
                "C1",
                Decimal(1),
                Decimal("90"),
                Decimal("90"),
                Decimal(0),
                "USD",
                discount=Decimal("9.99"),
            ),
            TradeFact(
                "RET",
                date(2026, 1, 12),
                "C1",
                Decimal(1),
                Decimal("5"),
                Decimal("5"),
                Decimal(0),
                "EUR",
                kind="return",
                discount=Decimal("1.50"),
            ),
        ]
        await write_facts(store, new)
        assert await stored(store) == {"NEW": Decimal("9.99"), "OLD": Decimal("0"), "RET": Decimal("1.50")}
        # The history of versions has the column too, filled by the feed (what a report as of reads).
        known = await store.query(f"SELECT id, discount FROM ({FACTS_KNOWN}) ORDER BY id", {"known": 2**63})
        assert {r["id"]: Decimal(str(r["discount"])) for r in known} == {
            "NEW": Decimal("9.99"),
            "OLD": Decimal("0"),
            "RET": Decimal("1.50"),
        }
        for view in ("facts_converted", "facts_converted_as_of(known = 9223372036854775807)"):
            rows = await store.query(f"SELECT id, sign, discount_rc FROM {view} ORDER BY id")
            assert {r["id"]: (r["sign"], Decimal(str(r["discount_rc"]))) for r in rows} == {
                "NEW": (1, Decimal("5.00")),  # 9.99 × 0.5 = 4.995, half away from zero
                "OLD": (1, Decimal("0.00")),
                "RET": (-1, Decimal("1.50")),
            }, view
    finally:
        await store.close()
