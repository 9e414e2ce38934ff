"""The access-group catalogue and the user directory over HTTP: who may do what, conflicts, If-Match,
retirement, the checks of grants, the audit trail and the directory search."""

from __future__ import annotations

from typing import Any

import pytest


async def _csrf(gw: Any) -> dict[str, str]:
    return {"X-CSRF-Token": await gw.admin()}


async def test_general_is_there_from_the_start_and_anyone_signed_in_lists_active_groups(gw: Any) -> None:
    admin = await _csrf(gw)
    await gw.create_user(admin["X-CSRF-Token"], "reader", "reader-password", roles=["read_only"])
    listed = await gw.client.get("/api/v1/access-groups")
    assert listed.status_code == 200
    assert [(g["code"], g["name"], g["retired"]) for g in listed.json()["items"]] == [("general", "General", False)]
    async with gw.new_client() as browser:
        assert (await browser.get("/api/v1/access-groups")).status_code == 401
        await gw.sign_in(browser, "reader", "reader-password")
        assert [g["code"] for g in (await browser.get("/api/v1/access-groups")).json()["items"]] == ["general"]
        # Only administrators define, change, or see retired groups.
        headers = {"X-CSRF-Token": await gw.sign_in(browser, "reader", "reader-password")}
        made = await browser.post("/api/v1/access-groups", json={"code": "x", "name": "X"}, headers=headers)
        assert made.status_code == 403
        assert (
            await browser.patch("/api/v1/access-groups/general", json={"name": "Y"}, headers=headers)
        ).status_code == 403
        assert (await browser.get("/api/v1/access-groups", params={"include_retired": "true"})).status_code == 403


async def test_define_rename_retire_restore_with_etags(gw: Any) -> None:
    admin = await _csrf(gw)
    made = await gw.client.post("/api/v1/access-groups", json={"code": "sofia", "name": "Sofia"}, headers=admin)
    assert made.status_code == 201, made.text
    assert made.headers["location"] == "/api/v1/access-groups/sofia" and made.headers["etag"] == '"0"'
    assert made.json() == {"code": "sofia", "name": "Sofia", "retired": False, "version": 0}

    taken = await gw.client.post("/api/v1/access-groups", json={"code": "sofia", "name": "Again"}, headers=admin)
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "code"
    bad = await gw.client.post("/api/v1/access-groups", json={"code": "Sofia Office", "name": "S"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"

    renamed = await gw.client.patch(
        "/api/v1/access-groups/sofia", json={"name": "Sofia office"}, headers={**admin, "If-Match": '"0"'}
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Sofia office" and renamed.headers["etag"] == '"1"'
    stale = await gw.client.patch(
        "/api/v1/access-groups/sofia", json={"retired": True}, headers={**admin, "If-Match": '"0"'}
    )
    assert stale.status_code == 412
    missing = await gw.client.patch("/api/v1/access-groups/nowhere", json={"name": "N"}, headers=admin)
    assert missing.status_code == 404

    retired = await gw.client.patch(
        "/api/v1/access-groups/sofia", json={"retired": True}, headers={**admin, "If-Match": '"1"'}
    )
    assert retired.status_code == 200 and retired.json()["retired"] is True
    active = (await gw.client.get("/api/v1/access-groups")).json()["items"]
    assert [g["code"] for g in active] == ["general"]
    everything = (await gw.client.get("/api/v1/access-groups", params={"include_retired": "true"})).json()["items"]
    assert [(g["code"], g["retired"]) for g in everything] == [("general", False), ("sofia", True)]
    got = await gw.client.get("/api/v1/access-groups/sofia")
    assert got.status_code == 200 and got.headers["etag"] == '"2"' and got.json()["retired"] is True

    restored = await gw.client.patch("/api/v1/access-groups/sofia", json={"retired": False}, headers=admin)
    assert restored.json()["retired"] is False
    page = (await gw.client.get("/api/v1/access-groups", params={"limit": 1})).json()
    second = (await gw.client.get("/api/v1/access-groups", params={"limit": 1, "cursor": page["next_cursor"]})).json()
    assert [g["code"] for g in page["items"] + second["items"]] == ["general", "sofia"]

    # Every change is in the audit trail, with its actor.
    admin_id = (await gw.client.get("/api/v1/me")).json()["id"]
    entries = (await gw.client.get("/api/v1/audit", params={"actor": admin_id, "limit": 500})).json()["items"]
    actions = [(e["action"], e["details"]) for e in entries if e["action"].startswith("access_group")]
    assert actions == [
        ("access_group_restored", {"code": "sofia"}),
        ("access_group_retired", {"code": "sofia"}),
        ("access_group_renamed", {"code": "sofia", "name": "Sofia office"}),
        ("access_group_defined", {"code": "sofia", "name": "Sofia"}),
    ]


async def test_a_retired_group_is_not_found_for_non_administrators(gw: Any) -> None:
    admin = await _csrf(gw)
    await gw.client.post("/api/v1/access-groups", json={"code": "old", "name": "Old"}, headers=admin)
    await gw.client.patch("/api/v1/access-groups/old", json={"retired": True}, headers=admin)
    await gw.create_user(admin["X-CSRF-Token"], "reader", "reader-password", roles=["read_only"])
    async with gw.new_client() as browser:
        await gw.sign_in(browser, "reader", "reader-password")
        assert (await browser.get("/api/v1/access-groups/old")).status_code == 404
        assert (await browser.get("/api/v1/access-groups/nowhere")).status_code == 404
        assert (await browser.get("/api/v1/access-groups/general")).status_code == 200


async def test_a_grant_must_name_an_active_group_of_the_catalogue(gw: Any) -> None:
    admin = await _csrf(gw)
    await gw.client.post("/api/v1/access-groups", json={"code": "varna", "name": "Varna"}, headers=admin)
    body = {"username": "typo", "name": "Typo", "password": "typo-password-1", "groups": ["varan"]}
    typo = await gw.client.post("/api/v1/users", json=body, headers=admin)
    assert typo.status_code == 422
    assert typo.json()["errors"][0]["field"] == "groups" and "varan" in typo.json()["errors"][0]["message"]
    # Nothing was reserved by the refused creation: the username is still free.
    user = await gw.create_user(admin["X-CSRF-Token"], "typo", "typo-password-1", groups=["varna"], roles=["marketer"])

    patched = await gw.client.patch(f"/api/v1/users/{user['id']}", json={"groups": ["varna", "sofai"]}, headers=admin)
    assert patched.status_code == 422 and patched.json()["errors"][0]["field"] == "groups"

    # A retired group cannot be granted anew, but a user who has it keeps it through other changes.
    await gw.client.patch("/api/v1/access-groups/varna", json={"retired": True}, headers=admin)
    kept = await gw.client.patch(f"/api/v1/users/{user['id']}", json={"groups": ["varna", "general"]}, headers=admin)
    assert kept.status_code == 200, kept.text
    body = {"username": "late", "name": "Late", "password": "late-password-1", "groups": ["varna"]}
    late = await gw.client.post("/api/v1/users", json=body, headers=admin)
    assert late.status_code == 422 and "retired" in late.json()["errors"][0]["message"]

    # An API key's groups too.
    key = await gw.client.post(
        "/api/v1/api-keys", json={"name": "k", "roles": ["read_only"], "groups": ["genral"]}, headers=admin
    )
    assert key.status_code == 422 and key.json()["errors"][0]["field"] == "groups"
    key = await gw.client.post(
        "/api/v1/api-keys", json={"name": "k", "roles": ["read_only"], "groups": ["general"]}, headers=admin
    )
    assert key.status_code == 201


async def test_groups_granted_before_the_catalogue_are_adopted_at_start(make_gateway: Any) -> None:
    gw = await make_gateway()
    csrf = await gw.admin()
    # As an installation from before the catalogue: a grant of a group nobody defined.
    from crm_gateway.application.users import SYSTEM
    from crm_gateway.domain import user as u

    user = await gw.create_user(csrf, "old", "old-password-1")
    await gw.service.users.apply(
        u.UpdateUser(user["id"], gw.service.users.now(), groups=frozenset({"Plovdiv office", "ruse"})), SYSTEM
    )
    await gw.service.seed_access_groups()
    await gw.service.seed_access_groups()  # idempotent
    codes = [g["code"] for g in (await gw.client.get("/api/v1/access-groups")).json()["items"]]
    assert codes == ["Plovdiv office", "general", "ruse"]
    events = await gw.service.store.read_all(after=0, limit=10_000)
    assert sum(e.type == "gateway.AccessGroupDefined" for e in events) == 3


async def test_the_directory_finds_people_by_the_start_of_any_words(gw: Any) -> None:
    admin = await _csrf(gw)
    csrf = admin["X-CSRF-Token"]
    ivan = await gw.create_user(csrf, "ivan.petrov", name="Иван Петров")
    maria = await gw.create_user(csrf, "mstoyanova", name="Мария Стоянова-Иванова")
    john = await gw.create_user(csrf, "john", name="John Smith")
    await gw.client.patch(f"/api/v1/users/{john['id']}", json={"locked": True}, headers=admin)
    await gw.create_user(csrf, "reader", "reader-password", roles=["read_only"])

    async with gw.new_client() as browser:
        await gw.sign_in(browser, "reader", "reader-password")

        async def names(**params: Any) -> list[str]:
            response = await browser.get("/api/v1/directory/users", params=params)
            assert response.status_code == 200, response.text
            return [u["name"] for u in response.json()["items"]]

        assert await names(q="пет ив") == ["Иван Петров"]
        assert await names(q="ИВ") == ["Иван Петров", "Мария Стоянова-Иванова"]
        assert await names(q="иванова мар") == ["Мария Стоянова-Иванова"]
        assert await names(q="ivan") == ["Иван Петров"]  # the username's words count too
        assert await names(q="petrov ivan") == ["Иван Петров"]
        assert await names(q="ван") == []  # the start of a word, not the middle
        assert await names(q="smi") == ["John Smith"]

        found = (await browser.get("/api/v1/directory/users", params={"q": "john"})).json()["items"]
        assert found == [{"id": john["id"], "username": "john", "name": "John Smith", "active": False}]

        resolved = await browser.get("/api/v1/directory/users", params={"ids": f"{maria['id']},nobody,{ivan['id']}"})
        assert [u["id"] for u in resolved.json()["items"]] == [maria["id"], ivan["id"]]
        assert resolved.json()["next_cursor"] is None

        everyone = await names(limit=100)
        assert everyone == sorted(everyone, key=str.casefold) and len(everyone) == 5
        first = (await browser.get("/api/v1/directory/users", params={"q": "и", "limit": 1})).json()
        rest = (await browser.get("/api/v1/directory/users", params={"q": "и", "cursor": first["next_cursor"]})).json()
        both = [u["name"] for u in first["items"] + rest["items"]]
        assert sorted(both) == ["Иван Петров", "Мария Стоянова-Иванова"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"cursor": "garbage"}])
async def test_bad_directory_parameters_are_4xx(gw: Any, params: dict[str, Any]) -> None:
    await gw.admin()
    response = await gw.client.get("/api/v1/directory/users", params=params)
    assert 400 <= response.status_code < 500
