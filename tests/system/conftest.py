"""The whole CRM in this process on embedded adapters, driven over HTTP (ASGI, no sockets)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from crm import system
from crm_gateway.settings import GatewaySettings
from crm_shared.settings import KernelSettings

ADMIN_PASSWORD = "admin-password-for-tests"

PEOPLE = {
    "ivan": "Иван Петров",
    "maria": "Мария Иванова",
    "petar": "Петър Георгиев",
    "probe": "Проба Пробна",
    "x": "Хикс Игрек",
}
"""Users of the directory by id, that tests name as managers and participants (no password: they
never sign in)."""
GROUPS = ("north", "south")
"""Access groups of the catalogue that tests put records in."""


class EmbeddedCrm:
    """Starts and stops the embedded CRM on one data directory, as often as a test likes, and signs
    people in through the gateway exactly as the web UI does (session cookie and CSRF token)."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self.running: list[tuple[Any, httpx.AsyncClient]] = []

    async def start(self) -> httpx.AsyncClient:
        """Start the CRM; returns a client signed in as the initial administrator."""
        app = system.embedded_app(
            KernelSettings(data_dir=self.data_dir, **self.settings),
            GatewaySettings(admin_password=SecretStr(ADMIN_PASSWORD)),
        )
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        self.app = app
        await seed_directory(app.state.gateway)
        client = await self.sign_in("admin", ADMIN_PASSWORD)
        self.running.append((lifespan, client))
        return client

    def anonymous(self) -> httpx.AsyncClient:
        """A client with no credentials."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://crm.test")

    async def sign_in(self, username: str, password: str) -> httpx.AsyncClient:
        """A client signed in as ``username``."""
        client = self.anonymous()
        response = await client.post("/api/v1/session", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client

    async def client_for(self, roles: list[str], groups: list[str] = ()) -> httpx.AsyncClient:  # type: ignore[assignment]
        """A new user with these roles and access groups (defined first when new), signed in."""
        admin = self.running[-1][1]
        await self.define_groups(*groups)
        username, password = f"user{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
        created = await admin.post(
            "/api/v1/users",
            json={"username": username, "name": username, "password": password, "roles": roles, "groups": list(groups)},
        )
        assert created.status_code == 201, created.text
        return await self.sign_in(username, password)

    async def define_groups(self, *codes: str) -> None:
        """Define these access groups in the gateway's catalogue as the administrator (existing ones stay)."""
        admin = self.running[-1][1]
        for code in codes:
            response = await admin.post("/api/v1/access-groups", json={"code": code, "name": code.title()})
            assert response.status_code in (201, 409), response.text

    async def stop(self) -> None:
        lifespan, client = self.running.pop()
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


async def seed_directory(gateway: Any) -> None:
    """The users of :data:`PEOPLE` (with those ids) and the groups of :data:`GROUPS`, unless there."""
    from crm_gateway.application.users import SYSTEM
    from crm_gateway.domain import access_group

    for user_id, name in PEOPLE.items():
        if await gateway.users.get(user_id) is None:
            await gateway.users.create_user(
                username=f"{user_id}.test",
                name=name,
                password_hash="!",  # matches no password
                roles=[],
                groups=[],
                language="bg",
                actor=SYSTEM,
                user_id=user_id,
            )
    for code in GROUPS:
        if await gateway.groups.get(code) is None:
            await gateway.groups.apply(access_group.DefineGroup(code, code.title()), SYSTEM)


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[EmbeddedCrm]:
    crm = EmbeddedCrm(tmp_path / "var")
    yield crm
    while crm.running:
        await crm.stop()


@pytest.fixture
async def scaled_out(tmp_path: Path, kafka_bootstrap: str, mongo_uri: str) -> AsyncIterator[EmbeddedCrm]:
    """The CRM in this process on the scaled-out adapters: the bus on Apache Kafka, the read models and
    the state (keys, jobs) on the MongoDB protocol, in a namespace and databases of its own."""
    run = uuid.uuid4().hex[:8]
    crm = EmbeddedCrm(
        tmp_path / "var",
        bus="kafka",
        kafka_bootstrap=kafka_bootstrap,
        bus_namespace=f"t{run}",
        read_store="mongo",
        state_store="mongo",
        mongo_uri=mongo_uri,
        mongo_database_prefix=f"crm{run}",
    )
    yield crm
    while crm.running:
        await crm.stop()


@pytest.fixture
async def crm(embedded: EmbeddedCrm) -> httpx.AsyncClient:
    return await embedded.start()
