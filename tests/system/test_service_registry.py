"""What the registry (``crm.services``) drives at run time: each service's routes are the prefixes it
declares, the distributed gateway forwards exactly those, and each service's roles start."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import SecretStr

from crm import cli, services, system
from crm_shared.adapters import caller_tokens
from crm_shared.service import API_PREFIX, Wired
from crm_shared.settings import KernelSettings

SECRET = "s" * 64
ADMIN_PASSWORD = "admin-password-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings(tmp_path: Path) -> KernelSettings:
    return KernelSettings(data_dir=tmp_path / "var", caller_token_secret=SecretStr(SECRET))


def first_segment(path: str) -> str | None:
    """``counterparties`` for ``/api/v1/counterparties/{id}``; None outside ``/api/v1/``."""
    if not path.startswith(f"{API_PREFIX}/"):
        return None
    return path.removeprefix(f"{API_PREFIX}/").split("/", 1)[0]


def served_paths(router: APIRouter) -> set[str]:
    """The paths ``router`` serves, as its OpenAPI document lists them (every service route is in it)."""
    app = FastAPI()
    app.include_router(router)
    return set(app.openapi()["paths"])


async def test_every_route_of_a_service_is_under_a_prefix_it_owns(tmp_path: Path) -> None:
    """Else the gateway would not forward it in distributed mode."""
    kernel = settings(tmp_path)
    for service in services.everything():
        wired: Wired = await service.build(kernel)
        try:
            served = served_paths(service.router(wired, caller_tokens(kernel)))
        finally:
            await wired.close()
        assert served, service.name
        for path in served:
            segment = first_segment(path)
            if service is services.FRONT and segment is None:
                continue  # the front door's own pages (OIDC sign-in) are not under /api/v1
            assert segment in service.prefixes, f"{service.name} serves {path} outside {service.prefixes}"


async def test_the_distributed_gateway_forwards_every_prefix_of_every_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``crm serve gateway`` proxies each prefix of the registry to its service's ``CRM_<NAME>_URL``
    (here nothing listens there, so the answer is the proxy's 502 naming the service)."""
    urls = {service.name: f"http://127.0.0.1:{free_port()}" for service in services.BEHIND}
    for name, url in urls.items():
        monkeypatch.setenv(f"CRM_{name.upper().replace('-', '_')}_URL", url)
    monkeypatch.setenv("CRM_CLICKHOUSE_URL", f"http://127.0.0.1:{free_port()}")  # a URL, not a service
    monkeypatch.setenv("CRM_ADMIN_PASSWORD", ADMIN_PASSWORD)
    app = system.gateway_app(settings(tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as client:
            session = await client.post(f"{API_PREFIX}/session", json={"username": "admin", "password": ADMIN_PASSWORD})
            assert session.status_code == 200, session.text
            for service in services.BEHIND:
                paths = [f"{API_PREFIX}/{prefix}" for prefix in service.prefixes]
                for path in [*paths, f"{API_PREFIX}/{service.prefixes[0]}/x/y"]:
                    answer = await client.get(path)
                    assert answer.status_code == 502, (path, answer.status_code, answer.text)
                    assert f"the {service.name} service ({urls[service.name]})" in answer.json()["detail"]
            assert (await client.get(f"{API_PREFIX}/clickhouse")).status_code == 404
            assert (await client.get(f"{API_PREFIX}/me")).status_code == 200  # the gateway's own API
            # ... all of it, as in embedded mode: OIDC sign-in's routes too.
            assert (await client.get(f"{API_PREFIX}/auth/providers")).json()["oidc"] is False


async def test_each_service_api_role_starts_alone(tmp_path: Path) -> None:
    for service in services.BEHIND:
        app: FastAPI = system.api_app(settings(tmp_path), service.name)
        async with app.router.lifespan_context(app):
            assert getattr(app.state, service.name) is not None
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
                assert (await client.get("/health")).status_code == 200
                # Every route checks the caller token: nothing answers without one.
                assert (await client.get(f"{API_PREFIX}/{service.prefixes[0]}")).status_code == 401


def test_the_command_offers_each_role_of_each_service(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    shown = capsys.readouterr().out
    for service in services.BEHIND:
        for role in services.ROLES:
            assert f"{service.name}-{role}" in shown
    with pytest.raises(SystemExit) as refused:
        cli.main(["serve", f"{services.FRONT.name}-relay"])
    assert refused.value.code == 2
