"""The full counterparty register through HTTP: details checked against the reference data, contact
information, search by word, e-mail, phone and tax id, filters, archive, sources, duplicates and merge."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from tests.system.conftest import EmbeddedCrm

API = "/api/v1/counterparties"
REF = "/api/v1/reference"


@pytest.fixture
async def catalogs(crm: httpx.AsyncClient) -> None:
    entries: list[tuple[str, dict[str, Any]]] = [
        # The kinds email, phone and web come with every installation.
        ("categories", {"code": "vip", "name": "VIP"}),
        ("properties", {"code": "employees", "name": "Служители", "attributes": {"value_type": "number"}}),
        (
            "properties",
            {"code": "size", "name": "Размер", "attributes": {"value_type": "choice", "choices": ["S", "M", "L"]}},
        ),
        ("sources", {"code": "trade-fair", "name": "Изложение", "attributes": {"actuality_days": 90}}),
        ("groups", {"code": "wholesale", "name": "Търговци на едро"}),
        ("regions", {"code": "varna-coast", "name": "Варна"}),
    ]
    for catalog, entry in entries:
        defined = await crm.post(f"{REF}/{catalog}", json=entry)
        assert defined.status_code == 201, defined.text


async def register(crm: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Фирма", "relations": ["buyer"], "main_manager": "ivan", **fields}
    created = await crm.post(API, json=body)
    assert created.status_code == 201, created.text
    shown = await crm.get(created.headers["Location"], params={"min_position": created.headers["X-Commit-Position"]})
    assert shown.status_code == 200
    return {**created.json(), "_position": created.headers["X-Commit-Position"]}


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


async def found(crm: httpx.AsyncClient, **params: Any) -> list[str]:
    listed = await crm.get(API, params=params)
    assert listed.status_code == 200, listed.text
    return [item["name"] for item in listed.json()["items"]]


@pytest.mark.usefixtures("catalogs")
async def test_a_full_card_with_contact_information_normalised(crm: httpx.AsyncClient) -> None:
    card = await register(
        crm,
        name="Морски Бриз ООД",
        relations=["supplier", "buyer"],
        tax_id="BG103456789",
        group="wholesale",
        region="varna-coast",
        comment="Ключов доставчик",
        managers=["maria"],
        contact_info=[
            {"kind": "phone", "value": "052 600 123"},
            {"kind": "email", "value": "Office@Briz.BG", "main": True},
            {"kind": "web", "value": "briz.bg"},
        ],
        properties={"employees": 40, "size": "M"},
        categories=["vip"],
        source={"source": "trade-fair", "on": "2026-11-01"},
    )
    assert card["relations"] == ["buyer", "supplier"]
    assert card["managers"] == ["ivan", "maria"]
    assert [(c["kind"], c["value"], c["main"]) for c in card["contact_info"]] == [
        ("phone", "+35952600123", True),
        ("email", "Office@briz.bg", True),
        ("web", "https://briz.bg", True),
    ]
    view = (await crm.get(f"{API}/{card['id']}")).json()
    assert view["contact_info"] == card["contact_info"]
    assert (view["group"], view["region"], view["properties"], view["categories"]) == (
        "wholesale",
        "varna-coast",
        {"employees": 40, "size": "M"},
        ["vip"],
    )
    assert view["sources"] == [{"source": "trade-fair", "on": "2026-11-01"}]


@pytest.mark.usefixtures("catalogs")
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"contact_info": [{"kind": "email", "value": "not-an-address"}]}, "contact_info[0].value"),
        ({"contact_info": [{"kind": "phone", "value": "12"}]}, "contact_info[0].value"),
        ({"contact_info": [{"kind": "fax", "value": "123"}]}, "contact_info[0].kind"),
        ({"group": "nosuch"}, "group"),
        ({"region": "nosuch"}, "region"),
        ({"categories": ["vip", "nosuch"]}, "categories[1]"),
        ({"properties": {"employees": "many"}}, "properties.employees"),
        ({"properties": {"size": "XXL"}}, "properties.size"),
        ({"properties": {"nosuch": 1}}, "properties.nosuch"),
        ({"source": {"source": "nosuch"}}, "source"),
        ({"head_counterparty_id": "00000000-0000-0000-0000-000000000000"}, "head_counterparty_id"),
        ({"comment": "x" * 2001}, "comment"),
    ],
)
async def test_each_detail_is_checked_and_named_when_wrong(
    crm: httpx.AsyncClient, fields: dict[str, Any], field: str
) -> None:
    refused = await crm.post(API, json={"name": "Грешка", "relations": ["buyer"], "main_manager": "ivan", **fields})
    assert refused.status_code == 422, refused.text
    assert field in {e["field"] for e in refused.json()["errors"]}


@pytest.mark.usefixtures("catalogs")
async def test_search_by_word_email_phone_and_tax_id_and_filters(crm: httpx.AsyncClient) -> None:
    await register(
        crm,
        name="Северна Звезда АД",
        tax_id="BG200300400",
        contact_info=[{"kind": "email", "value": "sales@zvezda.bg"}, {"kind": "phone", "value": "0888 123 456"}],
        categories=["vip"],
        properties={"size": "L"},
    )
    await register(crm, name="Star Trading Ltd", relations=["supplier"], group="wholesale", main_manager="maria")
    last = await register(crm, name="Южна звезда ЕООД", tax_id="BG999")
    wait = {"min_position": last["_position"]}

    assert await found(crm, q="звез", **wait) == ["Северна Звезда АД", "Южна звезда ЕООД"]
    assert await found(crm, q="ЗВЕЗДА", **wait) == ["Северна Звезда АД", "Южна звезда ЕООД"]
    assert await found(crm, q="star") == ["Star Trading Ltd"]
    assert await found(crm, q="SALES@zvezda") == ["Северна Звезда АД"]
    assert await found(crm, q="0888 123") == ["Северна Звезда АД"]
    assert await found(crm, phone="+35988812") == ["Северна Звезда АД"]
    assert await found(crm, q="200300") == ["Северна Звезда АД"]  # with or without the country prefix
    assert await found(crm, q="00300") == []  # tax ids match from their start
    assert await found(crm, q="BG 200 300") == ["Северна Звезда АД"]
    assert await found(crm, tax_id="bg999") == ["Южна звезда ЕООД"]
    assert await found(crm, category="vip") == ["Северна Звезда АД"]
    assert await found(crm, **{"property.size": "l"}) == ["Северна Звезда АД"]
    assert await found(crm, relation="supplier") == ["Star Trading Ltd"]
    assert await found(crm, group="wholesale") == ["Star Trading Ltd"]
    assert await found(crm, manager="maria") == ["Star Trading Ltd"]
    both = await crm.get(API, params={"category": "vip", "email": "sales@"})
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "q"


@pytest.mark.usefixtures("catalogs")
async def test_archive_takes_it_out_of_lists_and_blocks_changes_until_restored(crm: httpx.AsyncClient) -> None:
    card = await register(crm, name="Стара Фирма", contact_info=[{"kind": "email", "value": "old@firm.bg"}])
    url = f"{API}/{card['id']}"
    archived = await crm.post(f"{url}/archive", json={"reason": "Закрита"})
    assert archived.status_code == 200 and archived.json()["archived"] is True
    wait = {"min_position": archived.headers["X-Commit-Position"]}
    assert await found(crm, q="стара", **wait) == []
    assert await found(crm, q="old@firm.bg") == []
    assert await found(crm, q="стара", archived="true") == ["Стара Фирма"]
    refused = await crm.patch(url, json={"name": "Нова"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "archived"
    restored = await crm.post(f"{url}/restore")
    assert restored.status_code == 200 and restored.json()["archived"] is False
    assert await found(crm, q="old@firm.bg", min_position=restored.headers["X-Commit-Position"]) == ["Стара Фирма"]


@pytest.mark.usefixtures("catalogs")
async def test_the_dated_history_of_sources(crm: httpx.AsyncClient) -> None:
    card = await register(crm, name="Източник ООД")
    url = f"{API}/{card['id']}"
    first = await crm.post(f"{url}/sources", json={"source": "trade-fair", "on": "2026-05-01"})
    assert first.status_code == 200
    again = await crm.post(f"{url}/sources", json={"source": "trade-fair", "on": "2026-05-01"})
    assert again.headers["ETag"] == first.headers["ETag"]  # the same record again changes nothing
    view = await crm.get(url, params={"min_position": first.headers["X-Commit-Position"]})
    assert view.json()["sources"] == [{"source": "trade-fair", "on": "2026-05-01"}]
    unknown = await crm.post(f"{url}/sources", json={"source": "radio"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "source"


@pytest.mark.usefixtures("catalogs")
async def test_holdings_refuse_cycles(crm: httpx.AsyncClient) -> None:
    head = await register(crm, name="Холдинг АД")
    member = await register(crm, name="Дъщерна ЕООД", head_counterparty_id=head["id"])
    assert member["head_counterparty_id"] == head["id"]
    cycle = await crm.patch(f"{API}/{head['id']}", json={"head_counterparty_id": member["id"]})
    assert cycle.status_code == 422 and cycle.json()["errors"][0]["field"] == "head_counterparty_id"


@pytest.mark.usefixtures("catalogs")
async def test_duplicates_on_create_in_the_report_and_merged(crm: httpx.AsyncClient) -> None:
    original = await register(
        crm,
        name="Дубликат ООД",
        contact_info=[{"kind": "email", "value": "info@dub.bg"}],
        categories=["vip"],
        properties={"employees": 7},
    )
    copy = await crm.post(
        API,
        json={
            "name": "Дубликат",
            "relations": ["buyer"],
            "main_manager": "maria",
            "contact_info": [{"kind": "email", "value": "INFO@dub.bg"}, {"kind": "phone", "value": "+359 2 123 4567"}],
        },
    )
    assert copy.status_code == 201
    assert [(d["counterparty_id"], d["field"]) for d in copy.json()["possible_duplicates"]] == [
        (original["id"], "email")
    ]
    strict = await crm.post(
        API,
        params={"reject_duplicates": "true"},
        json={
            "name": "Трети",
            "relations": ["buyer"],
            "main_manager": "x",
            "contact_info": [{"kind": "email", "value": "info@dub.bg"}],
        },
    )
    assert strict.status_code == 409
    await crm.get(API, params={"min_position": copy.headers["X-Commit-Position"]})
    person = await crm.post(
        "/api/v1/persons",
        json={"last_name": "Петрова", "links": [{"counterparty_id": copy.json()["id"], "position": "Управител"}]},
    )
    assert person.status_code == 201, person.text
    await crm.get(
        f"/api/v1/persons/{person.json()['id']}", params={"min_position": person.headers["X-Commit-Position"]}
    )
    await crm.get(API, params={"min_position": copy.headers["X-Commit-Position"]})

    report = await crm.get(f"{API}/duplicates", params={"field": "email"})
    assert report.status_code == 200
    [group] = report.json()["groups"]
    assert group["key"] == "info@dub.bg"
    assert {c["counterparty_id"] for c in group["counterparties"]} == {original["id"], copy.json()["id"]}

    merged = await crm.post(f"{API}/{original['id']}/merge", json={"duplicate_id": copy.json()["id"]})
    assert merged.status_code == 200, merged.text
    survivor = merged.json()
    assert sorted(c["value"] for c in survivor["contact_info"]) == ["+35921234567", "info@dub.bg"]
    assert survivor["managers"] == ["ivan", "maria"]
    retried = await crm.post(f"{API}/{original['id']}/merge", json={"duplicate_id": copy.json()["id"]})
    assert retried.status_code == 200 and retried.headers["ETag"] == merged.headers["ETag"]
    # The merge wrote to several streams; each view catches up on its own (Kafka orders per stream).
    gone = await eventually(lambda: crm.get(f"{API}/{copy.json()['id']}"), lambda c: c["archived"])
    assert gone["merged_into"] == original["id"]
    moved = await eventually(
        lambda: crm.get(f"/api/v1/persons/{person.json()['id']}"),
        lambda p: [x["counterparty_id"] for x in p["links"]] == [original["id"]],
    )
    assert [x["position"] for x in moved["links"]] == ["Управител"]
    history = (await crm.get(f"{API}/{copy.json()['id']}/history")).json()["items"]
    assert history[-1]["event"] == "CounterpartyMerged"
    await eventually(lambda: crm.get(f"{API}/duplicates", params={"field": "email"}), lambda r: r["groups"] == [])


async def test_merge_and_reports_follow_roles_and_groups(embedded: EmbeddedCrm, crm: httpx.AsyncClient) -> None:
    a = await register(crm, name="А", access_group="south")
    b = await register(crm, name="Б", access_group="south")
    manager = await embedded.client_for(["sales_manager"], ["south"])
    refused = await manager.post(f"{API}/{a['id']}/merge", json={"duplicate_id": b["id"]})
    assert refused.status_code == 403
    north_head = await embedded.client_for(["read_only"], ["north"])
    assert (await north_head.get(f"{API}/duplicates")).json()["groups"] == []
    anonymous = embedded.anonymous()
    assert (await anonymous.get(f"{API}/duplicates")).status_code == 401
    assert (await anonymous.post(f"{API}/{a['id']}/archive", json={})).status_code == 401
    reader = await embedded.client_for(["read_only"], ["south"])
    assert (await reader.post(f"{API}/{a['id']}/archive", json={})).status_code == 403
    north = await embedded.client_for(["sales_manager"], ["north"])
    assert (await north.post(f"{API}/{a['id']}/archive", json={})).status_code == 404
