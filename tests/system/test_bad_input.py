"""Bad input gets a clear 4xx naming the problem, never a 500, and stores nothing."""

from __future__ import annotations

import httpx
import pytest

API = "/api/v1/counterparties"
GOOD = {"name": "Ромашка ООД", "relations": ["buyer"], "main_manager": "ivan"}


async def events_stored(crm: httpx.AsyncClient) -> int:
    """Events of counterparties (a fresh installation already holds its default reference entries)."""
    stored = await crm._transport.app.state.contacts.store.read_all(after=0)  # type: ignore[attr-defined]
    return sum(1 for e in stored if not e.stream.startswith("reference-"))


def fields(response: httpx.Response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


async def test_malformed_json_is_422_naming_the_body(crm: httpx.AsyncClient) -> None:
    response = await crm.post(API, content=b'{"name": "x",', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert fields(response) == {"body"}
    assert await events_stored(crm) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": 42}, "name"),
        ({"name": ["a"]}, "name"),
        ({"relations": ["customer"]}, "relations.0"),
        ({"relations": []}, "relations"),
        ({"relations": None}, "relations"),
        ({"main_manager": {"id": 1}}, "main_manager"),
        ({"tax_id": 123456}, "tax_id"),
        ({"tax_id": "not a tax id!"}, "tax_id"),
        ({"name": "x" * 201}, "name"),
        ({"name": "   "}, "name"),
        ({"main_manager": "m" * 101}, "main_manager"),
        ({"owner": "admin"}, "owner"),
        ({"id": "chosen-by-client"}, "id"),
    ],
)
async def test_wrong_types_oversized_and_unknown_fields_are_422_naming_the_field(
    crm: httpx.AsyncClient, change: dict[str, object], field: str
) -> None:
    response = await crm.post(API, json={**GOOD, **change})
    assert response.status_code == 422, response.text
    assert field in fields(response)
    assert await events_stored(crm) == 0


async def test_missing_fields_are_each_named(crm: httpx.AsyncClient) -> None:
    response = await crm.post(API, json={})
    assert response.status_code == 422
    assert fields(response) == {"name", "relations", "main_manager"}


async def test_a_body_that_is_not_an_object_is_422(crm: httpx.AsyncClient) -> None:
    response = await crm.post(API, json=["name"])
    assert response.status_code == 422


async def test_an_oversized_body_is_413(crm: httpx.AsyncClient) -> None:
    response = await crm.post(
        API, content=b'{"name": "' + b"x" * 2_000_000 + b'"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert await events_stored(crm) == 0


async def test_bad_query_parameters_are_4xx(crm: httpx.AsyncClient) -> None:
    assert (await crm.get(API, params={"limit": 0})).status_code == 422
    assert (await crm.get(API, params={"limit": "many"})).status_code == 422
    assert (await crm.get(API, params={"relation": "nobody"})).status_code == 422
    bad_cursor = await crm.get(API, params={"cursor": "!!not-ours"})
    assert bad_cursor.status_code == 422  # not of the cursor's pattern
    assert fields(bad_cursor) == {"cursor"}
    not_ours = await crm.get(API, params={"cursor": "bm90LW91cnM"})  # of the pattern, but not one we made
    assert not_ours.status_code == 400
    assert fields(not_ours) == {"cursor"}
    assert (await crm.get(API, params={"min_position": -1})).status_code == 422


async def test_bad_if_match_and_ids_are_4xx(crm: httpx.AsyncClient) -> None:
    created = await crm.post(API, json=GOOD)
    url = created.headers["Location"]
    response = await crm.patch(url, json={"name": "B"}, headers={"If-Match": "yesterday"})
    assert response.status_code == 422  # the header's pattern in the OpenAPI document
    assert fields(response) == {"If-Match"}
    assert (await crm.get(f"{API}/has spaces and ;")).status_code in (404, 422)
    assert (await crm.patch(f"{API}/00000000-0000-0000-0000-000000000000", json={"name": "B"})).status_code == 404
    assert (await crm.patch(url, json={"tax_id": "BG1", "extra": True})).status_code == 422


async def test_positions_beyond_64_bits_are_422_not_500(crm: httpx.AsyncClient) -> None:
    # Found by the OpenAPI fuzz: SQLite cannot hold such a number.
    response = await crm.get(API, params={"min_position": 2**64})
    assert response.status_code == 422
    assert fields(response) == {"min_position"}


async def test_optional_lists_and_maps_given_as_null_are_taken_as_empty(crm: httpx.AsyncClient) -> None:
    nulls = dict.fromkeys(("contact_info", "properties", "categories", "managers", "activity_kinds", "source"))
    created = await crm.post(API, json={**GOOD, **nulls})
    assert created.status_code == 201, created.text
    assert (created.json()["contact_info"], created.json()["categories"]) == ([], [])
