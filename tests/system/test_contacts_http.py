"""The contacts slice end to end in embedded mode: HTTP command → store → relay → bus → view → query."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from crm_shared.http import POSITION_HEADER

API = "/api/v1/counterparties"


def body(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "name": "Ромашка ООД",
        "relations": ["buyer"],
        "main_manager": "ivan",
    }
    fields.update(overrides)
    return fields


async def register(crm: httpx.AsyncClient, **overrides: object) -> httpx.Response:
    response = await crm.post(API, json=body(**overrides))
    assert response.status_code == 201, response.text
    return response


async def test_register_then_read_your_write(crm: httpx.AsyncClient) -> None:
    created = await register(crm, tax_id="BG175074752")
    assert created.headers["ETag"] == '"0"'
    position = int(created.headers[POSITION_HEADER])
    assert position > 0
    location = created.headers["Location"]
    assert location == f"{API}/{created.json()['id']}"

    fetched = await crm.get(location, params={"min_position": position})
    assert fetched.status_code == 200
    assert fetched.headers["ETag"] == '"0"'
    got = fetched.json()
    assert {k: got[k] for k in ("name", "relations", "tax_id", "main_manager", "version")} == {
        "name": "Ромашка ООД",
        "relations": ["buyer"],
        "tax_id": "BG175074752",
        "main_manager": "ivan",
        "version": 0,
    }


async def test_unknown_counterparty_is_404(crm: httpx.AsyncClient) -> None:
    response = await crm.get(f"{API}/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_list_searches_by_name_prefix_in_any_case_and_pages(crm: httpx.AsyncClient) -> None:
    last = None
    for name in ["Ромашка ООД", "ромб ЕООД", "Роза АД", "Acme Ltd", "acorn GmbH", "Борис ЕТ"]:
        last = await register(crm, name=name, tax_id=None)
    position = last.headers[POSITION_HEADER] if last else "0"

    found = await crm.get(API, params={"q": "РОМ", "min_position": position})
    assert [c["name"] for c in found.json()["items"]] == ["Ромашка ООД", "ромб ЕООД"]
    latin = await crm.get(API, params={"q": "ac"})
    assert [c["name"] for c in latin.json()["items"]] == ["Acme Ltd", "acorn GmbH"]

    names: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = (await crm.get(API, params=params)).json()
        names.extend(c["name"] for c in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert names == sorted(names, key=str.casefold)
    assert len(names) == 6

    empty = await crm.get(API, params={"q": "нищо такова"})
    assert empty.json() == {"items": [], "next_cursor": None}


async def test_list_filters_by_relation_and_manager(crm: httpx.AsyncClient) -> None:
    await register(crm, name="A", relations=["buyer"], main_manager="ivan")
    await register(crm, name="B", relations=["supplier"], main_manager="ivan")
    last = await register(crm, name="C", relations=["supplier"], main_manager="maria")
    wait = {"min_position": last.headers[POSITION_HEADER]}
    suppliers = (await crm.get(API, params={"relation": "supplier", **wait})).json()["items"]
    assert [c["name"] for c in suppliers] == ["B", "C"]
    ivans = (await crm.get(API, params={"main_manager": "ivan"})).json()["items"]
    assert [c["name"] for c in ivans] == ["A", "B"]


async def test_update_honours_if_match(crm: httpx.AsyncClient) -> None:
    created = await register(crm, tax_id="BG175074752")
    url = created.headers["Location"]
    renamed = await crm.patch(url, json={"name": "Лайка АД"}, headers={"If-Match": '"0"'})
    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["ETag"] == '"1"'
    stale = await crm.patch(url, json={"relations": ["supplier"]}, headers={"If-Match": '"0"'})
    assert stale.status_code == 412
    assert stale.json()["errors"][0]["field"] == "If-Match"
    cleared = await crm.patch(url, json={"tax_id": None}, headers={"If-Match": '"1"'})
    assert cleared.status_code == 200
    view = await crm.get(url, params={"min_position": cleared.headers[POSITION_HEADER]})
    assert view.json()["name"] == "Лайка АД"
    assert view.json()["tax_id"] is None
    assert view.headers["ETag"] == '"2"'


async def test_idempotency_key_makes_a_retried_post_return_the_first_result(crm: httpx.AsyncClient) -> None:
    key = {"Idempotency-Key": f"import-{uuid.uuid4()}"}
    first = await crm.post(API, json=body(), headers=key)
    again = await crm.post(API, json=body(), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers[POSITION_HEADER] == first.headers[POSITION_HEADER]
    service = crm._transport.app.state.contacts  # type: ignore[attr-defined]
    stored = [e for e in await service.store.read_all(after=0) if e.stream.startswith("counterparty-")]
    assert len(stored) == 1


async def test_idempotent_update_applies_once(crm: httpx.AsyncClient) -> None:
    url = (await register(crm)).headers["Location"]
    key = {"Idempotency-Key": "rename-1"}
    first = await crm.patch(url, json={"name": "Нов"}, headers=key)
    again = await crm.patch(url, json={"name": "Нов"}, headers=key)
    assert first.json() == again.json()
    assert first.headers["ETag"] == again.headers["ETag"] == '"1"'


async def test_concurrent_conflicting_updates_one_wins_the_rest_get_409_or_412(crm: httpx.AsyncClient) -> None:
    url = (await register(crm)).headers["Location"]
    responses = await asyncio.gather(
        *(crm.patch(url, json={"name": f"Име {n}"}, headers={"If-Match": '"0"'}) for n in range(32))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1
    assert set(codes) <= {200, 409, 412}
    winner = next(r for r in responses if r.status_code == 200).json()["name"]
    service = crm._transport.app.state.contacts  # type: ignore[attr-defined]
    events = await service.store.read_stream(f"counterparty-{url.rsplit('/', 1)[1]}")
    assert len(events) == 2
    assert events[1].data["name"] == winner


async def test_concurrent_updates_without_if_match_never_lose_an_acknowledged_change(crm: httpx.AsyncClient) -> None:
    url = (await register(crm)).headers["Location"]
    responses = await asyncio.gather(*(crm.patch(url, json={"name": f"Наименование {n}"}) for n in range(16)))
    ok = [r for r in responses if r.status_code == 200]
    assert all(r.status_code in (200, 409) for r in responses)
    service = crm._transport.app.state.contacts  # type: ignore[attr-defined]
    events = await service.store.read_stream(f"counterparty-{url.rsplit('/', 1)[1]}")
    assert len(events) == 1 + len(ok)
    assert sorted(e.data["name"] for e in events[1:]) == sorted(r.json()["name"] for r in ok)


async def test_data_survives_a_restart(embedded: Any) -> None:
    first = await embedded.start()
    created = await register(first)
    await embedded.stop()
    second = await embedded.start()
    fetched = await second.get(created.headers["Location"], params={"min_position": created.headers[POSITION_HEADER]})
    assert fetched.status_code == 200
