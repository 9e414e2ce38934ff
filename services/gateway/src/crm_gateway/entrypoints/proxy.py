"""The gateway's distributed role: a reverse proxy in front of the services, and one OpenAPI document.

``/api/v1/<prefix>...`` goes to the service that owns ``<prefix>`` (``counterparties`` → contacts): the
composition root passes the table in (the gateway imports no other service).
Method, path, query, body and headers are passed through, except hop-by-hop headers and the
gateway's own credentials (the session cookie and the API key): the services trust only the signed
``X-CRM-Caller`` token that :class:`~crm_gateway.entrypoints.identity.IdentityForwarding` put on the
request after removing any that came from outside. The response is passed back unchanged. Bodies
over :data:`BUFFERED_BYTES` or of unknown length are streamed both ways; smaller ones go whole.

Failures are problem+json naming the service: 502 when it refuses the connection or breaks it, 504
when it does not answer in time. Safe retries only: idempotent methods (GET, HEAD, OPTIONS, PUT,
DELETE), and POST or PATCH when they carry an ``Idempotency-Key`` (the services then append nothing
twice), at most twice with a growing pause, on a refused connection or an upstream 502/503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from crm_gateway import bootstrap as gateway
from crm_gateway.entrypoints.http import SESSION_COOKIE
from crm_gateway.entrypoints.http import build_router as gateway_router
from crm_gateway.entrypoints.identity import IdentityForwarding
from crm_gateway.entrypoints.oidc import build_oidc_router
from crm_gateway.settings import GatewaySettings
from crm_gateway.ui import ui_router
from crm_shared import observability
from crm_shared.adapters import caller_tokens, open_bus
from crm_shared.http import make_app, problem
from crm_shared.settings import KernelSettings

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
TIMEOUT = httpx.Timeout(10.0, connect=2.0)
"""Connect 2 s; read (each chunk), write and pool 10 s."""
MAX_RETRIES = 2
BACKOFF_SECONDS = 0.1
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_WITH_KEY_METHODS = frozenset({"POST", "PATCH"})
IDEMPOTENCY_HEADER = "idempotency-key"
RETRY_STATUSES = frozenset({502, 503})
BUFFERED_BYTES = 64 * 1024
"""Bodies of at most this many bytes (by their Content-Length) are passed on whole, not streamed: a
command or a card costs one read and one write instead of a stream and the task Starlette runs to
watch for a disconnect; anything larger, or of unknown length, is streamed."""

# RFC 9110 §7.6.1, plus the fields the proxy sets itself (host, content-length of a re-framed body).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = HOP_BY_HOP | {"host", "authorization"}


@dataclass(frozen=True)
class Upstream:
    """One service behind the proxy."""

    name: str
    base_url: str


def service_urls_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Base URLs of the services from ``CRM_<SERVICE>_URL`` (e.g. ``CRM_CONTACTS_URL``)."""
    env = os.environ if environ is None else environ
    urls: dict[str, str] = {}
    for key, value in env.items():
        match = re.fullmatch(r"CRM_([A-Z][A-Z0-9_]*)_URL", key)
        if match and value.strip():
            urls[match.group(1).lower().replace("_", "-")] = value.strip().rstrip("/")
    return urls


def routes_for(
    service_urls: Mapping[str, str], prefixes: Mapping[str, tuple[str, ...]] | None = None
) -> dict[str, Upstream]:
    """``{prefix: Upstream}`` for the services given by name and base URL; ``prefixes`` says which
    ``/api/v1/<prefix>`` each service owns (``{"contacts": ("counterparties", ...)}``), and a service
    not in it owns its own name."""
    owned = prefixes or {}
    routes: dict[str, Upstream] = {}
    for service, url in service_urls.items():
        for prefix in owned.get(service, (service,)):
            routes[prefix] = Upstream(service, url.rstrip("/"))
    return routes


def _retryable(method: str, headers: Mapping[str, str]) -> bool:
    return method in IDEMPOTENT_METHODS or (method in RETRY_WITH_KEY_METHODS and IDEMPOTENCY_HEADER in headers)


def _without_session_cookie(value: str) -> str:
    kept = [part for part in value.split(";") if part.strip().partition("=")[0].strip() != SESSION_COOKIE]
    return ";".join(kept).strip()


def _forward_headers(request: Request) -> list[tuple[str, str]]:
    connection_named = {
        token.strip().lower() for token in request.headers.get("connection", "").split(",") if token.strip()
    }
    headers: list[tuple[str, str]] = []
    for key, value in request.headers.items():
        name = key.lower()
        if name in _NOT_FORWARDED or name in connection_named:
            continue
        if name == "cookie":
            value = _without_session_cookie(value)
            if not value:
                continue
        headers.append((name, value))
    client = request.client.host if request.client else None
    if client:
        earlier = request.headers.get("x-forwarded-for")
        headers = [(k, v) for k, v in headers if k != "x-forwarded-for"]
        headers.append(("x-forwarded-for", f"{earlier}, {client}" if earlier else client))
    if "x-forwarded-proto" not in request.headers:
        headers.append(("x-forwarded-proto", request.url.scheme))
    if "x-forwarded-host" not in request.headers and "host" in request.headers:
        headers.append(("x-forwarded-host", request.headers["host"]))
    # The gateway's server span continues the caller's trace; the service continues the gateway's.
    trace_context = observability.current_traceparent()
    if trace_context:
        headers = [(k, v) for k, v in headers if k not in trace_context]
        headers.extend(trace_context.items())
    return headers


def _response_headers(upstream: httpx.Response) -> list[tuple[bytes, bytes]]:
    connection_named = {
        token.strip().lower().encode() for token in upstream.headers.get("connection", "").split(",") if token.strip()
    }
    return [
        (key.lower(), value)
        for key, value in upstream.headers.raw
        if key.lower().decode("latin-1") not in HOP_BY_HOP and key.lower() not in connection_named
    ]


def _small(content_length: str | None) -> bool:
    return content_length is not None and content_length.isdigit() and int(content_length) <= BUFFERED_BYTES


def _unreachable(upstream: Upstream, why: str) -> Response:
    return problem(502, "Bad gateway", f"the {upstream.name} service ({upstream.base_url}) {why}; retry later")


def _timed_out(upstream: Upstream, why: str) -> Response:
    return problem(504, "Gateway timeout", f"the {upstream.name} service ({upstream.base_url}) {why}; retry later")


class Forwarder:
    """Sends one request to an upstream with the retry policy, and passes the answer back (see
    :data:`BUFFERED_BYTES`)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        retries: int = MAX_RETRIES,
        backoff: float = BACKOFF_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client, self.retries, self.backoff, self._sleep = client, retries, backoff, sleep

    async def __call__(self, request: Request, upstream: Upstream) -> Response:
        method = request.method.upper()
        headers = _forward_headers(request)
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"")
        url = upstream.base_url + raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        retryable = _retryable(method, request.headers)
        # A retried request must send its body again, so it is read first (the body limit in front of
        # the proxy bounds it), and so is a small one; any other body is streamed through as it arrives.
        whole = retryable or _small(request.headers.get("content-length"))
        body: bytes | AsyncIterator[bytes] = await request.body() if whole else request.stream()
        attempts = 1 + (self.retries if retryable else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                sent = self.client.build_request(method, url, headers=headers, content=body)
                answer = await self.client.send(sent, stream=True)
            except httpx.ConnectTimeout:
                if last:
                    return _unreachable(upstream, f"accepted no connection within {TIMEOUT.connect:g} s")
            except httpx.TimeoutException:
                # Not retried: the request may be running there still, and the caller's time is spent.
                return _timed_out(upstream, "did not answer in time")
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                # A broken connection is retried only where the request is safe to repeat.
                log.warning("proxy: %s %s to %s failed: %r", method, request.url.path, upstream.name, exc)
                if last:
                    return _unreachable(upstream, "refused or dropped the connection")
            except httpx.TransportError as exc:
                log.warning("proxy: %s %s to %s failed: %r", method, request.url.path, upstream.name, exc)
                return _unreachable(upstream, "could not be reached")
            else:
                if answer.status_code in RETRY_STATUSES and not last:
                    await answer.aclose()
                elif method != "HEAD" and _small(answer.headers.get("content-length")):
                    return await self._whole(answer, upstream)
                else:
                    return self._stream(answer, upstream)
            await self._sleep(self.backoff * (2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")  # pragma: no cover - the last attempt always returns

    async def _whole(self, answer: httpx.Response, upstream: Upstream) -> Response:
        try:
            content = b"".join([chunk async for chunk in answer.aiter_raw()])
        except httpx.HTTPError as exc:
            log.warning("proxy: the %s service broke off a response: %r", upstream.name, exc)
            return _unreachable(upstream, "broke off its answer")
        finally:
            await answer.aclose()
        response = Response(content, status_code=answer.status_code)
        response.raw_headers = _response_headers(answer)  # as sent: the raw bytes keep their Content-Length
        return response

    def _stream(self, answer: httpx.Response, upstream: Upstream) -> Response:
        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in answer.aiter_raw():
                    yield chunk
            except httpx.HTTPError as exc:
                # The status line is gone already: all that is left is to cut the body short.
                log.warning("proxy: the %s service broke off a response: %r", upstream.name, exc)

        response = StreamingResponse(body(), status_code=answer.status_code, background=BackgroundTask(answer.aclose))
        response.raw_headers = _response_headers(answer)
        return response


def proxy_router(
    routes: Mapping[str, str | Upstream],
    *,
    client: httpx.AsyncClient,
    retries: int = MAX_RETRIES,
    backoff: float = BACKOFF_SECONDS,
) -> APIRouter:
    """Routes forwarding ``/api/v1/<prefix>`` and everything under it to the owning service.

    ``routes`` maps a prefix to the service's base URL (``{"counterparties": "http://127.0.0.1:8001"}``)
    or to an :class:`Upstream` that also names the service for error messages.
    """
    forward = Forwarder(client, retries=retries, backoff=backoff)
    router = APIRouter()
    methods = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]
    for prefix, target in routes.items():
        upstream = target if isinstance(target, Upstream) else Upstream(prefix, target.rstrip("/"))

        def endpoint(upstream: Upstream = upstream) -> Callable[[Request], Awaitable[Response]]:
            async def proxy(request: Request) -> Response:
                return await forward(request, upstream)

            return proxy

        handler = endpoint()
        for path in (f"{API_PREFIX}/{prefix}", f"{API_PREFIX}/{prefix}/{{rest:path}}"):
            router.routes.append(Route(path, handler, methods=methods, include_in_schema=False))
    return router


# -- one OpenAPI document ----------------------------------------------------------------------------

_REF = re.compile(r"^#/components/([^/]+)/(.+)$")


def _rename_refs(node: Any, renames: Mapping[tuple[str, str], str]) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and (match := _REF.match(value)):
                section, name = match.group(1), match.group(2)
                out[key] = f"#/components/{section}/{renames.get((section, name), name)}"
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def merge_openapi(own: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One document from the gateway's own and each service's: every path, every component.

    A component whose name another document already uses for a different definition is renamed
    ``<Service><Name>`` (``ContactsHTTPValidationError``) with every reference to it; an identical one
    is shared. A path the gateway serves itself (``/health``) stays the gateway's.
    """
    merged: dict[str, Any] = _rename_refs(dict(own), {})
    paths: dict[str, Any] = merged.setdefault("paths", {})
    components: dict[str, dict[str, Any]] = merged.setdefault("components", {})
    tags: list[dict[str, Any]] = list(merged.get("tags", []))
    for service, document in services.items():
        renames: dict[tuple[str, str], str] = {}
        for section, entries in document.get("components", {}).items():
            existing = components.get(section, {})
            for name, definition in entries.items():
                if name in existing and existing[name] != definition:
                    renames[(section, name)] = f"{_camel(service)}{name}"
        for section, entries in document.get("components", {}).items():
            target = components.setdefault(section, {})
            for name, definition in entries.items():
                target[renames.get((section, name), name)] = _rename_refs(definition, renames)
        for path, item in document.get("paths", {}).items():
            if path not in paths:
                paths[path] = _rename_refs(item, renames)
        known = {tag.get("name") for tag in tags}
        tags.extend(tag for tag in document.get("tags", []) if tag.get("name") not in known)
    if tags:
        merged["tags"] = tags
    return merged


async def merged_openapi(own: dict[str, Any], services: Mapping[str, str], client: httpx.AsyncClient) -> dict[str, Any]:
    """Fetch each service's ``/openapi.json`` and merge them into ``own`` (see :func:`merge_openapi`).

    A service that cannot be reached is left out and named under ``x-crm-unavailable``, so the
    document (and the web UI's API docs) still serve the rest.
    """

    async def fetch(name: str, base_url: str) -> tuple[str, dict[str, Any] | None]:
        try:
            response = await client.get(f"{base_url.rstrip('/')}/openapi.json", timeout=TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("openapi: could not fetch the %s service's document: %r", name, exc)
            return name, None
        return name, document if isinstance(document, dict) else None

    fetched = await asyncio.gather(*(fetch(name, url) for name, url in services.items()))
    merged = merge_openapi(own, {name: doc for name, doc in fetched if doc is not None})
    missing = sorted(name for name, doc in fetched if doc is None)
    if missing:
        merged["x-crm-unavailable"] = missing
    return merged


# -- the gateway as its own process --------------------------------------------------------------------


def _version() -> str:
    try:
        return metadata.version("crm-gateway")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


async def _publish_directory(front: gateway.GatewayService, settings: KernelSettings) -> None:
    """Relay the directory of users and access groups (``crm.identity.*``) to the bus, which the other
    services' local copies follow; a broker that is down is waited for, never the gateway's start.
    Several gateway replicas relay the same events: consumers' guards make repeats harmless."""
    bus = await open_bus(settings, "crm-gateway-relay", retry_for=math.inf)
    try:
        await front.start_relay(bus)
        await asyncio.Event().wait()
    finally:
        await bus.stop()


def distributed_gateway_app(
    settings: KernelSettings,
    gateway_settings: GatewaySettings | None = None,
    service_urls: Mapping[str, str] | None = None,
    *,
    prefixes: Mapping[str, tuple[str, ...]] | None = None,
    client: httpx.AsyncClient | None = None,
) -> FastAPI:
    """The gateway alone (distributed mode): sign-in, users, the web UI, and a reverse proxy to the
    services at ``service_urls`` (``{"contacts": "http://127.0.0.1:8001"}``; default from
    ``CRM_<SERVICE>_URL``), forwarding the ``/api/v1`` prefixes each owns (``prefixes``, see
    :func:`routes_for`), serving one OpenAPI document for all of them at ``/openapi.json``.

    ``client`` is for tests (e.g. shorter timeouts); by default one is opened with :data:`TIMEOUT`.
    """
    gateway_settings = gateway_settings or GatewaySettings()
    urls = dict(service_urls_from_env() if service_urls is None else service_urls)
    tokens = caller_tokens(settings)
    openapi_cache: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        observability.setup("crm-gateway", settings)
        http = client or httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
        front = await gateway.build(settings, gateway_settings)
        await front.seed()
        app.state.gateway = front
        app.state.settings = settings
        app.state.tokens = tokens
        app.state.http = http
        # Routes bound to this start's service go again at shutdown, so a restarted app has fresh ones.
        static_routes = len(app.router.routes)
        app.include_router(gateway_router(front, tokens))
        app.include_router(build_oidc_router(front))
        app.include_router(proxy_router(routes_for(urls, prefixes), client=http))
        openapi_cache.clear()
        app.openapi_schema = None
        await front.start_projector()
        publishing = asyncio.create_task(_publish_directory(front, settings), name="gateway-publishing")
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            del app.router.routes[static_routes:]
            publishing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publishing
            await front.close()
            if client is None:
                await http.aclose()

    app = make_app("CRM", _version(), lifespan, description="Event-sourced CRM: the gateway in front of the services")
    app.include_router(ui_router())

    async def openapi(request: Request) -> Response:
        """The gateway's document merged with every service's; kept once complete."""
        if "complete" in openapi_cache:
            return JSONResponse(openapi_cache["complete"])
        document = await merged_openapi(app.openapi(), urls, request.app.state.http)
        if "x-crm-unavailable" not in document:
            openapi_cache["complete"] = document
        return JSONResponse(document)

    # The merged document replaces FastAPI's own at the same address (the API docs page reads it there).
    openapi_url = app.openapi_url or "/openapi.json"
    kept: list[BaseRoute] = [r for r in app.router.routes if getattr(r, "path", None) != openapi_url]
    app.router.routes[:] = kept
    app.router.routes.append(APIRoute(openapi_url, openapi, methods=["GET"], include_in_schema=False))
    app.add_middleware(IdentityForwarding, gateway_service=lambda: app.state.gateway, tokens=tokens)
    return app
