"""The gateway's reverse proxy against real upstream servers (uvicorn on free ports, in threads)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel, SecretStr
from starlette.responses import JSONResponse, Response

from crm_gateway.entrypoints.http import SESSION_COOKIE
from crm_gateway.entrypoints.proxy import (
    Upstream,
    distributed_gateway_app,
    merge_openapi,
    merged_openapi,
    proxy_router,
    routes_for,
    service_urls_from_env,
)
from crm_gateway.settings import GatewaySettings
from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of
from crm_shared.settings import KernelSettings

SECRET = "t" * 48
TOKENS = CallerTokens(SECRET.encode())
ADMIN_PASSWORD = "admin-password-for-proxy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Thing(BaseModel):
    name: str


def upstream_app() -> tuple[FastAPI, Counter[str]]:
    """A service: echoes what it got, fails on request, answers slowly on request."""
    app = FastAPI(title="things")
    calls: Counter[str] = Counter()

    @app.api_route(
        "/api/v1/things/echo/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    async def echo(request: Request, rest: str) -> Response:
        body = await request.body()
        response = JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "raw_path": request.scope["raw_path"].decode(),
                "query": request.scope["query_string"].decode(),
                "body": body.decode(),
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.scope["headers"]],
            },
            status_code=int(request.query_params.get("status", "200")),
            headers={"X-Upstream": "things", "ETag": '"7"'},
        )
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    @app.api_route("/api/v1/things/flaky/{key}", methods=["GET", "POST", "PATCH"], include_in_schema=False)
    async def flaky(key: str) -> Response:
        calls[key] += 1
        if calls[key] == 1:
            return JSONResponse({"detail": "not yet"}, status_code=503)
        return JSONResponse({"calls": calls[key]})

    @app.get("/api/v1/things/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(3)
        return {"late": "yes"}

    @app.post("/api/v1/things", response_model=Thing)
    async def create(thing: Thing) -> Thing:
        return thing

    @app.get("/api/v1/things/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        token = request.headers.get(CALLER_HEADER, "")
        return {"user_id": TOKENS.verify(token).user_id, "token": token, "cookie": request.headers.get("cookie")}

    return app, calls


class ServerThread:
    """uvicorn serving an app on a free port in a background thread."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "upstream did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def upstream() -> Iterator[tuple[ServerThread, Counter[str]]]:
    app, calls = upstream_app()
    server = ServerThread(app).start()
    yield server, calls
    server.stop()


def proxy_app(routes: dict[str, str | Upstream], client: httpx.AsyncClient) -> FastAPI:
    app = FastAPI()
    app.include_router(proxy_router(routes, client=client, backoff=0.01))
    return app


@pytest.fixture
async def upstream_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=2.0)) as client:
        yield client


def front(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://crm.test")


async def test_forwards_method_path_query_body_and_headers(
    upstream: tuple[ServerThread, Counter[str]], upstream_client: httpx.AsyncClient
) -> None:
    server, _ = upstream
    app = proxy_app({"things": server.url}, upstream_client)
    async with front(app) as client:
        response = await client.patch(
            "/api/v1/things/echo/a%2Fb/c?q=%D0%90%D0%B7&q=2&status=418",
            content=b'{"x": 1}',
            headers={
                "Content-Type": "application/json",
                "If-Match": '"3"',
                "X-Custom": "kept",
                "Connection": "close, X-Drop",
                "X-Drop": "hop",
                "Keep-Alive": "timeout=5",
                "Cookie": f"{SESSION_COOKIE}=secret; theme=dark",
                "Authorization": "Bearer crm_secret",
            },
        )
    assert response.status_code == 418
    assert response.headers["X-Upstream"] == "things"
    assert response.headers["ETag"] == '"7"'
    assert response.headers.get_list("set-cookie") == [
        "a=1; Path=/; SameSite=lax",
        "b=2; Path=/; SameSite=lax",
    ]
    seen = response.json()
    assert seen["method"] == "PATCH"
    assert seen["raw_path"] == "/api/v1/things/echo/a%2Fb/c"
    assert seen["query"] == "q=%D0%90%D0%B7&q=2&status=418"
    assert seen["body"] == '{"x": 1}'
    headers = dict(seen["headers"])
    assert headers["content-type"] == "application/json"
    assert headers["if-match"] == '"3"'
    assert headers["x-custom"] == "kept"
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert headers["x-forwarded-host"] == "crm.test"
    assert headers["x-forwarded-proto"] == "http"
    # Hop-by-hop headers stay here, and the gateway's credentials never leave it.
    for name in ("x-drop", "keep-alive", "authorization"):
        assert name not in headers
    assert headers["cookie"] == "theme=dark"


async def test_streams_a_large_body_both_ways(
    upstream: tuple[ServerThread, Counter[str]], upstream_client: httpx.AsyncClient
) -> None:
    server, _ = upstream
    app = proxy_app({"things": server.url}, upstream_client)
    payload = "ж" * 200_000

    async def chunks() -> AsyncIterator[bytes]:
        data = payload.encode()
        for i in range(0, len(data), 65536):
            yield data[i : i + 65536]

    async with front(app) as client:
        response = await client.post("/api/v1/things/echo/big", content=chunks())
    assert response.status_code == 200
    assert response.json()["body"] == payload


async def test_the_caller_header_from_outside_is_never_forwarded(
    upstream: tuple[ServerThread, Counter[str]], tmp_path: Path
) -> None:
    server, _ = upstream
    forged = TOKENS.issue(caller_of("mallory", ["administrator"]))
    app = gateway_app(tmp_path, {"things": server.url})
    async with lifespan(app), front(app) as client:
        anonymous = await client.get("/api/v1/things/whoami", headers={CALLER_HEADER: forged})
        assert anonymous.status_code == 401  # stopped at the gateway: it never reached the service
        signed_in = await client.post("/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        response = await client.get("/api/v1/things/whoami", headers={CALLER_HEADER: forged})
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["token"] != forged
    assert seen["user_id"] != "mallory"
    assert seen["cookie"] is None  # the session cookie is the gateway's alone


async def test_a_stopped_upstream_is_502_naming_the_service(upstream_client: httpx.AsyncClient) -> None:
    server = ServerThread(upstream_app()[0]).start()
    server.stop()
    app = proxy_app({"things": Upstream("things-service", server.url)}, upstream_client)
    async with front(app) as client:
        for method in ("GET", "POST"):
            response = await client.request(method, "/api/v1/things/echo/x")
            assert response.status_code == 502
            assert response.headers["content-type"] == "application/problem+json"
            assert "things-service" in response.json()["detail"]


async def test_a_slow_upstream_is_504_within_the_timeout(upstream: tuple[ServerThread, Counter[str]]) -> None:
    server, _ = upstream
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.5, connect=2.0)) as impatient:
        app = proxy_app({"things": server.url}, impatient)
        async with front(app) as client:
            started = time.monotonic()
            response = await client.get("/api/v1/things/slow")
            elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert "things" in response.json()["detail"]
    assert elapsed < 2.0  # not retried: the timeout is the caller's whole budget


async def test_a_get_is_retried_after_a_failed_attempt(
    upstream: tuple[ServerThread, Counter[str]], upstream_client: httpx.AsyncClient
) -> None:
    server, calls = upstream
    app = proxy_app({"things": server.url}, upstream_client)
    async with front(app) as client:
        response = await client.get("/api/v1/things/flaky/get")
    assert response.status_code == 200
    assert response.json() == {"calls": 2}
    assert calls["get"] == 2


async def test_a_get_is_retried_until_the_service_accepts_connections(upstream_client: httpx.AsyncClient) -> None:
    port = free_port()
    app_ = upstream_app()[0]
    server = ServerThread(app_, port)
    app = FastAPI()
    app.include_router(proxy_router({"things": server.url}, client=upstream_client, backoff=0.5))
    async with front(app) as client:
        request = asyncio.create_task(client.get("/api/v1/things/echo/late"))
        await asyncio.sleep(0.05)  # the first attempt is refused
        await asyncio.to_thread(server.start)
        response = await request
    server.stop()
    assert response.status_code == 200
    assert response.json()["path"] == "/api/v1/things/echo/late"


async def test_a_post_without_idempotency_key_is_not_retried(
    upstream: tuple[ServerThread, Counter[str]], upstream_client: httpx.AsyncClient
) -> None:
    server, calls = upstream
    app = proxy_app({"things": server.url}, upstream_client)
    async with front(app) as client:
        once = await client.post("/api/v1/things/flaky/post", json={})
        keyed = await client.post("/api/v1/things/flaky/keyed", json={}, headers={"Idempotency-Key": "k-1"})
        patched = await client.patch("/api/v1/things/flaky/patch", json={})
    assert once.status_code == 503  # the service's own answer, passed on
    assert calls["post"] == 1
    assert keyed.status_code == 200
    assert calls["keyed"] == 2
    assert patched.status_code == 503
    assert calls["patch"] == 1


async def test_the_merged_openapi_has_every_services_paths(
    upstream: tuple[ServerThread, Counter[str]], tmp_path: Path
) -> None:
    server, _ = upstream
    app = gateway_app(tmp_path, {"things": server.url, "absent": f"http://127.0.0.1:{free_port()}"})
    async with lifespan(app), front(app) as client:
        partial = (await client.get("/openapi.json")).json()
    assert "/api/v1/session" in partial["paths"]  # the gateway's own
    assert "/api/v1/things" in partial["paths"]
    assert "/api/v1/things/slow" in partial["paths"]
    assert partial["x-crm-unavailable"] == ["absent"]
    assert "Thing" in partial["components"]["schemas"]
    refs = str(partial["paths"]["/api/v1/things"])
    assert "#/components/schemas/Thing" in refs


async def test_merged_openapi_prefixes_clashing_schema_names(upstream_client: httpx.AsyncClient) -> None:
    own = {
        "openapi": "3.1.0",
        "paths": {"/api/v1/me": {"get": {"responses": {"200": {"$ref": "#/components/schemas/Out"}}}}},
        "components": {"schemas": {"Out": {"type": "string"}, "Same": {"type": "integer"}}},
    }
    contacts = {
        "paths": {
            "/api/v1/counterparties": {
                "get": {"responses": {"200": {"content": {"a": {"schema": {"$ref": "#/components/schemas/Out"}}}}}}
            },
            "/health": {"get": {}},
        },
        "components": {
            "schemas": {
                "Out": {"type": "object", "properties": {"same": {"$ref": "#/components/schemas/Same"}}},
                "Same": {"type": "integer"},
            }
        },
        "tags": [{"name": "counterparties"}],
    }
    merged = merge_openapi(own, {"contacts": contacts})
    schemas = merged["components"]["schemas"]
    assert schemas["Out"] == {"type": "string"}
    assert schemas["ContactsOut"]["properties"]["same"] == {"$ref": "#/components/schemas/Same"}
    assert "ContactsSame" not in schemas  # identical definitions are shared
    ref = merged["paths"]["/api/v1/counterparties"]["get"]["responses"]["200"]["content"]["a"]["schema"]
    assert ref == {"$ref": "#/components/schemas/ContactsOut"}
    assert "/health" not in own["paths"] and "/health" in merged["paths"]
    assert merged["tags"] == [{"name": "counterparties"}]
    # And the same through the network helper, with nothing reachable:
    alone = await merged_openapi(own, {"contacts": f"http://127.0.0.1:{free_port()}"}, upstream_client)
    assert alone["x-crm-unavailable"] == ["contacts"]


def test_service_urls_and_routes_come_from_the_environment() -> None:
    env = {"CRM_CONTACTS_URL": "http://contacts:8001/", "CRM_DATA_DIR": "x", "CRM_MAIL_GATEWAY_URL": "http://m"}
    urls = service_urls_from_env(env)
    assert urls == {"contacts": "http://contacts:8001", "mail-gateway": "http://m"}
    routes = routes_for(urls, {"contacts": ("counterparties", "persons")})
    assert routes["counterparties"] == routes["persons"] == Upstream("contacts", "http://contacts:8001")
    assert "contacts" not in routes
    assert routes["mail-gateway"] == Upstream("mail-gateway", "http://m")


# -- helpers for the whole distributed gateway --------------------------------------------------------


def gateway_app(tmp_path: Path, services: dict[str, str]) -> FastAPI:
    kernel = KernelSettings(data_dir=tmp_path / "var", caller_token_secret=SecretStr(SECRET))
    return distributed_gateway_app(kernel, GatewaySettings(admin_password=SecretStr(ADMIN_PASSWORD)), services)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The app's startup and shutdown, as a server would run them."""
    async with app.router.lifespan_context(app):
        yield
