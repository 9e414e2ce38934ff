"""The relationship stage and XYZ class on the counterparty, across services in the embedded CRM
(issue 14): counterparties carry ERP codes, trade facts for those codes go to analytics, a stage run
is recorded there, and contacts shows each counterparty's stage and class on its card and in the
list, filters the list by them (422 naming the field for anything else), and keeps a counterparty of
a group the caller does not see hidden."""

from __future__ import annotations

import httpx
import pytest
from tests.system.conftest import EmbeddedCrm
from tests.system.test_abc_class_on_counterparty import eventually, register

pytestmark = pytest.mark.system

API = "/api/v1/counterparties"
RUNS = "/api/v1/analytics/xyz/runs"


async def test_a_stage_run_puts_the_stage_on_the_card_and_the_list_filters_by_it(
    embedded: EmbeddedCrm, crm: httpx.AsyncClient
) -> None:
    steady = await register(crm, "Редовен Купувач ООД", "K-STG-1")
    once = await register(crm, "Еднократен Купувач ООД", "K-STG-2")
    hidden = await register(crm, "Южен Редовен ООД", "K-STG-3", group="south")
    never = await register(crm, "Без покупки ООД", "K-STG-4")

    def sale(code: str, day: str, revenue: str = "100.00") -> dict[str, str]:
        return {"id": f"S-{code}-{day}", "date": day, "customer": code, "quantity": "1", "revenue": revenue}

    facts = [sale("K-STG-1", f"2026-0{m}-10") for m in (1, 2, 3)]
    facts += [sale("K-STG-2", "2026-02-10")]
    facts += [sale("K-STG-3", "2026-01-10", "10.00"), sale("K-STG-3", "2026-03-10", "500.00")]
    recorded = await crm.post("/api/v1/analytics/trade-facts", json={"facts": facts})
    assert recorded.status_code == 200, recorded.text
    codes = {"K-STG-1", "K-STG-2", "K-STG-3"}
    await eventually(
        lambda: crm.get("/api/v1/analytics/abc/unlinked"),
        lambda body: not {u["customer"] for u in body["items"]} & codes,
    )

    made = await crm.post(RUNS, json={"to": "2026-03-31", "periods": 3})
    assert made.status_code == 201, made.text
    run_id = made.json()["run_id"]

    card = await eventually(lambda: crm.get(f"{API}/{steady}"), lambda c: c["stage"] is not None)
    assert (card["stage"], card["xyz_class"]) == ("regular", "X")
    relationship = card["relationship"]
    assert (relationship["run_id"], relationship["as_of"], relationship["customer"]) == (
        run_id,
        "2026-03-31",
        "K-STG-1",
    )
    assert (relationship["previous_stage"], relationship["class"]) == (None, "X")
    await eventually(lambda: crm.get(f"{API}/{once}"), lambda c: c["stage"] == "one-time")
    await eventually(lambda: crm.get(f"{API}/{hidden}"), lambda c: (c["stage"], c["xyz_class"]) == ("regular", "Z"))
    assert (await crm.get(f"{API}/{never}")).json()["stage"] is None

    async def ids(client: httpx.AsyncClient, **params: str) -> list[str]:
        page = await client.get(API, params=params)
        assert page.status_code == 200, page.text
        return [item["id"] for item in page.json()["items"]]

    assert sorted(await ids(crm, stage="regular")) == sorted([steady, hidden])
    assert await ids(crm, xyz_class="Z") == [hidden]
    assert await ids(crm, stage="one-time") == [once]
    listed = (await crm.get(API, params={"q": "Купувач"})).json()["items"]
    assert {item["id"]: (item["stage"], item["xyz_class"]) for item in listed} == {
        steady: ("regular", "X"),
        once: ("one-time", None),
    }
    for name, value in (("stage", "dormant"), ("xyz_class", "W")):
        refused = await crm.get(API, params={name: value})
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json()["errors"]] == [name]

    # A sales manager of the general group: the south counterparty stays hidden, stage or not.
    manager = await embedded.client_for(["sales_manager"], ["general"])
    assert await ids(manager, xyz_class="Z") == []
    assert await ids(manager, stage="regular") == [steady]
    assert (await manager.get(f"{API}/{hidden}")).status_code == 404
    # Recording a run needs analytics:classify.
    assert (await manager.post(RUNS, json={"to": "2026-03-31", "periods": 3})).status_code == 403
