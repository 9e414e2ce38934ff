"""OIDC sign-in routes: ``GET /auth/oidc/login``, ``GET /auth/oidc/callback`` and
``GET /api/v1/auth/providers`` (whether the web UI should offer "Sign in with SSO").

All three are public (see :data:`PUBLIC_PATHS` and :data:`PUBLIC_PREFIXES`, which
:class:`~crm_gateway.entrypoints.identity.IdentityForwarding` must let through). A successful
callback sets the same ``crm_session`` cookie as the password sign-in and redirects to ``/``; a
failed one answers problem+json with the reason (and the audit trail records it).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.responses import RedirectResponse, Response

from crm_gateway.application.oidc import (
    FLOW_LIFETIME,
    FlowInvalid,
    IdentityRejected,
    OidcError,
    OidcProvider,
    OidcSignIn,
    ProviderUnavailable,
)
from crm_gateway.application.security import AccountLocked, RateLimited
from crm_gateway.bootstrap import GatewayService
from crm_gateway.entrypoints.http import SESSION_COOKIE
from crm_shared.http import problem

log = logging.getLogger(__name__)

LOGIN_PATH = "/auth/oidc/login"
CALLBACK_PATH = "/auth/oidc/callback"
PROVIDERS_PATH = "/api/v1/auth/providers"
PUBLIC_PATHS = frozenset({PROVIDERS_PATH})
"""Paths the identity middleware must let through without a session."""
PUBLIC_PREFIXES = ("/auth/oidc/",)
"""Path prefixes the identity middleware must let through without a session."""
STATE_COOKIE = "crm_oidc_state"
# Sent only to the callback; SameSite=Lax still reaches it, since the provider's redirect back is a
# top-level GET navigation.
_STATE_COOKIE_PATH = "/auth/oidc/"

_STATUS: list[tuple[type[OidcError], int, str]] = [
    (FlowInvalid, 400, "Sign-in not recognised"),
    (IdentityRejected, 401, "Sign-in refused"),
    (ProviderUnavailable, 502, "Identity provider unavailable"),
]
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "the callback does not belong to a sign-in this browser started"},
    401: {"description": "the provider refused the sign-in or its ID token is invalid"},
    404: {"description": "OIDC sign-in is not configured"},
    423: {"description": "the account is locked"},
    429: {"description": "too many attempts"},
    502: {"description": "the identity provider is unreachable or misconfigured"},
}


class AuthProvidersOut(BaseModel):
    """How people can sign in: the web UI shows "Sign in with SSO" when ``oidc`` is true."""

    password: bool = True
    oidc: bool
    oidc_login_url: str | None


def oidc_sign_in(service: GatewayService) -> OidcSignIn | None:
    """The OIDC sign-in of a wired gateway, per its settings; None when OIDC is not configured."""
    settings = service.settings
    if not (settings.oidc_issuer and settings.oidc_client_id):
        return None
    secret = settings.oidc_client_secret
    provider = OidcProvider(
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_redirect_uri,
        client_secret=secret.get_secret_value() if secret else None,
        scopes=settings.oidc_scopes,
    )
    return OidcSignIn(provider, settings, service.users, service.auth, service.views, service.groups)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _no_store(response: Response) -> Response:
    # Redirects that carry one-time secrets (state, a new session) must not be cached.
    response.headers["Cache-Control"] = "no-store"
    return response


def build_oidc_router(service: GatewayService) -> APIRouter:
    """The OIDC routes for one wired gateway (``login`` and ``callback`` answer 404 when OIDC is off)."""
    router = APIRouter(tags=["session"])
    sign_in = oidc_sign_in(service)
    secure = service.settings.secure_cookies

    def not_configured() -> Response:
        return problem(404, "Not found", "OIDC sign-in is not configured (CRM_OIDC_ISSUER, CRM_OIDC_CLIENT_ID)")

    def rate_limited(exc: RateLimited) -> Response:
        return problem(429, "Too many attempts", str(exc), headers={"Retry-After": str(exc.retry_after)})

    @router.get(PROVIDERS_PATH, response_model=AuthProvidersOut)
    async def auth_providers() -> AuthProvidersOut:
        """The sign-in methods on offer, for the sign-in page."""
        return AuthProvidersOut(oidc=sign_in is not None, oidc_login_url=LOGIN_PATH if sign_in else None)

    @router.get(LOGIN_PATH, response_class=RedirectResponse, status_code=302, responses=_ERRORS)
    async def oidc_login(request: Request) -> Response:
        """Start an OIDC sign-in: redirects to the identity provider (code flow, PKCE S256)."""
        if sign_in is None:
            return not_configured()
        try:
            started = await sign_in.start(_ip(request))
        except RateLimited as exc:
            return rate_limited(exc)
        except OidcError as exc:
            log.warning("gateway: cannot start an OIDC sign-in: %s", exc)
            return problem(502, "Identity provider unavailable", str(exc))
        response = RedirectResponse(started.url, status_code=302)
        response.set_cookie(
            STATE_COOKIE,
            started.state,
            max_age=int(FLOW_LIFETIME.total_seconds()),
            httponly=True,
            samesite="lax",
            path=_STATE_COOKIE_PATH,
            secure=secure,
        )
        return _no_store(response)

    @router.get(CALLBACK_PATH, response_class=RedirectResponse, status_code=302, responses=_ERRORS)
    async def oidc_callback(
        request: Request,
        code: str | None = Query(default=None, max_length=4096),
        state: str | None = Query(default=None, max_length=512),
        error: str | None = Query(default=None, max_length=256),
    ) -> Response:
        """Finish an OIDC sign-in: sets the session cookie and redirects to ``/``."""
        if sign_in is None:
            return not_configured()
        try:
            response: Response
            signed = await sign_in.finish(
                state=state, browser_state=request.cookies.get(STATE_COOKIE), code=code, error=error, ip=_ip(request)
            )
        except RateLimited as exc:
            return rate_limited(exc)
        except AccountLocked as exc:
            response = problem(423, "Account locked", str(exc))
        except OidcError as exc:
            status, title = next(((s, t) for kind, s, t in _STATUS if isinstance(exc, kind)), (401, "Sign-in refused"))
            response = problem(status, title, str(exc))
        else:
            earlier = request.cookies.get(SESSION_COOKIE)
            if earlier:  # a new session id on every sign-in: no session fixation
                await service.auth.sessions.end(earlier)
            response = RedirectResponse("/", status_code=302)
            response.set_cookie(SESSION_COOKIE, signed.token, httponly=True, samesite="lax", path="/", secure=secure)
        # The state is one-time: whatever happened, the browser forgets it.
        response.delete_cookie(STATE_COOKIE, path=_STATE_COOKIE_PATH, httponly=True, samesite="lax", secure=secure)
        return _no_store(response)

    return router
