"""Analytics across services on the scaled-out adapters (issue 14): trade facts in over the ERP's topic
on the real Kafka broker and from a CSV file, an ABC run confirmed, each customer's class out as a
public event on Kafka, and contacts showing it on the counterparty card and filtering the list by it
(read models on the MongoDB-protocol server)."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from tests.system.conftest import EmbeddedCrm
from tests.system.test_abc_class_on_counterparty import API, RUNS, eventually, register

from crm_shared.adapters import open_bus
from crm_shared.bus import Message
from crm_shared.contracts.analytics import CUSTOMER_CLASS_TOPIC
from crm_shared.contracts.erp import TRADE_FACTS_TOPIC
from crm_shared.settings import KernelSettings

pytestmark = pytest.mark.system


async def classes_published(crm: EmbeddedCrm, expected: int) -> dict[str, str]:
    """counterparty id -> class, from the customer-class topic read from its beginning by a new group."""
    bus = await open_bus(KernelSettings(data_dir=crm.data_dir, **crm.settings), "class-reader")
    seen: dict[str, str] = {}
    arrived = asyncio.Event()

    async def take(message: Message) -> None:
        body = json.loads(message.value)
        seen[body["counterparty_id"]] = body["abc_class"]
        if len(seen) >= expected:
            arrived.set()

    try:
        subscription = await bus.subscribe([CUSTOMER_CLASS_TOPIC], f"reader-{uuid.uuid4().hex[:8]}", take)
        async with asyncio.timeout(60):
            await arrived.wait()
        await subscription.stop()
    finally:
        await bus.stop()
    return seen


async def test_facts_over_kafka_and_csv_give_classes_out_as_events_on_the_card(scaled_out: EmbeddedCrm) -> None:
    crm = await scaled_out.start()
    top = await register(crm, "Кафка Голям ООД", "KF-1")
    middle = await register(crm, "Файл Среден ООД", "KF-2")
    small = await register(crm, "Файл Малък ООД", "KF-3")

    # The ERP's side on the broker: one sale sent twice (counted once).
    erp = await open_bus(KernelSettings(data_dir=scaled_out.data_dir, **scaled_out.settings), "erp")
    sale = {"id": "KF-S1", "date": "2026-02-03", "customer": "KF-1", "quantity": "2", "revenue": "700.00"}
    try:
        record = Message(TRADE_FACTS_TOPIC, sale["id"], json.dumps(sale).encode())
        await erp.publish([record, record])
    finally:
        await erp.stop()
    # The rest from a CSV file, through the import job.
    content = "id;date;customer;quantity;revenue\nKF-S2;2026-02-04;KF-2;1;200.00\nKF-S3;2026-02-05;KF-3;1;100.00\n"
    upload = await crm.post(
        "/api/v1/analytics/imports/trade-facts", files={"file": ("sales.csv", content.encode(), "text/csv")}
    )
    assert upload.status_code == 202, upload.text
    job = await eventually(
        lambda: crm.get(upload.headers["location"]), lambda j: j["state"] not in ("queued", "running")
    )
    assert (job["state"], job["progress"]["accepted"]) == ("succeeded", 2), job

    period = {"from": "2026-02-01", "to": "2026-02-28"}
    report = await eventually(
        lambda: crm.get("/api/v1/analytics/abc", params=period),
        lambda body: len([r for r in body["rows"] if r["counterparty_id"]]) == 3,
        timeout=60,
    )
    assert [(r["customer"], r["value"], r["class"]) for r in report["rows"]] == [
        ("KF-1", "700.00", "A"),
        ("KF-2", "200.00", "B"),
        ("KF-3", "100.00", "C"),
    ]

    created = await crm.post(RUNS, json=period)
    assert created.status_code == 201, created.text
    confirmed = await crm.post(f"{RUNS}/{created.json()['run_id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text

    assert await classes_published(scaled_out, 3) == {top: "A", middle: "B", small: "C"}
    card = await eventually(lambda: crm.get(f"{API}/{top}"), lambda c: c["abc_class"] is not None, timeout=60)
    assert card["abc_class"] == "A"

    async def ids(client: httpx.AsyncClient, **params: str) -> set[str]:
        page = await client.get(API, params=params)
        assert page.status_code == 200, page.text
        return {item["id"] for item in page.json()["items"]}

    await eventually(lambda: crm.get(f"{API}/{small}"), lambda c: c["abc_class"] == "C", timeout=60)
    assert await ids(crm, abc_class="B") == {middle}
