"""Roles and access groups hold on every contacts route (OWASP API1/BOLA, API5), server-side."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from crm_shared.identity import CALLER_HEADER, caller_of

API = "/api/v1/counterparties"


def body(group: str, name: str = "Фирма") -> dict[str, str]:
    return {"name": name, "relations": ["buyer"], "main_manager": "petar", "access_group": group}


@pytest.fixture
async def south_id(crm: httpx.AsyncClient) -> str:
    created = await crm.post(API, json=body("south", "Южна АД"))
    assert created.status_code == 201
    # Wait until the view shows it, so later reads test access, not eventual consistency.
    shown = await crm.get(created.headers["Location"], params={"min_position": created.headers["X-Commit-Position"]})
    assert shown.status_code == 200
    return str(created.json()["id"])


async def test_a_manager_creates_only_in_own_groups(embedded: Any, crm: httpx.AsyncClient) -> None:
    manager = await embedded.client_for(["sales_manager"], ["north"])
    assert (await manager.post(API, json=body("north"))).status_code == 201
    refused = await manager.post(API, json=body("south"))
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "access_group"


async def test_a_counterparty_of_another_group_is_invisible_by_every_path(
    embedded: Any, crm: httpx.AsyncClient, south_id: str
) -> None:
    north = await crm.post(API, json=body("north", "Южна Север"))
    position = north.headers["X-Commit-Position"]
    manager = await embedded.client_for(["sales_manager"], ["north"])
    assert (await manager.get(f"{API}/{south_id}")).status_code == 404
    assert (await manager.patch(f"{API}/{south_id}", json={"name": "Моя"})).status_code == 404
    assert (await manager.patch(f"{API}/{south_id}", json={"access_group": "north"})).status_code == 404
    listed = await manager.get(API, params={"q": "южна", "min_position": position})
    assert [c["name"] for c in listed.json()["items"]] == ["Южна Север"]
    everything = await manager.get(API, params={"limit": 500})
    assert south_id not in {c["id"] for c in everything.json()["items"]}
    # The head of sales sees every group.
    head = await embedded.client_for(["head_of_sales"])
    assert (await head.get(f"{API}/{south_id}")).status_code == 200
    assert {c["name"] for c in (await head.get(API, params={"q": "южна"})).json()["items"]} == {
        "Южна АД",
        "Южна Север",
    }


async def test_a_manager_cannot_move_a_record_into_a_group_they_lack(embedded: Any, crm: httpx.AsyncClient) -> None:
    manager = await embedded.client_for(["sales_manager"], ["north"])
    created = await manager.post(API, json=body("north"))
    moved = await manager.patch(created.headers["Location"], json={"access_group": "south"})
    assert moved.status_code == 403


async def test_read_only_users_cannot_change_anything(embedded: Any, crm: httpx.AsyncClient, south_id: str) -> None:
    reader = await embedded.client_for(["read_only"], ["north", "south"])
    assert (await reader.get(f"{API}/{south_id}")).status_code == 200
    assert (await reader.post(API, json=body("south"))).status_code == 403
    assert (await reader.patch(f"{API}/{south_id}", json={"name": "X"})).status_code == 403


async def test_every_route_but_health_rejects_anonymous_and_forged_callers(
    embedded: Any, crm: httpx.AsyncClient
) -> None:
    app = embedded.app
    routes = [r for r in flatten(app.routes) if r.path.startswith("/api/")]
    assert len(routes) >= 4
    now = int(time.time())
    forged = {
        "unsigned": jwt.encode({"sub": "x", "roles": ["administrator"]}, key="", algorithm="none"),
        "wrong key": jwt.encode(
            {
                "iss": "crm-gateway",
                "aud": "crm-services",
                "sub": "x",
                "roles": ["administrator"],
                "iat": now,
                "exp": now + 60,
            },
            "not-the-secret-not-the-secret-not-the-secret",
            algorithm="HS256",
        ),
        "expired": app.state.tokens.issue(caller_of("x", ["administrator"])).rsplit(".", 1)[0] + ".tampered",
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://crm.test") as anonymous:
        for route in routes:
            path = route.path.replace("{counterparty_id}", "00000000-0000-0000-0000-000000000000")
            for method in route.methods - {"HEAD", "OPTIONS"}:
                if (method, route.path) in {("POST", "/api/v1/session"), ("GET", "/api/v1/auth/providers")}:
                    continue  # signing in, and which ways of signing in exist, are public
                response = await anonymous.request(method, path, json={})
                assert response.status_code == 401, (method, path)
                assert response.headers.get("WWW-Authenticate") == "Bearer"
                for name, token in forged.items():
                    again = await anonymous.request(method, path, json={}, headers={CALLER_HEADER: token})
                    assert again.status_code == 401, (method, path, name)
        assert (await anonymous.get("/health")).status_code == 200


def flatten(routes: list[Any]) -> list[Any]:
    """Every endpoint route, also those inside included routers."""
    found = []
    for route in routes:
        if hasattr(route, "methods") and hasattr(route, "path"):
            found.append(route)
        inner = getattr(route, "original_router", route)  # FastAPI keeps included routers nested
        found.extend(flatten(getattr(inner, "routes", [])))
    return found


async def test_an_expired_caller_token_is_rejected(embedded: Any, crm: httpx.AsyncClient) -> None:
    from crm_shared.identity import CallerTokens

    secret = (embedded.data_dir / "secrets" / "caller-token.key").read_bytes()
    expired = CallerTokens(secret, ttl_seconds=-5).issue(caller_of("admin", ["administrator"]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=embedded.app), base_url="http://crm.test") as c:
        assert (await c.get(API, headers={CALLER_HEADER: expired})).status_code == 401


async def test_one_user_cannot_see_or_revoke_anothers_api_key(embedded: Any, crm: httpx.AsyncClient) -> None:
    await embedded.define_groups("north")
    issued = await crm.post("/api/v1/api-keys", json={"name": "ERP", "roles": ["read_only"], "groups": ["north"]})
    assert issued.status_code == 201, issued.text
    key_id = issued.json()["id"]
    manager = await embedded.client_for(["sales_manager"], ["north"])
    assert key_id not in (await manager.get("/api/v1/api-keys")).text
    assert (await manager.delete(f"/api/v1/api-keys/{key_id}")).status_code == 404
    assert (await manager.get("/api/v1/users")).status_code == 403
    assert (await manager.get("/api/v1/audit")).status_code == 403
    async with embedded.anonymous() as system:
        bearer = {"Authorization": f"Bearer {issued.json()['key']}"}
        assert (await system.get(API, headers=bearer)).status_code == 200
