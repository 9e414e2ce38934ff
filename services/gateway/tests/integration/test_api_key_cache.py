"""Resolved API keys are cached, and the owner's events empty the cache: at once in the gateway that
made the change, within a second in another gateway on the same stores (a replica)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from crm_gateway.application.caller_cache import KeyCache
from crm_gateway.application.security import caller_of
from crm_gateway.entrypoints.identity import IdentityForwarding
from crm_gateway.settings import GatewaySettings
from crm_shared.adapters import open_event_store
from crm_shared.settings import KernelSettings

from .conftest import Clock, Gateway, assemble

WITHIN = 1.0
"""Seconds a change may take to reach another gateway."""


@pytest.fixture
async def replica(gw: Gateway) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """A second gateway on ``gw``'s stores: its own app, connections and key cache."""
    settings = GatewaySettings(admin_password=None, signin_rate_per_minute=1000)
    app = assemble(KernelSettings(data_dir=gw.data_dir), settings, Clock(), gw.tokens)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    outer = IdentityForwarding(app, lambda: app.state.gateway, gw.tokens)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url="http://replica.test")
    try:
        yield client, app.state.gateway
    finally:
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


async def _issue(client: httpx.AsyncClient, csrf: str, **body: Any) -> tuple[str, str]:
    response = await client.post("/api/v1/api-keys", json={"name": "sync", **body}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text
    return str(response.json()["key"]), str(response.json()["id"])


async def _until(check: Any, within: float) -> float:
    """Seconds until ``await check()`` is true; fails after ``within``."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < within, f"still not applied after {within} s"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_a_revoked_key_stops_at_once_here_and_within_a_second_on_a_replica(
    gw: Gateway, replica: tuple[httpx.AsyncClient, Any]
) -> None:
    other, other_service = replica
    csrf = await gw.admin()
    key, key_id = await _issue(gw.client, csrf, roles=["read_only"])
    bearer = {"Authorization": f"Bearer {key}"}
    async with gw.new_client() as system:
        for client in (system, other):
            for _ in range(3):
                assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200
        assert gw.service.auth.keys.get(key_id) is not None  # served from the cache by now
        assert other_service.auth.keys.get(key_id) is not None
        # A cached key still checks its secret.
        wrong = {"Authorization": f"Bearer crm_{key_id}_{'x' * 43}"}
        assert (await system.get("/api/v1/me", headers=wrong)).status_code == 401
        assert (await other.get("/api/v1/me", headers=wrong)).status_code == 401

        revoked = await gw.client.delete(f"/api/v1/api-keys/{key_id}", headers={"X-CSRF-Token": csrf})
        assert revoked.status_code == 204
        # The gateway that revoked it refuses it on the very next request...
        assert (await system.get("/api/v1/me", headers=bearer)).status_code == 401

    # ...and the replica within a second.
    async def refused() -> bool:
        return (await other.get("/api/v1/me", headers=bearer)).status_code == 401

    await _until(refused, WITHIN)
    assert other_service.auth.keys.get(key_id) is None


@pytest.mark.parametrize("change", ["roles", "groups", "lock"])
async def test_the_owners_roles_groups_and_lock_reach_a_cached_key(
    gw: Gateway, replica: tuple[httpx.AsyncClient, Any], change: str
) -> None:
    other, _ = replica
    csrf = await gw.admin()
    user = await gw.create_user(
        csrf, "erp.owner", "owner-password", roles=["sales_manager", "marketer"], groups=["sofia", "varna"]
    )
    async with gw.new_client() as browser:
        owner_csrf = await gw.sign_in(browser, "erp.owner", "owner-password")
        key, _ = await _issue(browser, owner_csrf, roles=["sales_manager", "marketer"], groups=["sofia", "varna"])
    bearer = {"Authorization": f"Bearer {key}"}
    async with gw.new_client() as system:
        for client in (system, other):
            me = (await client.get("/api/v1/me", headers=bearer)).json()
            assert me["roles"] == ["marketer", "sales_manager"] and me["groups"] == ["sofia", "varna"]

        body: dict[str, Any] = {
            "roles": {"roles": ["marketer"]},
            "groups": {"groups": ["varna"]},
            "lock": {"locked": True},
        }[change]
        changed = await gw.client.patch(f"/api/v1/users/{user['id']}", json=body, headers={"X-CSRF-Token": csrf})
        assert changed.status_code == 200, changed.text

        async def applied(client: httpx.AsyncClient) -> bool:
            answer = await client.get("/api/v1/me", headers=bearer)
            if change == "lock":
                return answer.status_code == 401
            me = answer.json()
            # A key keeps only the roles and access groups its owner still has.
            return bool(me["roles"] == ["marketer"]) if change == "roles" else bool(me["groups"] == ["varna"])

        assert await applied(system)  # at once where the change was made
    await _until(lambda: applied(other), WITHIN)


async def test_a_cache_that_does_not_follow_the_log_serves_nothing(gw: Gateway) -> None:
    store = await open_event_store(KernelSettings(data_dir=gw.data_dir), "gateway")
    ticks = [100.0]
    cache = KeyCache(store, max_staleness=1.0, poll_interval=0.2, clock=lambda: ticks[0])
    admin = await gw.service.users.get((await gw.service.users.user_id_of("admin")) or "")
    assert admin is not None
    me = caller_of(admin[0])
    try:
        cache.put("k1", "u1", "digest", me, cache.generation)
        assert cache.get("k1") is None  # never refreshed: not following, so nothing was kept
        await cache.refresh()
        cache.put("k1", "u1", "digest", me, cache.generation)
        assert cache.get("k1") is not None
        ticks[0] += 1.5  # no refresh for longer than max_staleness: not trusted
        assert cache.get("k1") is None
        await cache.refresh()
        assert cache.get("k1") is not None
        stale_generation = cache.generation
        cache.drop_user("someone-else")
        cache.put("k2", "u1", "digest", me, stale_generation)  # resolved before an invalidation
        assert cache.get("k2") is None
    finally:
        await store.close()


async def test_a_late_cache_catches_up_before_it_serves(gw: Gateway) -> None:
    """A request finding its key kept but the follower late (a busy loop) catches the cache up with
    the log itself: what changed meanwhile drops its keys, the others are served without reading
    their streams."""
    store = await open_event_store(KernelSettings(data_dir=gw.data_dir), "gateway")
    ticks = [100.0]
    cache = KeyCache(store, max_staleness=1.0, poll_interval=0.2, clock=lambda: ticks[0])
    csrf = await gw.admin()
    changed = await gw.create_user(csrf, "late.owner", "owner-password", roles=["sales_manager"], groups=["sofia"])
    admin = await gw.service.users.get((await gw.service.users.user_id_of("admin")) or "")
    assert admin is not None
    me = caller_of(admin[0])
    try:
        assert await cache.current("k1") is None  # not following yet: nothing kept
        await cache.refresh()
        cache.put("k1", admin[0].id, "digest", me, cache.generation)
        cache.put("k2", changed["id"], "digest", me, cache.generation)
        answer = await gw.client.patch(
            f"/api/v1/users/{changed['id']}", json={"roles": ["marketer"]}, headers={"X-CSRF-Token": csrf}
        )
        assert answer.status_code == 200, answer.text
        ticks[0] += 1.5  # the follower is late: get() trusts nothing
        assert cache.get("k1") is None and cache.get("k2") is None
        kept = await cache.current("k1")
        assert kept is not None and kept.caller == me
        assert await cache.current("k2") is None  # its owner changed meanwhile: dropped by the catch-up
        ticks[0] += 400.0  # past the time to live: not kept, whatever the follower
        assert await cache.current("k1") is None
    finally:
        await store.close()
