"""One counterparty per tax id, held across streams under concurrency without transactions."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

API = "/api/v1/counterparties"


def body(name: str, tax_id: str | None) -> dict[str, Any]:
    return {"name": name, "relations": ["buyer"], "main_manager": "ivan", "tax_id": tax_id}


async def test_a_second_counterparty_with_the_same_tax_id_is_refused(crm: httpx.AsyncClient) -> None:
    assert (await crm.post(API, json=body("Първа", "BG175074752"))).status_code == 201
    again = await crm.post(API, json=body("Втора", "bg 175-074-752"))
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "tax_id"
    assert (await crm.post(API, json=body("Без номер", None))).status_code == 201
    assert (await crm.post(API, json=body("Също без", None))).status_code == 201


async def test_concurrent_registrations_with_one_tax_id_create_exactly_one(crm: httpx.AsyncClient) -> None:
    answers = await asyncio.gather(*(crm.post(API, json=body(f"Фирма {n}", "BG999")) for n in range(20)))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1, codes
    assert set(codes) == {201, 409}
    service = crm._transport.app.state.contacts  # type: ignore[attr-defined]
    registered = [e for e in await service.store.read_all(after=0, limit=10_000) if e.type.endswith("Registered")]
    assert [e.data["tax_id"] for e in registered] == ["BG999"]


async def test_changing_or_clearing_a_tax_id_frees_the_old_one(crm: httpx.AsyncClient) -> None:
    first = await crm.post(API, json=body("Едно", "BG111"))
    url = first.headers["Location"]
    assert (await crm.patch(url, json={"tax_id": "BG222"})).status_code == 200
    assert (await crm.post(API, json=body("Друго", "BG111"))).status_code == 201
    assert (await crm.post(API, json=body("Трето", "BG222"))).status_code == 409
    assert (await crm.patch(url, json={"tax_id": None})).status_code == 200
    assert (await crm.post(API, json=body("Четвърто", "BG222"))).status_code == 201
    # Taking a tax id that another counterparty holds is refused on change too.
    assert (await crm.patch(url, json={"tax_id": "BG222"})).status_code == 409


async def test_writing_the_same_tax_id_differently_keeps_it_reserved(crm: httpx.AsyncClient) -> None:
    first = await crm.post(API, json=body("Първа ООД", "BG777"))
    assert first.status_code == 201
    respelled = await crm.patch(first.headers["Location"], json={"tax_id": "bg 777"})
    assert respelled.status_code == 200 and respelled.json()["tax_id"] == "bg 777"
    second = await crm.post(API, json=body("Втора ООД", "BG-777"))
    assert second.status_code == 409, second.text
