"""A gateway app assembled as the composition root will: ``make_app`` + the gateway router + a tiny
protected route, behind :class:`IdentityForwarding`, on embedded adapters in ``tmp_path``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI, Request

from crm_gateway.bootstrap import GatewayService, build, ensure_initial_admin
from crm_gateway.entrypoints.http import build_router
from crm_gateway.entrypoints.identity import IdentityForwarding
from crm_gateway.settings import GatewaySettings
from crm_shared.http import HttpProblem, make_app
from crm_shared.identity import CALLER_HEADER, CallerTokens, InvalidCallerToken
from crm_shared.settings import KernelSettings

SECRET = b"s" * 48
ADMIN_PASSWORD = "admin-password-1"
# A cheap Argon2 profile: the tests hash hundreds of passwords.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Clock:
    """A settable clock for lock-out and session expiry."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Gateway:
    """A running test gateway: the outer client (through the middleware) and the bare app."""

    app: FastAPI
    client: httpx.AsyncClient
    bare: httpx.AsyncClient
    clock: Clock
    tokens: CallerTokens
    service: GatewayService
    data_dir: Path
    admin_password: str = ADMIN_PASSWORD
    extra: dict[str, Any] = field(default_factory=dict)

    def new_client(self, ip: str = "127.0.0.1") -> httpx.AsyncClient:
        """Another browser, from client address ``ip``: its own cookie jar."""
        outer = IdentityForwarding(self.app, lambda: self.app.state.gateway, self.tokens)
        transport = httpx.ASGITransport(app=outer, client=(ip, 123))
        return httpx.AsyncClient(transport=transport, base_url="http://gateway.test")

    @staticmethod
    async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> str:
        """Sign in; the client keeps the cookie. Returns the CSRF token."""
        response = await client.post("/api/v1/session", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["csrf_token"])

    async def admin(self) -> str:
        """Sign the main client in as the initial administrator; returns the CSRF token."""
        return await self.sign_in(self.client, "admin", ADMIN_PASSWORD)

    async def create_user(
        self, csrf: str, username: str, password: str = "password-123", **fields: Any
    ) -> dict[str, Any]:
        """Create a user as the signed-in administrator of the main client (the access groups it names
        are defined first, as an administrator would)."""
        await self.define_groups(csrf, *fields.get("groups", ()))
        body = {"username": username, "name": fields.pop("name", username.title()), "password": password, **fields}
        response = await self.client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def define_groups(self, csrf: str, *codes: str) -> None:
        """Define these access groups in the catalogue (those there already stay)."""
        for code in codes:
            response = await self.client.post(
                "/api/v1/access-groups", json={"code": code, "name": code.title()}, headers={"X-CSRF-Token": csrf}
            )
            assert response.status_code in (201, 409), response.text


def assemble(kernel: KernelSettings, settings: GatewaySettings, clock: Clock, tokens: CallerTokens) -> FastAPI:
    """The test app (without the middleware, which wraps it from outside)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await build(kernel, settings, hasher=FAST_HASHER, clock=clock)
        app.state.gateway = service
        await ensure_initial_admin(service, ADMIN_PASSWORD)
        await service.seed_access_groups()
        app.include_router(build_router(service, tokens))
        await service.start_projector()
        app.state.ready = True
        try:
            yield
        finally:
            await service.close()

    app = make_app("gateway test", "0", lifespan)

    def caller_name(request: Request) -> str:
        try:
            return tokens.verify(request.headers.get(CALLER_HEADER, "")).user_id
        except InvalidCallerToken as exc:
            raise HttpProblem(401, "Not authenticated") from exc

    @app.get("/api/v1/test/whoami")
    async def whoami(request: Request) -> dict[str, str]:
        return {"user_id": caller_name(request)}

    @app.post("/api/v1/test/echo")
    async def echo(request: Request) -> dict[str, str]:
        return {"user_id": caller_name(request)}

    return app


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def make_gateway(tmp_path: Path) -> AsyncIterator[GatewayFactory]:
    running: list[tuple[Any, list[httpx.AsyncClient]]] = []

    async def start(kernel: dict[str, Any] | None = None, **overrides: Any) -> Gateway:
        values: dict[str, Any] = {
            "admin_password": None,
            "secure_cookies": False,
            "signin_rate_per_minute": 1000,
            "signin_free_failures": 4,
            "signin_first_delay_seconds": 2,
            "signin_max_delay_minutes": 15,
            "session_idle_hours": 8,
        }
        values.update(overrides)
        clock = Clock()
        tokens = CallerTokens(SECRET)
        data_dir = tmp_path / f"var{len(running)}"
        app = assemble(KernelSettings(data_dir=data_dir, **(kernel or {})), GatewaySettings(**values), clock, tokens)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        outer = IdentityForwarding(app, lambda: app.state.gateway, tokens)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url="http://gateway.test")
        bare = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test")
        running.append((lifespan, [client, bare]))
        return Gateway(app, client, bare, clock, tokens, app.state.gateway, data_dir)

    yield start
    for lifespan, clients in reversed(running):
        for c in clients:
            await c.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def gw(make_gateway: GatewayFactory) -> Gateway:
    return await make_gateway()
