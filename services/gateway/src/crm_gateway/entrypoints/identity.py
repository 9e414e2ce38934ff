"""Authentication for the whole CRM: the ASGI middleware in front of every route.

For every request it removes any incoming ``X-CRM-Caller`` header (never trusted from outside),
lets a short list of public paths through, and otherwise authenticates the request by its bearer
API key or its session cookie (with the CSRF check for unsafe methods). An authenticated request
goes on with a signed ``X-CRM-Caller`` token; the rest get 401 (or 403 for a failed CSRF check) as
problem+json. Paths are private unless listed as public: a route added later is protected without
anyone remembering to protect it.

Signing costs about as much as the rest of the middleware, so the token of a caller (its id, name,
roles and access groups: any change makes another caller) is reused for a quarter of its lifetime;
each request is still authenticated first, so a revoked key or an ended session gets no token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from crm_gateway.application.security import CsrfRejected, NotAuthenticated
from crm_gateway.bootstrap import GatewayService
from crm_gateway.entrypoints.http import CSRF_HEADER, SESSION_COOKIE
from crm_shared.http import problem
from crm_shared.identity import CALLER_HEADER, Caller, CallerTokens

log = logging.getLogger(__name__)

_CALLER = CALLER_HEADER.lower().encode()
_CSRF = CSRF_HEADER.lower().encode()
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/health",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/favicon.ico",
        "/api/v1/auth/providers",
    }
)
PUBLIC_PREFIXES = ("/ui/", "/static/", "/assets/", "/auth/oidc/")
SIGN_IN = ("POST", "/api/v1/session")
_SIGNED_CALLERS = 4096
"""Callers whose token is kept for reuse; all are forgotten when there are more."""

ServiceSource = GatewayService | Callable[[], GatewayService]


def is_public(method: str, path: str, prefixes: Iterable[str] = PUBLIC_PREFIXES) -> bool:
    """Whether a request needs no authentication: health, sign-in, the API docs, the web UI's pages."""
    if (method, path) == SIGN_IN or path in PUBLIC_PATHS:
        return True
    if not path.startswith(prefixes if isinstance(prefixes, tuple) else tuple(prefixes)):
        return False
    # Dot segments could step from a public prefix into a private path on a lenient router.
    return not any(part in (".", "..") for part in path.split("/"))


class IdentityForwarding:
    """ASGI middleware: authenticate, then forward the caller as a signed ``X-CRM-Caller`` token.

    ``gateway_service`` is the wired service or a function returning it, for apps whose lifespan
    builds the service after the middleware is installed (``lambda: app.state.gateway``).
    """

    def __init__(
        self,
        app: ASGIApp,
        gateway_service: ServiceSource,
        tokens: CallerTokens,
        public_prefixes: Iterable[str] = PUBLIC_PREFIXES,
    ) -> None:
        self.app = app
        self._service = gateway_service
        self._tokens = tokens
        self._public_prefixes = tuple(public_prefixes)
        self._signed: dict[Caller, tuple[bytes, float]] = {}
        self._reuse_for = tokens.ttl_seconds / 4

    def _token(self, caller: Caller) -> bytes:
        """A signed token for ``caller``: the last one while it is young enough, else a new one."""
        now = time.monotonic()
        signed = self._signed.get(caller)
        if signed is not None and now - signed[1] < self._reuse_for:
            return signed[0]
        token = self._tokens.issue(caller).encode()
        if len(self._signed) >= _SIGNED_CALLERS:
            self._signed.clear()
        self._signed[caller] = (token, now)
        return token

    def _gateway(self) -> GatewayService | None:
        if isinstance(self._service, GatewayService):
            return self._service
        try:
            return self._service()
        except AttributeError:  # the app's lifespan has not built it yet
            return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != _CALLER]
        scope = {**scope, "headers": headers}
        method = scope.get("method", "GET") if scope["type"] == "http" else "GET"
        if is_public(method, scope["path"], self._public_prefixes):
            await self.app(scope, receive, send)
            return
        gateway = self._gateway()
        if gateway is None:
            await self._refuse(scope, receive, send, 503, "Service unavailable", "the CRM is starting; retry")
            return
        try:
            caller = await self._authenticate(gateway, scope, headers, method)
        except NotAuthenticated as exc:
            await self._refuse(scope, receive, send, 401, "Not authenticated", str(exc))
            return
        except CsrfRejected as exc:
            await self._refuse(scope, receive, send, 403, "CSRF check failed", str(exc), field=CSRF_HEADER)
            return
        headers.append((_CALLER, self._token(caller)))
        await self.app(scope, receive, send)

    async def _authenticate(
        self, gateway: GatewayService, scope: Scope, headers: list[tuple[bytes, bytes]], method: str
    ) -> Caller:
        values: dict[bytes, bytes] = {}
        for key, value in headers:
            values.setdefault(key.lower(), value)
        authorization = values.get(b"authorization", b"").decode("latin-1").strip()
        if authorization:
            # A bearer key is never sent by a browser on its own, so it needs no CSRF token.
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() != "bearer" or not credentials.strip():
                raise NotAuthenticated("use 'Authorization: Bearer <API key>' or sign in")
            return await gateway.auth.api_key_caller(credentials.strip())
        cookies = cookie_parser(values.get(b"cookie", b"").decode("latin-1"))
        token = cookies.get(SESSION_COOKIE)
        if not token:
            raise NotAuthenticated("sign in or send an API key")
        csrf = values.get(_CSRF)
        return await gateway.auth.session_caller(
            token,
            csrf_token=None if csrf is None else csrf.decode("latin-1"),
            unsafe=scope["type"] == "http" and method in UNSAFE_METHODS,
        )

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, title: str, detail: str, field: str = ""
    ) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": title})
            return
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        errors = [{"field": field, "message": detail}] if field else []
        await problem(status, title, detail, errors, headers=headers)(scope, receive, send)
