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
    # The failures throttle the address they came from (kept in the read store), not the account.
    throttled = await gw.client.post("/api/v1/session", json={"username": "mongo.user", "password": "mongo-password"})
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    async with gw.new_client(ip="198.51.100.20") as elsewhere:
        await gw.sign_in(elsewhere, "mongo.user", "mongo-password")
    page = (await gw.client.get("/api/v1/users", params={"q": "MONGO"})).json()
    assert [u["id"] for u in page["items"]] == [user["id"]] and page["items"][0]["locked"] is False
    actions = [e["action"] for e in (await gw.client.get("/api/v1/audit", params={"user": user["id"]})).json()["items"]]
    assert actions[:3] == ["signed_in", "sign_in_failed", "sign_in_failed"] and "user_locked" not in actions
    unlocked = await gw.client.patch(
        f"/api/v1/users/{user['id']}", json={"locked": False}, headers={"X-CSRF-Token": csrf}
    )
    assert unlocked.status_code == 200  # forgets the failures of every address
    await gw.sign_in(gw.client, "mongo.user", "mongo-password")
    csrf = await gw.admin()
    assert (await gw.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})).status_code == 204
    assert (await gw.client.get("/api/v1/me")).status_code == 401
