"""Search that finds (issue 12): every word of the query counts, in any order; a person by first and
last name without the middle name; a tax id with or without its country prefix; an e-mail with an
IDN domain as typed, in any case; and the caller-id lookup by phone, within the caller's groups."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.system.conftest import EmbeddedCrm

from crm_contacts.application.counterparties import queries

API = "/api/v1/counterparties"


async def register(client: httpx.AsyncClient, name: str, **extra: Any) -> dict[str, Any]:
    body = {"name": name, "relations": ["buyer"], "main_manager": "ivan", **extra}
    created = await client.post(API, json=body)
    assert created.status_code == 201, created.text
    return {**created.json(), "position": created.headers["X-Commit-Position"]}


async def names(client: httpx.AsyncClient, position: str, **params: str) -> list[str]:
    found = await client.get(API, params={**params, "min_position": position})
    assert found.status_code == 200, found.text
    return sorted(c["name"] for c in found.json()["items"])


async def test_every_word_counts_in_any_order(crm: httpx.AsyncClient) -> None:
    await register(crm, "Балкан Трейд ООД")
    await register(crm, "Трейд Център ЕООД")
    last = await register(crm, "Балкан Логистик ООД")
    p = last["position"]
    assert await names(crm, p, q="Трейд ООД") == ["Балкан Трейд ООД"]
    assert await names(crm, p, q="оод балкан") == ["Балкан Логистик ООД", "Балкан Трейд ООД"]
    assert await names(crm, p, q="Балк Т") == ["Балкан Трейд ООД"]  # a one-letter word counts too
    assert await names(crm, p, q="трейд") == ["Балкан Трейд ООД", "Трейд Център ЕООД"]
    assert await names(crm, p, q="Трейд Логистик") == []


async def test_many_words_page_through_with_a_cursor(crm: httpx.AsyncClient) -> None:
    last = {}
    for n in range(7):
        last = await register(crm, f"Алфа Бета {n}")
        await register(crm, f"Алфа Гама {n}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"q": "бета алфа", "limit": "3", "min_position": last["position"]}
        page = (await crm.get(API, params=params if cursor is None else {**params, "cursor": cursor})).json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"Алфа Бета {n}" for n in range(7)]


async def test_several_words_are_searched_through_the_rarest_one(
    crm: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small scan bound stands for a register where thousands of names share the common word.
    monkeypatch.setattr(queries, "MAX_SCAN", 10)
    for n in range(55):  # more than one read of lookups (50 for a page of 10)
        await register(crm, f"Фирмата {n:02d}")
    last = await register(crm, "Фирмата Рядка")
    first = await crm.get(API, params={"q": "Фирмата ряд", "limit": "10", "min_position": last["position"]})
    assert [c["name"] for c in first.json()["items"]] == ["Фирмата Рядка"]  # on the first page
    assert first.json()["next_cursor"] is None
    assert await names(crm, last["position"], q="фирмата няма") == []


async def test_a_tax_id_is_found_with_or_without_its_country_prefix(crm: httpx.AsyncClient) -> None:
    await register(crm, "С префикс", tax_id="BG204567891")
    last = await register(crm, "Без префикс", tax_id="175074752")
    p = last["position"]
    assert await names(crm, p, q="BG204567891") == ["С префикс"]
    assert await names(crm, p, q="204567891") == ["С префикс"]
    assert await names(crm, p, q="2045") == ["С префикс"]
    assert await names(crm, p, tax_id="204567891") == ["С префикс"]
    assert await names(crm, p, q="175074752") == ["Без префикс"]
    assert await names(crm, p, q="bg 204 567") == ["С префикс"]


async def test_an_email_with_an_idn_domain_is_found_as_typed_in_any_case(crm: httpx.AsyncClient) -> None:
    idn = await register(crm, "Фирма", contact_info=[{"kind": "email", "value": "Office@Фирма.бг"}])
    last = await register(crm, "Ascii", contact_info=[{"kind": "email", "value": "Sales@Example.COM"}])
    p = last["position"]
    ascii_domain = "фирма.бг".encode("idna").decode("ascii")
    assert [c["value"] for c in idn["contact_info"]] == [f"Office@{ascii_domain}"]
    assert await names(crm, p, q="office@фирма.бг") == ["Фирма"]
    assert await names(crm, p, q="OFFICE@ФИРМА.БГ") == ["Фирма"]
    assert await names(crm, p, q="office@фир") == ["Фирма"]  # the beginning of a Unicode domain
    assert await names(crm, p, q=f"office@{ascii_domain}") == ["Фирма"]
    assert await names(crm, p, email="office@фирма.бг") == ["Фирма"]
    assert await names(crm, p, q="SALES@example.com") == ["Ascii"]


async def test_a_person_is_found_by_first_and_last_name_without_the_middle_one(crm: httpx.AsyncClient) -> None:
    person = {"first_name": "Иван", "middle_name": "Георгиев", "last_name": "Петров"}
    created = await crm.post("/api/v1/persons", json=person)
    assert created.status_code == 201, created.text
    p = created.headers["X-Commit-Position"]
    for q in ("Иван Петров", "петров иван", "Иван Георгиев Петров", "Петров Иван Георгиев", "Иван П"):
        found = await crm.get("/api/v1/persons", params={"q": q, "min_position": p})
        assert [x["display_name"] for x in found.json()["items"]] == ["Иван Георгиев Петров"], q


async def test_caller_id_finds_counterparties_and_persons_the_caller_sees(embedded: EmbeddedCrm) -> None:
    admin = await embedded.start()
    for code in ("north", "south"):
        await admin.post("/api/v1/access-groups", json={"code": code, "name": code.title()})
    phone = [{"kind": "phone", "value": "+359 888 123 456"}]
    north_firm = await register(admin, "Северна ЕООД", access_group="north", contact_info=phone)
    south_firm = await register(admin, "Южна ЕООД", access_group="south", contact_info=phone)
    await admin.get(API, params={"min_position": south_firm["position"]})  # the person links to a card in the view
    person = await admin.post(
        "/api/v1/persons",
        json={
            "first_name": "Мария",
            "last_name": "Иванова",
            "contact_info": [{"kind": "phone", "value": "0888 123 456"}],
            "links": [{"counterparty_id": north_firm["id"], "position": "Управител"}],
        },
    )
    assert person.status_code == 201, person.text
    await admin.get("/api/v1/persons", params={"min_position": person.headers["X-Commit-Position"]})
    north = await embedded.client_for(["sales_manager"], ["north"])
    who = await north.get("/api/v1/lookup/phone", params={"number": "0888 12 34 56"})
    assert who.status_code == 200, who.text
    answer = who.json()
    assert answer["number"] == "+359888123456"
    assert [c["name"] for c in answer["counterparties"]] == ["Северна ЕООД"]
    assert [(p["display_name"], [x["counterparty_name"] for x in p["links"]]) for p in answer["persons"]] == [
        ("Мария Иванова", ["Северна ЕООД"])
    ]
    everyone = (await admin.get("/api/v1/lookup/phone", params={"number": "+359888123456"})).json()
    assert sorted(c["name"] for c in everyone["counterparties"]) == ["Северна ЕООД", "Южна ЕООД"]
    nobody = (await north.get("/api/v1/lookup/phone", params={"number": "+359 2 987 6543"})).json()
    assert nobody["counterparties"] == nobody["persons"] == []
    bad = await north.get("/api/v1/lookup/phone", params={"number": "not a number"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "number"
    assert (await embedded.anonymous().get("/api/v1/lookup/phone", params={"number": "0888123456"})).status_code == 401
