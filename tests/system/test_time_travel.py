"""The card as of any past moment and its change history, read from the event log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

API = "/api/v1/counterparties"


async def test_the_card_as_of_a_past_moment_and_the_history_of_changes(crm: httpx.AsyncClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    created = await crm.post(API, json={"name": "Стара АД", "relations": ["buyer"], "main_manager": "ivan"})
    url = created.headers["Location"]
    await asyncio.sleep(0.05)
    between = datetime.now(UTC)
    await asyncio.sleep(0.05)
    renamed = await crm.patch(url, json={"name": "Нова АД", "relations": ["supplier"]}, headers={"If-Match": '"0"'})
    assert renamed.status_code == 200

    then = await crm.get(url, params={"as_of": between.isoformat()})
    assert then.status_code == 200
    assert (then.json()["name"], then.json()["relations"]) == ("Стара АД", ["buyer"])
    assert then.headers["ETag"] == '"0"'
    now = await crm.get(url, params={"as_of": datetime.now(UTC).isoformat()})
    assert (now.json()["name"], now.json()["relations"], now.headers["ETag"]) == ("Нова АД", ["supplier"], '"2"')
    assert (await crm.get(url, params={"as_of": before.isoformat()})).status_code == 404
    naive = await crm.get(url, params={"as_of": "2026-01-01T00:00:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "as_of"
    assert (await crm.get(url, params={"as_of": "yesterday"})).status_code == 422

    history = await crm.get(f"{url}/history")
    assert history.status_code == 200
    items = history.json()["items"]
    assert [(i["version"], i["event"]) for i in items] == [
        (0, "CounterpartyRegistered"),
        (1, "CounterpartyRenamed"),
        (2, "CounterpartyRelationsChanged"),
    ]
    assert items[1]["changes"] == {"name": "Нова АД"}
    assert items[0]["actor"] == items[1]["actor"] and items[0]["actor"]
    assert items[0]["at"] <= items[1]["at"]


async def test_history_and_the_past_respect_access_groups(embedded: Any, crm: httpx.AsyncClient) -> None:
    created = await crm.post(
        API, json={"name": "Южна", "relations": ["buyer"], "main_manager": "x", "access_group": "south"}
    )
    url = created.headers["Location"]
    manager = await embedded.client_for(["sales_manager"], ["north"])
    assert (await manager.get(f"{url}/history")).status_code == 404
    assert (await manager.get(url, params={"as_of": datetime.now(UTC).isoformat()})).status_code == 404
    assert (await manager.get(f"{API}/00000000-0000-0000-0000-000000000000/history")).status_code == 404


async def test_waiting_on_the_position_of_an_event_without_public_form_returns_at_once(crm: httpx.AsyncClient) -> None:
    # A tax-id reservation is private: it changes no view, so there is nothing to wait for.
    created = await crm.post(
        API, json={"name": "С номер", "relations": ["buyer"], "main_manager": "x", "tax_id": "BG4242"}
    )
    reservation_position = int(created.headers["X-Commit-Position"]) - 1
    started = asyncio.get_running_loop().time()
    assert (await crm.get(API, params={"min_position": reservation_position})).status_code == 200
    assert asyncio.get_running_loop().time() - started < 2
