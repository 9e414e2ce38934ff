"""Analytics rebuilt from the event logs with one command (issue 14): contacts' and interactions'
events reach the analytics store through the bus in the embedded CRM; after the table is lost,
``crm rebuild analytics`` refills it from the services' own logs, row for row the same, and the
dated histories read the same as before."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.system.conftest import EmbeddedCrm

from crm.cli import main
from crm_shared.analytics import AnalyticsError
from crm_shared.analytics.chdb import ChdbAnalyticsStore

pytestmark = pytest.mark.system

COUNTERPARTIES = "/api/v1/counterparties"
INTERACTIONS = "/api/v1/interactions"
ROWS = "SELECT id, type, time, position, counterparty_id, subject, fields, items FROM crm_events FINAL ORDER BY id"
NOW = {"as_of": datetime.now(UTC) + timedelta(days=1), "tz": "Europe/Sofia"}
VIEWS = {
    "customer_links": "SELECT * FROM customer_links(as_of = {as_of:DateTime64(6, 'UTC')}) ORDER BY customer",
    "manager_days": "SELECT * FROM manager_days(as_of = {as_of:DateTime64(6, 'UTC')}, tz = {tz:String})"
    " ORDER BY counterparty_id, day",
    "source_records": "SELECT * FROM source_records(as_of = {as_of:DateTime64(6, 'UTC')}) ORDER BY counterparty_id",
    "interactions": "SELECT * FROM interactions_as_of(as_of = {as_of:DateTime64(6, 'UTC')}) ORDER BY interaction_id",
    "counterparties": "SELECT * FROM counterparties_as_of(as_of = {as_of:DateTime64(6, 'UTC')})"
    " ORDER BY counterparty_id",
}


async def story(crm: httpx.AsyncClient) -> int:
    """Records in contacts and interactions; returns how many of their events analytics keeps."""
    ids = []
    for code, group in (("R-1", "general"), ("R-2", "south")):
        made = await crm.post(
            COUNTERPARTIES,
            json={
                "name": f"Купувач {code}",
                "relations": ["buyer"],
                "main_manager": "ivan",
                "access_group": group,
                "external_codes": [{"system": "erp", "code": code}],
            },
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    moved = await crm.patch(f"{COUNTERPARTIES}/{ids[0]}", json={"main_manager": "maria"})
    assert moved.status_code == 200, moved.text
    told = await crm.post(f"{COUNTERPARTIES}/{ids[0]}/sources", json={"source": "exhibition"})
    assert told.status_code == 200, told.text
    start = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    planned = await crm.post(
        INTERACTIONS,
        json={"kind": "call", "direction": "incoming", "subject": "Offer", "start": start, "counterparty_id": ids[0]},
    )
    assert planned.status_code == 201, planned.text
    done = await crm.post(
        f"{INTERACTIONS}/{planned.json()['id']}/complete", json={"outcome": "Order", "outcome_code": "deal"}
    )
    assert done.status_code == 200, done.text
    # 2 registrations, 2 code lists, the manager, the source, planned and completed.
    return 8


async def arrived(store: ChdbAnalyticsStore, expected: int) -> None:
    """Wait until ``expected`` events about counterparties are in the table (created on first use)."""
    counted = "SELECT count() AS n FROM crm_events FINAL WHERE counterparty_id != ''"
    async with asyncio.timeout(30):
        while True:
            with contextlib.suppress(AnalyticsError):  # the service has not created the table yet
                if (await store.query(counted))[0]["n"] >= expected:
                    return
            await asyncio.sleep(0.1)


async def snapshot(store: ChdbAnalyticsStore) -> dict[str, list[dict[str, Any]]]:
    found = {"rows": await store.query(ROWS)}
    for name, sql in VIEWS.items():
        found[name] = await store.query(sql, NOW)
    return found


async def test_crm_rebuild_analytics_refills_the_events_from_the_logs(embedded: EmbeddedCrm) -> None:
    crm = await embedded.start()
    expected = await story(crm)
    store = await ChdbAnalyticsStore.open(embedded.data_dir / "analytics" / "chdb")
    try:
        await arrived(store, expected)
        before = await snapshot(store)
        assert len(before["customer_links"]) == 2
        assert {r["manager"] for r in before["counterparties"]} == {"maria", "ivan"}
        assert [r["source"] for r in before["source_records"]] == ["exhibition"]
        assert [(r["state"], r["direction"]) for r in before["interactions"]] == [("completed", "incoming")]
        await store.execute("TRUNCATE TABLE crm_events")  # lost
    finally:
        await store.close()
    await embedded.stop()

    await asyncio.to_thread(main, ["rebuild", "analytics", "--data-dir", str(embedded.data_dir)])

    store = await ChdbAnalyticsStore.open(embedded.data_dir / "analytics" / "chdb")
    try:
        after = await snapshot(store)
    finally:
        await store.close()
    assert after == before
