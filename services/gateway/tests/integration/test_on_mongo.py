"""The gateway on the distributed read store (MongoDB protocol): sessions, views and lock-out."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.mongo


async def test_the_gateway_works_on_mongo(make_gateway: Any, mongo_uri: str) -> None:
    gw = await make_gateway(
        kernel={"read_store": "mongo", "mongo_uri": mongo_uri, "mongo_database_prefix": f"t{uuid.uuid4().hex[:12]}"}
    )
    csrf = await gw.admin()
    user = await gw.create_user(csrf, "mongo.user", "mongo-password", roles=["read_only"])
    for _ in range(5):
        await gw.client.post("/api/v1/session", json={"username": "mongo.user", "password": "wrong-pass"})
    async with gw.new_client() as browser:
        locked = await browser.post("/api/v1/session", json={"username": "mongo.user", "password": "mongo-password"})
        assert locked.status_code == 423
    page = (await gw.client.get("/api/v1/users", params={"q": "MONGO"})).json()
    assert [u["id"] for u in page["items"]] == [user["id"]] and page["items"][0]["locked"] is True
    actions = [e["action"] for e in (await gw.client.get("/api/v1/audit", params={"user": user["id"]})).json()["items"]]
    assert actions[:2] == ["sign_in_failed", "user_locked"]
    assert (await gw.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})).status_code == 204
    assert (await gw.client.get("/api/v1/me")).status_code == 401
