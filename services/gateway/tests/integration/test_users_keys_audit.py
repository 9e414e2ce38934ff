"""API keys, user administration and the audit trail, over HTTP."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

import pytest

SIGN_IN = "/api/v1/session"


async def test_api_key_issue_use_and_revoke(gw: Any) -> None:
    csrf = await gw.admin()
    await gw.define_groups(csrf, "sofia")
    response = await gw.client.post(
        "/api/v1/api-keys",
        json={"name": "ERP sync", "roles": ["read_only"], "groups": ["sofia"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    issued = response.json()
    key, key_id = issued["key"], issued["id"]
    assert key.startswith(f"crm_{key_id}_")
    secret = key.split("_", 2)[2]

    async with gw.new_client() as system:
        bearer = {"Authorization": f"Bearer {key}"}
        me = await system.get("/api/v1/me", headers=bearer)
        assert me.status_code == 200
        assert me.json()["id"] == f"apikey:{key_id}"
        assert me.json()["roles"] == ["read_only"] and me.json()["groups"] == ["sofia"]
        # Bearer requests need no CSRF token, and the key's roles are all it has.
        assert (await system.post("/api/v1/test/echo", headers=bearer)).json()["user_id"] == f"apikey:{key_id}"
        assert (await system.get("/api/v1/users", headers=bearer)).status_code == 403
        wrong = {"Authorization": f"Bearer crm_{key_id}_{'x' * len(secret)}"}
        assert (await system.get("/api/v1/me", headers=wrong)).status_code == 401
        assert (await system.get("/api/v1/me", headers={"Authorization": "Basic abc"})).status_code == 401

        listed = await gw.client.get("/api/v1/api-keys")
        assert listed.status_code == 200
        assert [k["id"] for k in listed.json()["items"]] == [key_id]
        assert secret not in listed.text and "key" not in listed.json()["items"][0]

        revoked = await gw.client.delete(f"/api/v1/api-keys/{key_id}", headers={"X-CSRF-Token": csrf})
        assert revoked.status_code == 204
        assert (await system.get("/api/v1/me", headers=bearer)).status_code == 401
        assert (await gw.client.get("/api/v1/api-keys")).json()["items"][0]["revoked"] is True

    # The secret is stored nowhere, in plain text: only its SHA-256 is.
    for path in gw.data_dir.rglob("*.db*"):
        assert secret.encode() not in path.read_bytes(), path
    events = await gw.service.store.read_all(after=0, limit=10_000)
    dumped = json.dumps([[e.type, dict(e.data), dict(e.metadata)] for e in events])
    assert secret not in dumped and key not in dumped
    assert "gateway.ApiKeyIssued" in dumped and "gateway.ApiKeyRevoked" in dumped


async def test_an_api_key_gets_only_roles_and_groups_its_owner_has(gw: Any) -> None:
    csrf = await gw.admin()
    await gw.create_user(csrf, "marketer", "market-password", roles=["marketer"], groups=["varna"])
    async with gw.new_client() as browser:
        mcsrf = await gw.sign_in(browser, "marketer", "market-password")
        too_much = await browser.post(
            "/api/v1/api-keys", json={"name": "x", "roles": ["administrator"]}, headers={"X-CSRF-Token": mcsrf}
        )
        assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "roles"
        other_group = await browser.post(
            "/api/v1/api-keys",
            json={"name": "x", "roles": ["marketer"], "groups": ["sofia"]},
            headers={"X-CSRF-Token": mcsrf},
        )
        assert other_group.status_code == 422 and other_group.json()["errors"][0]["field"] == "groups"
        ok = await browser.post(
            "/api/v1/api-keys",
            json={"name": "x", "roles": ["marketer"], "groups": ["varna"]},
            headers={"X-CSRF-Token": mcsrf},
        )
        assert ok.status_code == 201
        # A non-administrator cannot revoke someone else's key: it does not exist for them.
        admin_key = await gw.client.post(
            "/api/v1/api-keys", json={"name": "a", "roles": ["administrator"]}, headers={"X-CSRF-Token": csrf}
        )
        deleted = await browser.delete(f"/api/v1/api-keys/{admin_key.json()['id']}", headers={"X-CSRF-Token": mcsrf})
        assert deleted.status_code == 404
        mine = (await browser.get("/api/v1/api-keys")).json()["items"]
        assert [k["id"] for k in mine] == [ok.json()["id"]]
    everyone = (await gw.client.get("/api/v1/api-keys")).json()["items"]
    assert len(everyone) == 2


async def test_admin_creates_reads_updates_users_with_etags(gw: Any) -> None:
    csrf = await gw.admin()
    await gw.define_groups(csrf, "sofia", "varna", "plovdiv", "ruse", "burgas")
    headers = {"X-CSRF-Token": csrf}
    created = await gw.client.post(
        "/api/v1/users",
        json={
            "username": "Ivan.P",
            "name": "Иван Петров",
            "password": "ivan-password",
            "roles": ["sales_manager"],
            "groups": ["sofia"],
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert created.headers["location"] == f"/api/v1/users/{user['id']}"
    assert created.headers["etag"] == f'"{user["version"]}"'
    assert "password" not in created.text and "hash" not in created.text

    got = await gw.client.get(f"/api/v1/users/{user['id']}")
    assert got.status_code == 200 and got.json()["roles"] == ["sales_manager"]
    tag = got.headers["etag"]

    updated = await gw.client.patch(
        f"/api/v1/users/{user['id']}",
        json={"roles": ["head_of_sales"], "groups": ["sofia", "varna"], "name": "Иван П."},
        headers={**headers, "If-Match": tag},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["roles"] == ["head_of_sales"] and updated.json()["groups"] == ["sofia", "varna"]
    assert updated.headers["etag"] != tag
    stale = await gw.client.patch(
        f"/api/v1/users/{user['id']}", json={"name": "Stale"}, headers={**headers, "If-Match": tag}
    )
    assert stale.status_code == 412

    page = await gw.client.get("/api/v1/users", params={"q": "IVAN"})
    assert [u["username"] for u in page.json()["items"]] == ["Ivan.P"]
    assert page.json()["items"][0]["name"] == "Иван П."

    reset = await gw.client.post(
        f"/api/v1/users/{user['id']}/password", json={"new_password": "brand-new-pass"}, headers=headers
    )
    assert reset.status_code == 204
    async with gw.new_client() as browser:
        await gw.sign_in(browser, "ivan.p", "brand-new-pass")  # usernames sign in in any case
        assert (await browser.get("/api/v1/me")).json()["roles"] == ["head_of_sales"]

    roles = (await gw.client.get("/api/v1/roles")).json()
    assert {r["role"] for r in roles} == {"administrator", "head_of_sales", "sales_manager", "marketer", "read_only"}
    assert "users:admin" in next(r for r in roles if r["role"] == "administrator")["permissions"]
    assert (await gw.client.get("/api/v1/users/nobody")).status_code == 404


async def test_users_are_paginated(gw: Any) -> None:
    csrf = await gw.admin()
    for i in range(5):
        await gw.create_user(csrf, f"user{i}")
    first = (await gw.client.get("/api/v1/users", params={"limit": 4})).json()
    second = (await gw.client.get("/api/v1/users", params={"limit": 4, "cursor": first["next_cursor"]})).json()
    names = [u["username"] for u in first["items"] + second["items"]]
    assert names == ["admin", "user0", "user1", "user2", "user3", "user4"]
    assert second["next_cursor"] is None
    bad = await gw.client.get("/api/v1/users", params={"cursor": "nonsense!"})
    assert bad.status_code == 422  # not of the cursor's pattern in the OpenAPI document
    assert bad.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"id": "x"}, "id"),
        ({"permissions": ["users:admin"]}, "permissions"),
        ({"password_hash": "$argon2id$..."}, "password_hash"),
        ({"created_by": "someone"}, "created_by"),
        ({"roles": ["superuser"]}, "roles.0"),
        ({"password": "short"}, "password"),
        ({"username": "bad name!"}, "username"),
        ({"language": "de"}, "language"),
    ],
)
async def test_bad_or_protected_fields_get_422_naming_them(gw: Any, extra: dict[str, Any], field: str) -> None:
    csrf = await gw.admin()
    body = {"username": "newbie", "name": "New", "password": "long-enough-pw", **extra}
    response = await gw.client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}


async def test_patch_refuses_protected_fields_and_self_demotion(gw: Any) -> None:
    csrf = await gw.admin()
    me = (await gw.client.get("/api/v1/me")).json()
    headers = {"X-CSRF-Token": csrf}
    for field in ("password_hash", "permissions", "username", "id"):
        response = await gw.client.patch(f"/api/v1/users/{me['id']}", json={field: "x"}, headers=headers)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == field
    demote = await gw.client.patch(f"/api/v1/users/{me['id']}", json={"roles": ["read_only"]}, headers=headers)
    assert demote.status_code == 422 and demote.json()["errors"][0]["field"] == "roles"
    lock = await gw.client.patch(f"/api/v1/users/{me['id']}", json={"locked": True}, headers=headers)
    assert lock.status_code == 422 and lock.json()["errors"][0]["field"] == "locked"
    # Nor through one of their own API keys (found by schemathesis: the key then locked its owner out).
    issued = await gw.client.post("/api/v1/api-keys", json={"name": "ops", "roles": ["administrator"]}, headers=headers)
    bearer = {"Authorization": f"Bearer {issued.json()['key']}"}
    async with gw.new_client() as tool:
        by_key = await tool.patch(f"/api/v1/users/{me['id']}", json={"locked": True}, headers=bearer)
        assert by_key.status_code == 422 and by_key.json()["errors"][0]["field"] == "locked"
        by_key = await tool.patch(f"/api/v1/users/{me['id']}", json={"roles": []}, headers=bearer)
        assert by_key.status_code == 422 and by_key.json()["errors"][0]["field"] == "roles"
        assert (await tool.get("/api/v1/me", headers=bearer)).status_code == 200


async def test_non_administrators_get_403(gw: Any) -> None:
    csrf = await gw.admin()
    user = await gw.create_user(csrf, "manager", "manager-password", roles=["head_of_sales"])
    async with gw.new_client() as browser:
        mcsrf = await gw.sign_in(browser, "manager", "manager-password")
        headers = {"X-CSRF-Token": mcsrf}
        assert (await browser.get("/api/v1/users")).status_code == 403
        assert (await browser.get(f"/api/v1/users/{user['id']}")).status_code == 403
        assert (await browser.get("/api/v1/roles")).status_code == 403
        assert (await browser.get("/api/v1/audit")).status_code == 403
        body = {"username": "x1", "name": "X", "password": "long-enough-pw"}
        assert (await browser.post("/api/v1/users", json=body, headers=headers)).status_code == 403
        patch = await browser.patch(f"/api/v1/users/{user['id']}", json={"roles": ["administrator"]}, headers=headers)
        assert patch.status_code == 403
        password = await browser.post(
            f"/api/v1/users/{user['id']}/password", json={"new_password": "hijacked-pass"}, headers=headers
        )
        assert password.status_code == 403


async def test_username_is_unique_under_concurrency(gw: Any) -> None:
    csrf = await gw.admin()

    async def create(i: int) -> int:
        name = "Dup" if i % 2 else "dup"  # unique regardless of case
        body = {"username": name, "name": f"Dup {i}", "password": "dup-password-1"}
        response = await gw.client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf})
        if response.status_code == 409:
            assert response.json()["errors"][0]["field"] == "username"
        return int(response.status_code)

    statuses = await asyncio.gather(*(create(i) for i in range(10)))
    assert sorted(statuses) == [201] + [409] * 9
    page = (await gw.client.get("/api/v1/users", params={"q": "dup"})).json()
    assert len(page["items"]) == 1


async def test_audit_trail_lists_security_events_newest_first(gw: Any) -> None:
    csrf = await gw.admin()
    user = await gw.create_user(csrf, "elena", "elena-password", roles=["marketer"])
    await gw.define_groups(csrf, "plovdiv")
    await gw.client.patch(f"/api/v1/users/{user['id']}", json={"groups": ["plovdiv"]}, headers={"X-CSRF-Token": csrf})
    async with gw.new_client() as browser:
        assert (await browser.post(SIGN_IN, json={"username": "elena", "password": "wrong-wrong"})).status_code == 401
        await gw.sign_in(browser, "elena", "elena-password")
        assert (await browser.get("/api/v1/audit")).status_code == 403

    admin_id = (await gw.client.get("/api/v1/me")).json()["id"]
    entries = (await gw.client.get("/api/v1/audit", params={"user": user["id"]})).json()["items"]
    actions = [e["action"] for e in entries]
    assert actions == ["signed_in", "sign_in_failed", "groups_granted", "roles_granted", "user_created"]
    by_action = {e["action"]: e for e in entries}
    assert by_action["roles_granted"]["actor"] == admin_id
    assert by_action["roles_granted"]["details"] == {"roles": ["marketer"]}
    assert by_action["groups_granted"]["details"] == {"groups": ["plovdiv"]}
    assert by_action["sign_in_failed"]["details"] == {"username": "elena", "reason": "wrong_password"}
    assert all(e["at"] and e["ip"] and e["username"] == "elena" for e in entries)
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)

    everything = await gw.client.get("/api/v1/audit", params={"limit": 500})
    assert "wrong-wrong" not in everything.text and "elena-password" not in everything.text
    assert "argon2" not in everything.text
    first = (await gw.client.get("/api/v1/audit", params={"limit": 2})).json()
    second = (await gw.client.get("/api/v1/audit", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert {e["id"] for e in first["items"]}.isdisjoint({e["id"] for e in second["items"]})


async def test_views_are_rebuilt_from_the_log(gw: Any) -> None:
    csrf = await gw.admin()
    await gw.create_user(csrf, "rebuild", "rebuild-password")
    views = gw.data_dir / "gateway" / "views.db"
    with sqlite3.connect(views) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert "rs_users_v2" in tables and "rs_audit_v2" in tables and "rs_sessions" in tables
