"""The whole embedded CRM takes the ERP's trade facts from its topic: a record that matches the schema
the CRM serves is counted in the ABC report once, however often it is sent."""

from __future__ import annotations

import asyncio
import json

import jsonschema_rs  # installed with schemathesis (dev group): a real draft 2020-12 validator
import pytest
from tests.system.conftest import EmbeddedCrm

from crm_shared.adapters import open_bus
from crm_shared.bus import Message
from crm_shared.contracts.erp import TRADE_FACTS_TOPIC
from crm_shared.settings import KernelSettings

pytestmark = pytest.mark.system


async def test_facts_from_the_erps_topic_reach_the_abc_report_once(embedded: EmbeddedCrm) -> None:
    admin = await embedded.start()
    schema = await admin.get("/api/v1/events/schemas/erp.TradeFact.json")
    assert schema.status_code == 200, schema.text
    check = jsonschema_rs.Draft202012Validator(schema.json(), validate_formats=True)

    facts = [
        {"id": "E-1", "date": "2026-03-02", "customer": "ERP-C1", "quantity": "3", "revenue": "900.00"},
        {"id": "E-2", "date": "2026-03-03", "customer": "ERP-C2", "quantity": "1.5", "revenue": "100.00"},
    ]
    records = [Message(TRADE_FACTS_TOPIC, f["id"], json.dumps(f).encode()) for f in facts]
    for message in records:
        as_documented = {"topic": message.topic, "key": message.key, "value": json.loads(message.value)}
        assert [e.message for e in check.iter_errors(as_documented)] == []

    # The ERP's side: another producer on the same bus (here the embedded log of the data directory).
    erp = await open_bus(KernelSettings(data_dir=embedded.data_dir), "erp")
    try:
        await erp.publish([*records, *records])  # sent twice
    finally:
        await erp.stop()

    rows: dict[str, str] = {}
    for _ in range(200):
        answer = await admin.get("/api/v1/analytics/abc", params={"from": "2026-03-01", "to": "2026-03-31"})
        assert answer.status_code == 200, answer.text
        rows = {row["customer"]: row["value"] for row in answer.json()["rows"]}
        if rows:
            break
        await asyncio.sleep(0.1)
    assert rows == {"ERP-C1": "900.00", "ERP-C2": "100.00"}
