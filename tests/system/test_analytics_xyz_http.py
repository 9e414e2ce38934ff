"""Relationship stages and XYZ through the gateway of the embedded CRM: the route in the OpenAPI
document, the analysis over facts sent by the API, 422 naming the field, by role."""

from __future__ import annotations

import httpx
import pytest
from tests.system.conftest import EmbeddedCrm

pytestmark = pytest.mark.system

XYZ = "/api/v1/analytics/xyz"
WINDOW = {"to": "2026-03-31", "periodicity": "month", "periods": "3"}


async def test_stages_and_xyz_through_the_gateway(embedded: EmbeddedCrm, crm: httpx.AsyncClient) -> None:
    assert XYZ in (await crm.get("/openapi.json")).json()["paths"]
    sale = {"quantity": "1", "revenue": "100.00"}
    facts = [
        {**sale, "id": "X-1", "date": "2026-01-05", "customer": "R1"},
        {**sale, "id": "X-2", "date": "2026-02-05", "customer": "R1"},
        {**sale, "id": "X-3", "date": "2026-03-05", "customer": "R1"},
        {**sale, "id": "X-4", "date": "2026-03-05", "customer": "O1"},
    ]
    assert (await crm.post("/api/v1/analytics/trade-facts", json={"facts": facts})).status_code == 200

    answer = await crm.get(XYZ, params=WINDOW)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(r["customer"], r["stage"], r["class"], r["coefficient"]) for r in body["rows"]] == [
        ("O1", "one-time", None, "141.4214"),
        ("R1", "regular", "X", "0.0000"),
    ]
    assert body["from"] == "2026-01-01" and body["stages"]["regular"] == 1

    bad = await crm.get(XYZ, params={**WINDOW, "periodicity": "fortnight"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "periodicity"
    bad = await crm.get(XYZ, params={**WINDOW, "regular_periods": "4"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "regular_periods"

    marketer = await embedded.client_for(["marketer"], ["general"])
    assert (await marketer.get(XYZ, params=WINDOW)).status_code == 200
    manager = await embedded.client_for(["sales_manager"], ["general"])
    mine = await manager.get(XYZ, params=WINDOW)  # no counterparty of theirs carries these codes
    assert (mine.status_code, mine.json()["rows"], mine.json()["customers"]) == (200, [], 0)
    assert (await embedded.anonymous().get(XYZ, params=WINDOW)).status_code == 401
