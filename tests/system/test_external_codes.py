"""External codes of counterparties over HTTP (issue 14: the ERP's customer code links its trade
facts): set at registration and by PATCH, shown on the card and the list, found by ``q`` and
``?external_code=``, unique per (system, code) with the hidden-record rule of tax ids (ADR 0013),
moved by a merge, kept by an archive, refused with 422 naming the field, and carried by CSV import and
export."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from tests.system.conftest import EmbeddedCrm
from tests.system.test_import_export_http import exported, imported, read_csv

API = "/api/v1/counterparties"
REVIEW = "/api/v1/counterparties/duplicates/review"


def body(name: str, *codes: Any, **extra: Any) -> dict[str, Any]:
    listed = [c if isinstance(c, dict) else {"code": c} for c in codes]
    return {"name": name, "relations": ["buyer"], "main_manager": "ivan", "external_codes": listed, **extra}


async def listed(client: httpx.AsyncClient, position: str, **params: str) -> list[str]:
    page = await client.get(API, params={"min_position": position, **params})
    assert page.status_code == 200, page.text
    return [item["name"] for item in page.json()["items"]]


async def test_codes_are_set_shown_found_changed_and_freed(crm: httpx.AsyncClient) -> None:
    made = await crm.post(API, json=body("Дунав Трейд", "C-000123", {"system": "sap-bg", "code": "0000104711"}))
    assert made.status_code == 201, made.text
    expected = [{"system": "erp", "code": "C-000123"}, {"system": "sap-bg", "code": "0000104711"}]
    assert made.json()["external_codes"] == expected
    url, position = made.headers["Location"], made.headers["X-Commit-Position"]
    card = await crm.get(url, params={"min_position": position})
    assert card.json()["external_codes"] == expected
    await crm.post(API, json=body("Друга фирма"))
    assert await listed(crm, position, q="C-000123") == ["Дунав Трейд"]
    assert await listed(crm, position, q="0000104711") == ["Дунав Трейд"]
    assert await listed(crm, position, external_code="C-000123") == ["Дунав Трейд"]
    assert await listed(crm, position, external_code="c-000123") == []  # exactly as written
    assert await listed(crm, position, q="Дунав") == ["Дунав Трейд"]  # names are still found
    page = (await crm.get(API, params={"min_position": position, "q": "C-000123"})).json()
    assert page["items"][0]["external_codes"] == expected

    # A second counterparty with one of the codes is refused, naming its place in the list.
    again = await crm.post(API, json=body("Копие", "NEW-1", "C-000123"))
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "external_codes[1].code"
    assert (await crm.post(API, json=body("Друга система", {"system": "sap", "code": "C-000123"}))).status_code == 201

    # PATCH with If-Match as for any field; the codes dropped are free for others.
    stale = await crm.patch(url, json={"external_codes": [{"code": "C-999"}]}, headers={"If-Match": '"0"'})
    assert stale.status_code == 412
    changed = await crm.patch(
        url, json={"external_codes": [{"code": "C-999"}]}, headers={"If-Match": made.headers["ETag"]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["external_codes"] == [{"system": "erp", "code": "C-999"}]
    assert (await crm.post(API, json=body("Нов притежател", "C-000123"))).status_code == 201
    cleared = await crm.patch(url, json={"external_codes": None})
    assert cleared.status_code == 200 and cleared.json()["external_codes"] == []
    history = (await crm.get(f"{url}/history")).json()["items"]
    assert [e["changes"]["external_codes"] for e in history if e["event"].endswith("ExternalCodesChanged")] == [
        expected,
        [{"system": "erp", "code": "C-999"}],
        [],
    ]


async def test_concurrent_registrations_with_one_code_create_exactly_one(crm: httpx.AsyncClient) -> None:
    answers = await asyncio.gather(*(crm.post(API, json=body(f"Фирма {n}", "ERP-7")) for n in range(12)))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and set(codes) == {201, 409}, codes
    position = max(a.headers.get("X-Commit-Position", "0") for a in answers if a.status_code == 201)
    assert len(await listed(crm, position, external_code="ERP-7")) == 1


async def test_bad_codes_are_422_naming_the_field(crm: httpx.AsyncClient) -> None:
    made = (await crm.post(API, json=body("Проба"))).headers["Location"]
    for bad, field in [
        ({"code": ""}, "external_codes.0.code"),
        ({"code": "x" * 65}, "external_codes.0.code"),
        ({"code": "C\x01123"}, "external_codes.0.code"),
        ({"code": "C\n123"}, "external_codes.0.code"),
        ({"code": " C123"}, "external_codes.0.code"),
        ({"system": "ERP", "code": "C123"}, "external_codes.0.system"),
        ({"code": "C1", "extra": 1}, "external_codes.0.extra"),
        ("C123", "external_codes.0"),
    ]:
        for answer in (
            await crm.post(API, json={**body("Лош код"), "external_codes": [bad]}),
            await crm.patch(made, json={"external_codes": [bad]}),
        ):
            assert answer.status_code == 422, (bad, answer.text)
            assert field in {e["field"] for e in answer.json()["errors"]}, (bad, answer.json())
    too_many = [{"code": f"C{n}"} for n in range(21)]
    assert (await crm.post(API, json={**body("Много"), "external_codes": too_many})).status_code == 422
    long_filter = await crm.get(API, params={"external_code": "x" * 65})
    assert long_filter.status_code == 422


async def test_a_code_held_in_a_hidden_group_answers_as_a_free_one(embedded: EmbeddedCrm) -> None:
    admin = await embedded.start()
    for code in ("north", "south"):
        await admin.post("/api/v1/access-groups", json={"code": code, "name": code.title()})
    held = await admin.post(API, json=body("South Holder", "S-1", access_group="south"))
    assert held.status_code == 201
    north = await embedded.client_for(["sales_manager"], ["north"])
    over_hidden = await north.post(API, json=body("North One", "S-1", access_group="north"))
    over_free = await north.post(API, json=body("North Two", "FREE-1", access_group="north"))
    assert over_hidden.status_code == over_free.status_code == 201
    assert over_hidden.json()["possible_duplicates"] == over_free.json()["possible_duplicates"] == []
    assert held.json()["id"] not in over_hidden.text
    # Now one the caller sees carries it: refused alike, never naming the hidden holder.
    refused = await north.post(API, json=body("North Three", "S-1", access_group="north"))
    assert refused.status_code == 409 and held.json()["id"] not in refused.text
    assert refused.json()["errors"][0]["field"] == "external_codes[0].code"
    position = over_free.headers["X-Commit-Position"]
    assert await listed(north, position, external_code="S-1") == ["North One"]
    # Those who see every group review the pair, and the holder keeps the code for them.
    review = (await admin.get(REVIEW)).json()["items"]
    assert [(i["field"], i["key"], i["other"]["counterparty_id"]) for i in review] == [
        ("external_code", "erp:S-1", held.json()["id"])
    ]
    assert (await admin.post(API, json=body("Admin Again", "S-1"))).status_code == 409


async def test_a_merge_moves_the_codes_and_an_archive_keeps_them(crm: httpx.AsyncClient) -> None:
    survivor = (await crm.post(API, json=body("Остава", "KEEP-1"))).json()["id"]
    duplicate = (await crm.post(API, json=body("Дубликат", "DUP-1", {"system": "sap", "code": "77"}))).json()["id"]
    merged = await crm.post(f"{API}/{survivor}/merge", json={"duplicate_id": duplicate})
    assert merged.status_code == 200, merged.text
    assert merged.json()["external_codes"] == [
        {"system": "erp", "code": "KEEP-1"},
        {"system": "erp", "code": "DUP-1"},
        {"system": "sap", "code": "77"},
    ]
    position = merged.headers["X-Commit-Position"]
    gone = await crm.get(f"{API}/{duplicate}", params={"min_position": position})
    assert gone.json()["external_codes"] == [] and gone.json()["merged_into"] == survivor
    assert await listed(crm, position, external_code="DUP-1", archived="any") == ["Остава"]
    # The survivor holds them now: nobody else may take them.
    assert (await crm.post(API, json=body("Трети", "DUP-1"))).status_code == 409
    archived = await crm.post(f"{API}/{survivor}/archive", json={"reason": "closed"})
    assert archived.status_code == 200 and len(archived.json()["external_codes"]) == 3
    assert (await crm.post(API, json=body("Четвърти", "KEEP-1"))).status_code == 409


async def test_csv_import_and_export_carry_the_codes(embedded: EmbeddedCrm) -> None:
    admin = await embedded.start()
    job = await imported(
        admin,
        "name;tax_id;erp_code;external_codes\n"
        "Север ООД;BG201;C-1|C-2;sap-bg:0000104711\n"
        "Юг АД;BG202;C-3;\n"
        "Лош ред;BG203;C-1;\n"
        "Лоша система;BG204;;erp:C-9\n"
        "Без система;BG205;;C-9\n",
    )
    assert job["progress"]["accepted"] == 2, job
    assert {(r["line"], r["column"]) for r in job["rejected"]} == {
        (4, "erp_code"),  # held by the row of line 2
        (5, "external_codes"),  # codes of the ERP belong in erp_code
        (6, "external_codes"),  # not system:code
    }, job["rejected"]
    _, file = await exported(admin, delimiter=";")
    rows = {row["name"]: row for row in read_csv(file.text, ";")}
    assert rows["Север ООД"]["erp_code"] == "C-1|C-2"
    assert rows["Север ООД"]["external_codes"] == "sap-bg:0000104711"
    assert (rows["Юг АД"]["erp_code"], rows["Юг АД"]["external_codes"]) == ("C-3", "")
    again = await imported(admin, file.text)
    assert {k: again["progress"][k] for k in ("accepted", "unchanged", "rejected")} == {
        "accepted": 0,
        "unchanged": 2,
        "rejected": 0,
    }, again
    # A row that updates a counterparty changes only the codes of the columns it has.
    changed = await imported(admin, "name;tax_id;erp_code\nСевер ООД;BG201;C-2|C-5\n")
    assert changed["progress"]["accepted"] == 1, changed
    found = (await admin.get(API, params={"external_code": "C-5", "min_position": "0"})).json()["items"]
    assert [i["name"] for i in found] == ["Север ООД"]
    assert found[0]["external_codes"] == [
        {"system": "erp", "code": "C-2"},
        {"system": "sap-bg", "code": "0000104711"},
        {"system": "erp", "code": "C-5"},
    ]


async def test_a_search_that_is_a_code_lists_its_holder_not_the_names_it_starts(crm: httpx.AsyncClient) -> None:
    """``q`` is looked up as an external code beside the search itself: when it is a code, only the
    code's holder is listed, even where the search would have found other names (or a phone)."""
    await crm.post(API, json=body("Марица Комерс"))
    held = await crm.post(API, json=body("Тракия Логистик", "Марица", {"system": "tel", "code": "0888123456"}))
    assert held.status_code == 201, held.text
    position = held.headers["X-Commit-Position"]
    assert await listed(crm, position, q="Марица") == ["Тракия Логистик"]
    assert await listed(crm, position, q="0888123456") == ["Тракия Логистик"]
    assert await listed(crm, position, q="Мари") == ["Марица Комерс"]  # not a code: the name's word
