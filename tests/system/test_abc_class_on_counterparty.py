"""The ABC class on the counterparty, across services in the embedded CRM (issue 14, "contacts
consumes them"): counterparties carry ERP codes, trade facts for those codes go to analytics, an ABC
run is created and confirmed there, and contacts shows each counterparty's class on its card and in
the list, filters the list by it (422 naming ``abc_class`` for anything but A, B, C), and keeps a
counterparty of a group the caller does not see hidden."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from tests.system.conftest import EmbeddedCrm

pytestmark = pytest.mark.system

API = "/api/v1/counterparties"
RUNS = "/api/v1/analytics/abc/runs"
CODES = {"K-ABC-1": "700.00", "K-ABC-2": "200.00", "K-ABC-3": "100.00"}


async def eventually(
    fetch: Callable[[], Awaitable[httpx.Response]], done: Callable[[Any], bool], timeout: float = 20
) -> Any:
    """The first answer (JSON) for which ``done`` holds, polled until ``timeout``."""
    async with asyncio.timeout(timeout):
        while True:
            answer = await fetch()
            assert answer.status_code == 200, answer.text
            if done(answer.json()):
                return answer.json()
            await asyncio.sleep(0.05)


async def register(crm: httpx.AsyncClient, name: str, code: str, group: str = "general") -> str:
    made = await crm.post(
        API,
        json={
            "name": name,
            "relations": ["buyer"],
            "main_manager": "ivan",
            "access_group": group,
            "external_codes": [{"system": "erp", "code": code}],
        },
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def test_a_confirmed_run_puts_the_class_on_the_card_and_the_list_filters_by_it(
    embedded: EmbeddedCrm, crm: httpx.AsyncClient
) -> None:
    top = await register(crm, "Голям Купувач ООД", "K-ABC-1")
    middle = await register(crm, "Среден Купувач ООД", "K-ABC-2")
    hidden = await register(crm, "Южен Купувач ООД", "K-ABC-3", group="south")
    other = await register(crm, "Без покупки ООД", "K-ABC-4")

    facts = [
        {"id": f"S-{code}", "date": "2026-01-10", "customer": code, "quantity": "1", "revenue": revenue}
        for code, revenue in CODES.items()
    ]
    recorded = await crm.post("/api/v1/analytics/trade-facts", json={"facts": facts})
    assert recorded.status_code == 200, recorded.text
    # Analytics links the codes through its own copy of contacts' codes (fed by the bus): wait for it.
    await eventually(
        lambda: crm.get("/api/v1/analytics/abc/unlinked"),
        lambda body: not {u["customer"] for u in body["items"]} & set(CODES),
    )

    created = await crm.post(RUNS, json={"from": "2026-01-01", "to": "2026-01-31"})
    assert created.status_code == 201, created.text
    run_id = created.json()["run_id"]
    confirmed = await crm.post(f"{RUNS}/{run_id}/confirm")
    assert confirmed.status_code == 200, confirmed.text

    card = await eventually(lambda: crm.get(f"{API}/{top}"), lambda c: c["abc_class"] is not None)
    assert card["abc_class"] == "A"
    abc = card["abc"]
    assert (abc["class"], abc["previous_class"], abc["marker"], abc["run_id"]) == ("A", None, "new", run_id)
    assert (abc["period_from"], abc["period_to"], abc["customer"]) == ("2026-01-01", "2026-01-31", "K-ABC-1")
    await eventually(lambda: crm.get(f"{API}/{hidden}"), lambda c: c["abc_class"] == "C")
    await eventually(lambda: crm.get(f"{API}/{middle}"), lambda c: c["abc_class"] == "B")
    assert (await crm.get(f"{API}/{other}")).json()["abc_class"] is None  # never classified

    async def ids(client: httpx.AsyncClient, **params: str) -> list[str]:
        page = await client.get(API, params=params)
        assert page.status_code == 200, page.text
        return [item["id"] for item in page.json()["items"]]

    assert await ids(crm, abc_class="A") == [top]
    assert await ids(crm, abc_class="C") == [hidden]
    listed = (await crm.get(API, params={"q": "Купувач"})).json()["items"]
    assert {item["id"]: item["abc_class"] for item in listed} == {top: "A", middle: "B", hidden: "C"}
    assert all(item["abc"]["run_id"] == run_id for item in listed)

    refused = await crm.get(API, params={"abc_class": "D"})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["abc_class"]

    # A sales manager of the general group: the south counterparty stays hidden, class or not.
    manager = await embedded.client_for(["sales_manager"], ["general"])
    assert await ids(manager, abc_class="C") == []
    assert await ids(manager, abc_class="B") == [middle]
    assert (await manager.get(f"{API}/{hidden}")).status_code == 404
