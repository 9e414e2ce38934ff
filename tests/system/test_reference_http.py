"""Reference data end to end in embedded mode: administrators keep the catalogs over HTTP, everyone who
reads counterparties reads them, the view follows, and ``ReferenceData.require`` knows an entry at once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from crm_shared.errors import DomainError
from crm_shared.http import POSITION_HEADER

API = "/api/v1/reference"


def service_of(crm: httpx.AsyncClient) -> Any:
    return crm._transport.app.state.contacts  # type: ignore[attr-defined]


async def define(crm: httpx.AsyncClient, catalog: str, code: str, name: str, **attributes: Any) -> httpx.Response:
    response = await crm.post(f"{API}/{catalog}", json={"code": code, "name": name, "attributes": attributes})
    assert response.status_code == 201, response.text
    return response


async def listed(crm: httpx.AsyncClient, catalog: str, after: httpx.Response, **params: Any) -> list[dict[str, Any]]:
    answer = await crm.get(f"{API}/{catalog}", params={"min_position": after.headers[POSITION_HEADER], **params})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def fields_of(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return [e["field"] for e in response.json().get("errors", [])]


async def test_an_administrator_defines_a_source_and_everyone_sees_it(crm: httpx.AsyncClient) -> None:
    created = await define(crm, "sources", "trade-fair", "Изложение", actuality_days=90)
    assert created.headers["Location"] == f"{API}/sources/trade-fair"
    assert created.headers["ETag"] == '"0"'
    assert created.json() == {
        "catalog": "sources",
        "code": "trade-fair",
        "name": "Изложение",
        "names": {},
        "attributes": {"actuality_days": 90},
        "retired": False,
        "version": 0,
    }
    fetched = await crm.get(created.headers["Location"])
    assert fetched.status_code == 200
    assert fetched.headers["ETag"] == '"0"'
    assert fetched.json() == created.json()
    assert "trade-fair" in [e["code"] for e in await listed(crm, "sources", created)]


async def test_require_knows_an_entry_the_moment_it_is_defined_and_refuses_a_retired_one(
    crm: httpx.AsyncClient,
) -> None:
    reference = service_of(crm).reference
    with pytest.raises(DomainError) as unknown:
        await reference.require("sources", "fair", field="source")
    assert unknown.value.field == "source"
    await define(crm, "sources", "fair", "Fair", actuality_days=30)
    entry = await reference.require("sources", "fair", field="source")
    assert (entry.name, entry.attributes, entry.retired) == ("Fair", {"actuality_days": 30}, False)

    retired = await crm.post(f"{API}/sources/fair/retire")
    assert retired.status_code == 200, retired.text
    with pytest.raises(DomainError, match="retired") as caught:
        await reference.require("sources", "fair", field="interaction.source")
    assert caught.value.field == "interaction.source"
    with pytest.raises(DomainError):
        await reference.require("sources", "Not A Code", field="source")

    restored = await crm.post(f"{API}/sources/fair/restore")
    assert restored.status_code == 200
    assert (await reference.require("sources", "fair", field="source")).retired is False
    await listed(crm, "sources", restored)
    assert "fair" in [e.code for e in await reference.entries("sources")]


async def test_a_sales_manager_reads_but_may_not_change_and_strangers_are_not_let_in(
    embedded: Any, crm: httpx.AsyncClient
) -> None:
    created = await define(crm, "activity-kinds", "north", "Север")
    manager = await embedded.client_for(roles=["sales_manager"], groups=["north"])
    assert [e["name"] for e in await listed(manager, "activity-kinds", created)] == ["Север"]
    assert (await manager.get(f"{API}/activity-kinds/north")).status_code == 200
    assert (await manager.get(API)).status_code == 200
    writes = [
        manager.post(f"{API}/activity-kinds", json={"code": "south", "name": "Юг"}),
        manager.patch(f"{API}/activity-kinds/north", json={"name": "Север 2"}),
        manager.post(f"{API}/activity-kinds/north/retire"),
        manager.post(f"{API}/activity-kinds/north/restore"),
    ]
    for answer in await asyncio.gather(*writes):
        assert answer.status_code == 403, answer.text
    assert (await crm.get(f"{API}/activity-kinds/north")).json()["version"] == 0

    async with embedded.anonymous() as stranger:
        assert (await stranger.get(f"{API}/activity-kinds")).status_code == 401
        assert (await stranger.get(API)).status_code == 401
        assert (await stranger.post(f"{API}/activity-kinds", json={"code": "x", "name": "X"})).status_code == 401


async def test_a_taken_code_is_409_and_a_retried_request_with_its_key_is_not(crm: httpx.AsyncClient) -> None:
    await define(crm, "categories", "vip", "VIP")
    again = await crm.post(f"{API}/categories", json={"code": "vip", "name": "Other"})
    assert again.status_code == 409
    assert fields_of(again) == ["code"]

    key = {"Idempotency-Key": "define-wholesale-1"}
    first = await crm.post(f"{API}/categories", json={"code": "wholesale", "name": "Wholesale"}, headers=key)
    retry = await crm.post(f"{API}/categories", json={"code": "wholesale", "name": "Wholesale"}, headers=key)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers[POSITION_HEADER] == first.headers[POSITION_HEADER]


async def test_changes_need_the_current_version_when_if_match_is_given(crm: httpx.AsyncClient) -> None:
    url = (await define(crm, "sources", "call", "Call", actuality_days=7)).headers["Location"]
    renamed = await crm.patch(url, json={"name": "Phone call"}, headers={"If-Match": '"0"'})
    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["ETag"] == '"1"'
    assert renamed.json()["attributes"] == {"actuality_days": 7}
    stale = await crm.patch(url, json={"attributes": {"actuality_days": 1}}, headers={"If-Match": '"0"'})
    assert stale.status_code == 412
    assert fields_of(stale) == ["If-Match"]
    stale_retire = await crm.post(f"{url}/retire", headers={"If-Match": '"0"'})
    assert stale_retire.status_code == 412
    changed = await crm.patch(url, json={"attributes": {"actuality_days": 0}}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200
    assert changed.json()["attributes"] == {"actuality_days": 0}
    unchanged = await crm.patch(url, json={"name": "Phone call"})
    assert unchanged.status_code == 200
    assert unchanged.headers["ETag"] == '"2"'


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("regions", {"code": "North", "name": "N"}, "code"),
    ("regions", {"code": "-n", "name": "N"}, "code"),
    ("regions", {"code": "north", "name": "   "}, "name"),
    ("regions", {"code": "north", "name": "x" * 201}, "name"),
    ("regions", {"name": "N"}, "code"),
    ("regions", {"code": "north", "name": "N", "colour": "red"}, "colour"),
    ("regions", {"code": "north", "name": "N", "attributes": {"actuality_days": 5}}, "attributes.actuality_days"),
    ("sources", {"code": "s", "name": "S", "attributes": {"actuality_days": -1}}, "attributes.actuality_days"),
    ("sources", {"code": "s", "name": "S", "attributes": {"actuality_days": "soon"}}, "attributes.actuality_days"),
    ("sources", {"code": "s", "name": "S", "attributes": {"colour": 1}}, "attributes.colour"),
    ("contact-kinds", {"code": "k", "name": "K"}, "attributes.type"),
    ("contact-kinds", {"code": "k", "name": "K", "attributes": {"type": "fax"}}, "attributes.type"),
    ("properties", {"code": "p", "name": "P", "attributes": {"value_type": "choice"}}, "attributes.choices"),
    (
        "properties",
        {"code": "p", "name": "P", "attributes": {"value_type": "string", "choices": ["a"]}},
        "attributes.choices",
    ),
    (
        "properties",
        {"code": "p", "name": "P", "attributes": {"applies_to": "robot", "value_type": "date"}},
        "attributes.applies_to",
    ),
    ("groups", {"code": "g", "name": "G", "attributes": {"parent": "missing"}}, "attributes.parent"),
    ("groups", {"code": "g", "name": "G", "attributes": {"parent": "Bad Parent"}}, "attributes.parent"),
]


async def test_bad_input_is_422_naming_the_field(crm: httpx.AsyncClient) -> None:
    head = await service_of(crm).store.head_position()  # after the default entries of a fresh installation
    wrong = []
    for catalog, body, field in BAD_INPUT:
        answer = await crm.post(f"{API}/{catalog}", json=body)
        if answer.status_code != 422 or field not in fields_of(answer):
            wrong.append(f"{catalog} {body}: {answer.status_code} {answer.text}")
    assert wrong == []
    stored = await service_of(crm).store.read_all(after=head)
    assert [e.stream for e in stored if e.stream.startswith("reference-")] == []


async def test_an_unknown_catalog_is_404_naming_it(crm: httpx.AsyncClient) -> None:
    for answer in await asyncio.gather(
        crm.get(f"{API}/colours"),
        crm.post(f"{API}/colours", json={"code": "red", "name": "Red"}),
        crm.get(f"{API}/colours/red"),
        crm.post(f"{API}/colours/red/retire"),
    ):
        assert answer.status_code == 404
        assert "colours" in answer.json()["detail"]
    assert (await crm.get(f"{API}/regions/nowhere")).status_code == 404
    assert (await crm.patch(f"{API}/regions/nowhere", json={"name": "X"})).status_code == 404


async def test_a_property_keeps_its_value_type(crm: httpx.AsyncClient) -> None:
    url = (await define(crm, "properties", "size", "Size", value_type="choice", choices=["S", "M"])).headers["Location"]
    retyped = await crm.patch(url, json={"attributes": {"value_type": "string", "choices": []}})
    assert retyped.status_code == 422
    assert fields_of(retyped) == ["attributes.value_type"]
    more = await crm.patch(url, json={"attributes": {"choices": ["S", "M", "L"]}})
    assert more.status_code == 200
    assert more.json()["attributes"] == {"value_type": "choice", "choices": ["S", "M", "L"], "applies_to": "both"}


async def test_retired_entries_leave_the_list_unless_asked_for_and_come_back_on_restore(crm: httpx.AsyncClient) -> None:
    await define(crm, "activity-kinds", "retail", "Retail")
    await define(crm, "activity-kinds", "build", "Construction")
    retired = await crm.post(f"{API}/activity-kinds/retail/retire")
    assert retired.status_code == 200
    assert retired.json()["retired"] is True
    assert retired.headers["ETag"] == '"1"'
    assert [e["code"] for e in await listed(crm, "activity-kinds", retired)] == ["build"]
    every = await listed(crm, "activity-kinds", retired, include_retired="true")
    assert [(e["code"], e["retired"]) for e in every] == [("build", False), ("retail", True)]
    again = await crm.post(f"{API}/activity-kinds/retail/retire")
    assert again.status_code == 200
    assert again.headers["ETag"] == '"1"'  # already retired: nothing recorded

    restored = await crm.post(f"{API}/activity-kinds/retail/restore")
    renamed = await crm.patch(f"{API}/activity-kinds/retail", json={"name": "Asphalt"})
    assert restored.status_code == renamed.status_code == 200
    assert [e["name"] for e in await listed(crm, "activity-kinds", renamed)] == ["Asphalt", "Construction"]


async def test_lists_are_sorted_by_name_and_paged(crm: httpx.AsyncClient) -> None:
    last = None
    for code, name in [("c", "Варна"), ("a", "бургас"), ("d", "Русе"), ("b", "Благоевград"), ("e", "Athens")]:
        last = await define(crm, "activity-kinds", code, name)
    assert last is not None
    await listed(crm, "activity-kinds", last)
    names: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await crm.get(f"{API}/activity-kinds", params=params)).json()
        names.extend(e["name"] for e in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert names == ["Athens", "Благоевград", "бургас", "Варна", "Русе"]
    bad = await crm.get(f"{API}/activity-kinds", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400
    assert fields_of(bad) == ["cursor"]


async def seeded(crm: httpx.AsyncClient, catalog: str, count: int) -> dict[str, dict[str, Any]]:
    """The entries of a catalog once the view shows at least ``count`` (seeding runs as the CRM starts)."""
    for _ in range(200):
        items = (await crm.get(f"{API}/{catalog}", params={"limit": 100, "include_retired": "true"})).json()["items"]
        if len(items) >= count:
            return {e["code"]: e for e in items}
        await asyncio.sleep(0.05)
    raise AssertionError(f"{catalog}: fewer than {count} entries")


async def test_a_fresh_installation_offers_usual_entries_named_in_each_language(embedded: Any) -> None:
    crm = await embedded.start()
    sources = await seeded(crm, "sources", 7)
    assert {"website", "referral", "exhibition", "advertisement", "phone-call"} <= sources.keys()
    assert sources["exhibition"]["names"] == {"bg": "Изложение", "en": "Exhibition"}
    assert sources["exhibition"]["name"] == "Изложение"
    regions = await seeded(crm, "regions", 28)
    assert len(regions) == 28 and all(e["names"]["bg"] and e["names"]["en"] for e in regions.values())
    roles = await seeded(crm, "person-roles", 7)
    assert {"manager", "chief-accountant", "decision-maker"} <= roles.keys()

    # An administrator's rename names the entry the same in every language, and survives a restart,
    # as do retirements; nothing is seeded twice.
    renamed = await crm.patch(f"{API}/sources/website", json={"name": "Нашият сайт"})
    assert renamed.status_code == 200 and renamed.json()["names"] == {}
    assert (await crm.post(f"{API}/regions/yambol/retire")).status_code == 200
    explicit = await crm.patch(
        f"{API}/sources/referral", json={"names": {"bg": "Препоръка от клиент", "en": "Customer referral"}}
    )
    assert explicit.status_code == 200 and explicit.json()["name"] == "Препоръка"
    await embedded.stop()
    crm = await embedded.start()
    await listed(crm, "sources", explicit)
    again = await seeded(crm, "sources", 7)
    assert again.keys() == sources.keys()
    assert (again["website"]["name"], again["website"]["names"]) == ("Нашият сайт", {})
    assert again["referral"]["names"]["en"] == "Customer referral"
    assert (await crm.get(f"{API}/regions/yambol")).json()["retired"] is True

    bad = await crm.patch(f"{API}/sources/referral", json={"names": {"de": "Empfehlung"}})
    assert bad.status_code == 422 and fields_of(bad)[0].startswith("names")
    blank = await crm.patch(f"{API}/sources/referral", json={"names": {"en": "  "}})
    assert blank.status_code == 422 and fields_of(blank)[0].startswith("names")


async def test_groups_form_a_tree_without_cycles(crm: httpx.AsyncClient) -> None:
    await define(crm, "groups", "europe", "Europe")
    await define(crm, "groups", "bulgaria", "Bulgaria", parent="europe")
    await define(crm, "groups", "sofia", "Sofia", parent="bulgaria")
    cycle = await crm.patch(f"{API}/groups/europe", json={"attributes": {"parent": "sofia"}})
    assert cycle.status_code == 422
    assert fields_of(cycle) == ["attributes.parent"]
    itself = await crm.patch(f"{API}/groups/europe", json={"attributes": {"parent": "europe"}})
    assert itself.status_code == 422

    await crm.post(f"{API}/groups/europe/retire")
    under_retired = await crm.post(
        f"{API}/groups", json={"code": "plovdiv", "name": "P", "attributes": {"parent": "europe"}}
    )
    assert under_retired.status_code == 422
    assert "retired" in under_retired.json()["detail"]
    top = await crm.patch(f"{API}/groups/sofia", json={"attributes": {"parent": None}})
    assert top.status_code == 200
    assert top.json()["attributes"] == {"parent": None}


async def test_concurrent_moves_cannot_make_a_cycle_together(crm: httpx.AsyncClient) -> None:
    for code in ("a", "b", "c"):
        await define(crm, "groups", code, code.upper())
    for _ in range(3):
        moves = await asyncio.gather(
            crm.patch(f"{API}/groups/a", json={"attributes": {"parent": "b"}}),
            crm.patch(f"{API}/groups/b", json={"attributes": {"parent": "c"}}),
            crm.patch(f"{API}/groups/c", json={"attributes": {"parent": "a"}}),
        )
        assert all(m.status_code in (200, 409, 422) for m in moves), [m.text for m in moves]
        parents = {c: (await crm.get(f"{API}/groups/{c}")).json()["attributes"]["parent"] for c in ("a", "b", "c")}
        assert None in parents.values(), parents  # some group stays at the top: no cycle
        for code in ("a", "b", "c"):
            await crm.patch(f"{API}/groups/{code}", json={"attributes": {"parent": None}})


async def test_the_catalogs_and_their_attributes_are_listed_for_the_ui(crm: httpx.AsyncClient) -> None:
    answer = await crm.get(API)
    assert answer.status_code == 200
    catalogs = {c["catalog"]: c["attributes"] for c in answer.json()["items"]}
    assert list(catalogs) == [
        "contact-kinds",
        "person-roles",
        "properties",
        "categories",
        "sources",
        "groups",
        "activity-kinds",
        "regions",
    ]
    [days] = catalogs["sources"]
    assert (days["name"], days["type"], days["default"], days["minimum"]) == ("actuality_days", "integer", 0, 0)
    value_type = catalogs["properties"][0]
    assert value_type["immutable"] and value_type["required"]
    assert value_type["options"] == ["string", "number", "date", "boolean", "choice"]
    assert catalogs["groups"][0]["refers_to"] == "groups"
    assert catalogs["regions"] == []


async def test_reference_events_are_published_on_their_topic(crm: httpx.AsyncClient) -> None:
    created = await define(crm, "sources", "web", "Web site", actuality_days=365)
    service = service_of(crm)
    from crm_contacts.application.publishing import translate

    stored = [e for e in await service.store.read_all(after=0) if e.stream == "reference-sources-web"]
    [envelope] = translate(stored[0])
    assert (envelope.topic, envelope.type, envelope.subject) == (
        "crm.contacts.reference.v1",
        "crm.contacts.ReferenceEntryDefined",
        "sources:web",
    )
    assert dict(envelope.data) == {
        "catalog": "sources",
        "code": "web",
        "name": "Web site",
        "attributes": {"actuality_days": 365},
        "names": {},
    }
    assert envelope.position == int(created.headers[POSITION_HEADER])
