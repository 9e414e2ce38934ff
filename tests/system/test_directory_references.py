"""References to people and access groups, checked against each service's local copy of the gateway's
directory: unknown or retired users and groups are refused naming the field (or the query parameter),
one created a moment ago is accepted with no pause, and what a record named before stays."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tests.system.test_import_export_http import exported, imported, read_csv
from tests.system.test_interactions_http import counterparty

API = "/api/v1/counterparties"
INTERACTIONS = "/api/v1/interactions"


def _field(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    return str(response.json()["errors"][0]["field"])


async def _new_user(admin: httpx.AsyncClient, name: str = "Нов Служител") -> str:
    body = {"username": f"u{uuid.uuid4().hex[:10]}", "name": name, "password": f"pw-{uuid.uuid4().hex}"}
    created = await admin.post("/api/v1/users", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _retired_user(admin: httpx.AsyncClient) -> str:
    user_id = await _new_user(admin, "Бивш Служител")
    assert (await admin.patch(f"/api/v1/users/{user_id}", json={"locked": True})).status_code == 200
    return user_id


async def _retired_group(admin: httpx.AsyncClient) -> str:
    code = f"old{uuid.uuid4().hex[:6]}"
    assert (await admin.post("/api/v1/access-groups", json={"code": code, "name": "Old"})).status_code == 201
    assert (await admin.patch(f"/api/v1/access-groups/{code}", json={"retired": True})).status_code == 200
    return code


async def _counterparty(crm: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    body = {"name": f"Фирма {uuid.uuid4().hex[:6]}", "relations": ["buyer"], "main_manager": "ivan", **fields}
    return await crm.post(API, json=body)


async def _interaction(crm: httpx.AsyncClient, cid: str, **fields: Any) -> httpx.Response:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()
    body = {"kind": "call", "direction": "outgoing", "subject": "Обаждане", "responsible": "ivan", "start": start}
    body["counterparty_id"] = cid
    body.update(fields)
    return await crm.post(INTERACTIONS, json=body)


async def test_created_a_moment_ago_is_accepted_with_no_pause(crm: httpx.AsyncClient) -> None:
    user_id = await _new_user(crm, "Съвсем Нов")
    code = f"g{uuid.uuid4().hex[:6]}"
    assert (await crm.post("/api/v1/access-groups", json={"code": code, "name": "New"})).status_code == 201
    made = await _counterparty(crm, main_manager=user_id, managers=["maria"], access_group=code)
    assert made.status_code == 201, made.text

    cid = await counterparty(crm)
    other = await _new_user(crm, "Още Един")
    planned = await _interaction(crm, cid, responsible=other, participants=[user_id])
    assert planned.status_code == 201, planned.text
    now = datetime.now(UTC)
    window = {"from": now.isoformat(), "to": (now + timedelta(days=3)).isoformat()}
    calendar = await crm.get(f"{INTERACTIONS}/calendar", params={**window, "user": other})
    assert calendar.status_code == 200, calendar.text


async def test_unknown_and_retired_people_and_groups_are_refused_in_counterparties(crm: httpx.AsyncClient) -> None:
    retired, old_group = await _retired_user(crm), await _retired_group(crm)
    await _new_user(crm)  # the retirements have reached the copies when a later user has
    checks = await asyncio.gather(
        _counterparty(crm, main_manager="nobody"),
        _counterparty(crm, main_manager=retired),
        _counterparty(crm, managers=["maria", "nobody"]),
        _counterparty(crm, managers=[retired]),
        _counterparty(crm, access_group="nrth"),
        _counterparty(crm, access_group=old_group),
    )
    assert [_field(r) for r in checks] == [
        "main_manager",
        "main_manager",
        "managers[1]",
        "managers[0]",
        "access_group",
        "access_group",
    ]
    assert "retired" in checks[1].json()["errors"][0]["message"]

    made = await _counterparty(crm, access_group="north")
    url = made.headers["Location"]
    updates = await asyncio.gather(
        crm.patch(url, json={"main_manager": "nobody"}),
        crm.patch(url, json={"managers": ["ivan", retired]}),
        crm.patch(url, json={"access_group": "sotuh"}),
        crm.patch(url, json={"access_group": old_group}),
    )
    assert [_field(r) for r in updates] == ["main_manager", "managers[1]", "access_group", "access_group"]
    moved = await crm.patch(url, json={"access_group": "south", "managers": ["ivan", "maria"]})
    assert moved.status_code == 200, moved.text


async def test_unknown_and_retired_people_are_refused_in_interactions(crm: httpx.AsyncClient) -> None:
    retired = await _retired_user(crm)
    cid = await counterparty(crm)
    await _new_user(crm)
    checks = await asyncio.gather(
        _interaction(crm, cid, responsible="nobody"),
        _interaction(crm, cid, responsible=retired),
        _interaction(crm, cid, participants=["maria", "nobody"]),
        _interaction(crm, cid, participants=[retired]),
    )
    assert [_field(r) for r in checks] == ["responsible", "responsible", "participants[1]", "participants[0]"]

    made = await _interaction(crm, cid, participants=["maria"])
    assert made.status_code == 201, made.text
    url = f"{INTERACTIONS}/{made.json()['id']}"
    changed = await asyncio.gather(
        crm.patch(url, json={"responsible": "nobody"}), crm.patch(url, json={"participants": ["maria", retired]})
    )
    assert [_field(r) for r in changed] == ["responsible", "participants[1]"]

    now = datetime.now(UTC)
    window = {"from": now.isoformat(), "to": (now + timedelta(days=3)).isoformat()}
    queries = await asyncio.gather(
        crm.get(f"{INTERACTIONS}/calendar", params={**window, "user": "nobody"}),
        crm.get(f"{INTERACTIONS}/calendar", params={**window, "user": retired}),
        crm.get(INTERACTIONS, params={"responsible": "nobody"}),
    )
    assert [_field(r) for r in queries] == ["user", "user", "responsible"]
    assert (await crm.get(f"{INTERACTIONS}/calendar", params={**window, "user": "maria"})).status_code == 200


async def test_what_a_record_named_before_the_directory_stays(embedded: Any, crm: httpx.AsyncClient) -> None:
    # A counterparty from before the directory was published: its manager is no user the copy knows.
    rules = embedded.app.state.contacts.rules
    directory, rules.directory = rules.directory, None
    try:
        made = await _counterparty(crm, main_manager="ghost", managers=["ghost"])
    finally:
        rules.directory = directory
    assert made.status_code == 201
    url = made.headers["Location"]
    assert (await crm.get(url)).status_code == 200
    assert (await crm.patch(url, json={"name": "Преименувана"})).status_code == 200
    kept = await crm.patch(url, json={"managers": ["ghost", "maria"]})
    assert kept.status_code == 200 and kept.json()["managers"] == ["ghost", "maria"]


async def test_an_import_refuses_rows_naming_unknown_people_or_groups(crm: httpx.AsyncClient) -> None:
    retired = await _retired_user(crm)
    await _new_user(crm)
    rows = (
        "name;main_manager;managers;access_group\n"
        "Добра ООД;ivan;maria;north\n"
        "Без човек ООД;nobody;;north\n"
        f"Пенсия ООД;{retired};;north\n"
        "Грешка ООД;ivan;maria|nobody;north\n"
        "Печатна ООД;ivan;;nrth\n"
        "Втора без човек ООД;nobody;;south\n"
    )
    job = await imported(crm, rows)
    assert job["state"] == "succeeded", job
    assert job["progress"]["accepted"] == 1
    assert [(r["line"], r["column"]) for r in job["rejected"]] == [
        (3, "main_manager"),
        (4, "main_manager"),
        (5, "managers"),
        (6, "access_group"),
        (7, "main_manager"),
    ]


async def test_an_export_writes_each_managers_name_beside_the_id(crm: httpx.AsyncClient) -> None:
    known = await _counterparty(crm, name="С имена ООД", main_manager="ivan", managers=["maria", "petar"])
    assert known.status_code == 201
    await crm.get(known.headers["Location"], params={"min_position": known.headers["X-Commit-Position"]})
    _, file = await exported(crm, q="имена")
    [row] = read_csv(file.text)
    assert (row["main_manager"], row["main_manager_name"]) == ("ivan", "Иван Петров")
    assert (row["managers"], row["managers_names"]) == ("ivan|maria|petar", "Иван Петров|Мария Иванова|Петър Георгиев")
    header = file.text.lstrip("\ufeff").splitlines()[0].split(",")
    assert header.index("main_manager_name") == header.index("main_manager") + 1
    assert header.index("managers_names") == header.index("managers") + 1
