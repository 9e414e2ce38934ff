"""HTTP conventions every service follows: problem details, ETags, limits, health.

Errors are ``application/problem+json`` (RFC 9457) with an ``errors`` list naming each bad field,
so a client (and the web UI) can show the message next to the field.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_shared.commands import CommandHandler, CommandResult, fingerprint
from crm_shared.errors import DomainError
from crm_shared.eventstore.port import EventStoreUnavailable, WrongExpectedVersion
from crm_shared.identity import CALLER_HEADER, Caller, CallerTokens, InvalidCallerToken
from crm_shared.inputs import CONTROL_CHARACTERS_MESSAGE, TEXT_PATTERNS, drop_null
from crm_shared.observability import TracingMiddleware
from crm_shared.projections import ViewNotReady

log = logging.getLogger(__name__)

POSITION_HEADER = "X-Commit-Position"
"""Response header with the commit position of the command's last event (read-your-writes)."""

MAX_BODY_BYTES = 1_000_000
STREAMED_UPLOADS = re.compile(r"^/api/v1/(?:[a-z0-9][a-z0-9-]*/)?imports/")
"""Paths of uploads, a convention of every service: routes under ``/api/v1/imports/`` (or under a
service's own prefix, ``/api/v1/<prefix>/imports/``) stream the body to disk and enforce their own,
larger limit, so neither a service nor the gateway in front of it holds it in memory or cuts it at
:data:`MAX_BODY_BYTES`."""


class ProblemField(BaseModel):
    """One bad input: where, and what is wrong with it."""

    field: str | None = None
    message: str
    type: str | None = None


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details), with each bad field named in ``errors``."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[ProblemField] | None = None


PROBLEM_RESPONSE: dict[str, Any] = {
    "model": Problem,
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    "description": "Problem details (RFC 9457)",
}
"""Declared for every 4xx and 5xx of every route, so clients (and the fuzz tests) know the error shape."""


class HttpProblem(Exception):
    """Raise to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str = "", field: str | None = None) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.field = status, title, detail, field


def problem(
    status: int,
    title: str,
    detail: str = "",
    errors: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def etag(version: int) -> str:
    """The ETag of a stream version."""
    return f'"{version}"'


ETAG_PATTERN = r'^(W/)?"?[0-9]{1,19}"?$'
"""An ETag of this API: the stream version in quotes (``"3"``), weak or not; the quotes may be left out."""
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,2000}$"
"""A pagination cursor of this API: URL-safe base64 without padding (opaque to clients)."""
RETRY_AFTER_HEADER: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
VIEW_NOT_READY_RESPONSE: dict[str, Any] = {
    **PROBLEM_RESPONSE,
    "description": "The view has not caught up with `min_position` within the bounded wait; retry later",
    "headers": RETRY_AFTER_HEADER,
}
"""Declared on every query with ``?min_position=``."""


def parse_if_match(value: str | None) -> int | None:
    """The stream version an ``If-Match`` header names; 400 when it names none."""
    if value is None:
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise HttpProblem(400, "Bad If-Match header", 'If-Match must be an ETag from this API, e.g. "3"', "If-Match")
    return int(text)


async def _if_match(
    value: Annotated[
        str | None,
        Header(
            alias="If-Match",
            pattern=ETAG_PATTERN,
            description='The ETag the change was made on, e.g. "3"; a stale one gets 412',
        ),
    ] = None,
) -> int | None:
    return parse_if_match(value)


IfMatch = Annotated[int | None, Depends(_if_match)]
"""The ``If-Match`` header of a change, parsed to the stream version it names (400 when it names none)."""

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Makes a retried request a no-op; the same key with another request gets 422",
    ),
]
"""The ``Idempotency-Key`` header of a command."""

MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        le=2**63 - 1,
        description=f"Wait until the view includes this commit position (from {POSITION_HEADER}); "
        "504 with Retry-After when it has not within the bounded wait",
    ),
]
"""``?min_position=``: read-your-writes for queries (a route with it declares :data:`VIEW_NOT_READY_RESPONSE`)."""

Cursor = Annotated[
    str | None,
    Query(pattern=CURSOR_PATTERN, description="`next_cursor` of the previous page; absent for the first page"),
]
"""``?cursor=`` of a keyset-paginated list (400 when it is not one this API returned)."""


def answered(response: Response, result: CommandResult[Any], *, location: str | None = None) -> None:
    """Sets a command's answer headers: ``ETag`` (the stream version), the commit position and, for a
    created record, ``Location``."""
    response.headers["ETag"] = etag(result.version)
    response.headers[POSITION_HEADER] = str(result.position)
    if location is not None:
        response.headers["Location"] = location


def command_answer(
    content: bytes, result: CommandResult[Any], *, status_code: int = 200, location: str | None = None
) -> Response:
    """A command's JSON answer, serialised already, with the headers :func:`answered` sets.

    Returned from a route, it is sent as it is: FastAPI neither validates it against the route's
    ``response_model`` again nor serialises it (the route keeps ``response_model`` for its OpenAPI
    document), so ``content`` must be the model's own JSON (e.g. ``Model.model_validate(...)``
    dumped by its serializer)."""
    headers = {"ETag": etag(result.version), POSITION_HEADER: str(result.position)}
    if location is not None:
        headers["Location"] = location
    return Response(content, status_code=status_code, headers=headers, media_type="application/json")


T = TypeVar("T")


async def run_command(
    handler: CommandHandler[Any, T],
    command: Any,
    caller: Caller,
    response: Response,
    *,
    if_match: int | None = None,
    idempotency_key: str | None = None,
    body: BaseModel | None = None,
    location: Callable[[T], str] | None = None,
) -> CommandResult[T]:
    """A route's command: handled through the kernel command path (``body`` fingerprints the request
    for the ``Idempotency-Key``), answered with :func:`answered` (``location`` of a created record)."""
    request = None if body is None or idempotency_key is None else fingerprint(body.model_dump(mode="json"))
    result = await handler.handle(command, caller, if_match=if_match, idempotency_key=idempotency_key, request=request)
    answered(response, result, location=None if location is None else location(result.state))
    return result


class HistoryEntryOut(BaseModel):
    """One change of a record: its version, when it was committed, by whom, which event, what it set."""

    version: int
    at: datetime
    event: str
    actor: str | None
    changes: dict[str, Any]


class HistoryOut(BaseModel):
    """Every change of a record, oldest first."""

    items: list[HistoryEntryOut]


def caller_dependency(tokens: CallerTokens) -> Any:
    """A FastAPI dependency giving the verified :class:`Caller` of a request (401 without one)."""

    # The header is read from the request, not declared as a parameter: FastAPI would validate it as a
    # field on every request, and it is not part of the public API (the gateway sets it).
    async def current_caller(request: Request) -> Caller:
        token = request.headers.get(CALLER_HEADER)
        if not token:
            raise HttpProblem(401, "Not signed in", "sign in or send an API key")
        try:
            return tokens.verify(token)
        except InvalidCallerToken as exc:
            raise HttpProblem(401, "Invalid credentials", "the credentials are invalid or expired") from exc

    return Depends(current_caller)


def _message(error: Any) -> str:
    ctx = error.get("ctx") or {}
    if error.get("type") == "string_pattern_mismatch" and ctx.get("pattern") in TEXT_PATTERNS:
        return CONTROL_CHARACTERS_MESSAGE
    return str(error.get("msg", "invalid")) + (f": {ctx['error']}" if "error" in ctx else "")


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: Any, scope: Scope) -> list[str]:
    """The methods of the resource at the path of ``scope`` (a 405's ``Allow``): of the routes that take
    the path, those of its most literal path (``/counterparties/duplicates`` rather than
    ``/counterparties/{counterparty_id}``), as the OpenAPI document lists them."""
    routes: dict[str, list[str]] = {}
    for method in _METHODS:
        probe = {**scope, "method": method}
        for route in app.router.routes:
            match, child = route.matches(probe)
            if match is Match.FULL:
                path = getattr(child.get("route", route), "path", "")
                routes.setdefault(path, []).append(method)
                break
    if not routes:
        return []
    literal = max(routes, key=lambda path: sum(1 for s in path.split("/") if s and "{" not in s))
    return routes[literal]


def _field(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts)


def install(app: FastAPI) -> None:
    """Error handlers and the body-size limit, for every service app."""

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "field": "body" if e.get("type") == "json_invalid" else _field(e.get("loc", ())),
                "message": _message(e),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return problem(422, "Invalid request", f"check these fields: {fields}", errors)

    @app.exception_handler(DomainError)
    async def refused(_: Request, exc: DomainError) -> Response:
        errors = [{"field": exc.field, "message": str(exc)}] if exc.field else []
        return problem(exc.status, "Request refused", str(exc), errors)

    @app.exception_handler(HttpProblem)
    async def http_problem(_: Request, exc: HttpProblem) -> Response:
        errors = [{"field": exc.field, "message": exc.detail or exc.title}] if exc.field else []
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(exc.status, exc.title, exc.detail, errors, headers=headers)

    @app.exception_handler(WrongExpectedVersion)
    async def conflict(_: Request, exc: WrongExpectedVersion) -> Response:
        return problem(409, "Conflict", "someone else changed this record at the same time; reload and retry")

    @app.exception_handler(EventStoreUnavailable)
    async def unavailable(_: Request, exc: EventStoreUnavailable) -> Response:
        log.error("event store unavailable: %s", exc)
        return problem(
            503, "Service unavailable", "the event store is unavailable; retry later", headers={"Retry-After": "2"}
        )

    @app.exception_handler(ViewNotReady)
    async def not_ready(_: Request, exc: ViewNotReady) -> Response:
        return problem(504, "View not caught up", str(exc), headers={"Retry-After": "1"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette's Allow names the methods of the first route that matched the path only.
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request.app, request.scope))}
        return problem(exc.status_code, str(exc.detail), headers=headers)

    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(TracingMiddleware)


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or STREAMED_UPLOADS.match(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HttpProblem(413, "Request body too large", f"at most {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)


def _too_large(limit: int) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    return problem(413, "Request body too large", f"at most {limit} bytes")


def truthful_openapi(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (FastAPI's) corrected where it says more than the server does: a parameter is never
    ``null`` (a query or header cannot carry one), a query with ``?min_position=`` declares its 504, and a
    map whose keys have a pattern (``properties``) takes no other key, as the server refuses them."""
    _closed_maps(document)
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if "schema" in parameter:
                    parameter["schema"] = drop_null(parameter["schema"])
            if any(p.get("name") == "min_position" for p in operation.get("parameters", [])):
                operation.setdefault("responses", {})["504"] = {
                    "description": VIEW_NOT_READY_RESPONSE["description"],
                    "headers": VIEW_NOT_READY_RESPONSE["headers"],
                    "content": VIEW_NOT_READY_RESPONSE["content"],
                }
    return document


def _closed_maps(node: Any) -> None:
    if isinstance(node, dict):
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and "additionalProperties" not in node:
            node["additionalProperties"] = False
            if len(patterns) == 1:
                node["propertyNames"] = {"pattern": next(iter(patterns))}
        for value in node.values():
            _closed_maps(value)
    elif isinstance(node, list):
        for value in node:
            _closed_maps(value)


def make_app(title: str, version: str, lifespan: Any, *, description: str = "") -> FastAPI:
    """A service's FastAPI app with the shared conventions and a ``/health`` endpoint.

    ``lifespan`` opens the service's adapters; until it has, ``/health`` answers 503.
    """
    # FastAPI's built-in OpenTelemetry (a server span, operation spans for dependencies, endpoint and
    # serialisation, and request metrics) switches itself on as soon as a provider is configured, and
    # then costs about as much CPU as the rest of a command. TracingMiddleware already gives the
    # server span, the caller's trace context and the latency histogram, so it stays off.
    app = FastAPI(
        title=title,
        version=version,
        description=description,
        lifespan=lifespan,
        responses={"4XX": PROBLEM_RESPONSE, "5XX": PROBLEM_RESPONSE},
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.ready = False
    install(app)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = truthful_openapi(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/health", tags=["health"])
    async def health(request: Request) -> Response:
        """Liveness and readiness: 200 once the service's stores are open."""
        ready = bool(getattr(request.app.state, "ready", False))
        return JSONResponse({"status": "ok" if ready else "starting"}, status_code=200 if ready else 503)

    return app
