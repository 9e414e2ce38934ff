"""Analytics through the gateway of the embedded CRM: its prefix, its routes in the OpenAPI document,
trade facts in (batch and a streamed CSV upload), the ABC classification out, by role."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from tests.system.conftest import EmbeddedCrm

pytestmark = pytest.mark.system

PERIOD = {"from": "2026-01-01", "to": "2026-01-31"}


async def test_facts_in_and_the_abc_classification_out_through_the_gateway(
    embedded: EmbeddedCrm, crm: httpx.AsyncClient
) -> None:
    document = (await crm.get("/openapi.json")).json()
    for path in (
        "/api/v1/analytics/trade-facts",
        "/api/v1/analytics/imports/trade-facts",
        "/api/v1/analytics/abc",
        "/api/v1/analytics/jobs/{job_id}",
    ):
        assert path in document["paths"], path

    facts = [
        {"id": "S-1", "date": "2026-01-05", "customer": "C1", "quantity": "1", "revenue": "700.00"},
        {"id": "S-2", "date": "2026-01-06", "customer": "C2", "quantity": "1", "revenue": "200.00"},
    ]
    recorded = await crm.post("/api/v1/analytics/trade-facts", json={"facts": facts})
    assert recorded.status_code == 200, recorded.text

    # A CSV file bigger than the 1 MB limit of ordinary bodies: uploads under a service's own
    # /api/v1/<prefix>/imports/ are streamed to the job, as under /api/v1/imports/.
    rows = "".join(f"R-{n},2026-01-07,C3,1,0.01\n" for n in range(40_000))
    content = f"id,date,customer,quantity,revenue\n{rows}".encode()
    assert len(content) > 1_000_000
    upload = await crm.post(
        "/api/v1/analytics/imports/trade-facts",
        files={"file": ("sales.csv", content, "text/csv")},
    )
    assert upload.status_code == 202, upload.text
    location = upload.headers["location"]
    assert location.startswith("/api/v1/analytics/jobs/")
    job: dict[str, Any] = {}
    for _ in range(1200):
        job = (await crm.get(location)).json()
        if job["state"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.1)
    assert job["state"] == "succeeded", job
    assert job["progress"]["accepted"] == 40_000

    answer = await crm.get("/api/v1/analytics/abc", params=PERIOD)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(r["customer"], r["value"], r["class"]) for r in body["rows"]] == [
        ("C1", "700.00", "A"),
        ("C3", "400.00", "A"),
        ("C2", "200.00", "B"),
    ]
    assert body["total"] == "1300.00"

    bad = await crm.post("/api/v1/analytics/trade-facts", json={"facts": [{**facts[0], "revenue": 1.5}]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "facts.0.revenue"

    marketer = await embedded.client_for(["marketer"], ["general"])
    assert (await marketer.get("/api/v1/analytics/abc", params=PERIOD)).status_code == 200
    manager = await embedded.client_for(["sales_manager"], ["general"])
    mine = await manager.get("/api/v1/analytics/abc", params=PERIOD)  # no counterparty of theirs carries these
    assert (mine.status_code, mine.json()["rows"], mine.json()["total"]) == (200, [], "0.00")
    assert (await manager.post("/api/v1/analytics/trade-facts", json={"facts": facts})).status_code == 403
    assert (await embedded.anonymous().get("/api/v1/analytics/abc", params=PERIOD)).status_code == 401
