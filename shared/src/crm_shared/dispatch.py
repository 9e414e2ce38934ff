"""Routing ``/api/v1/<prefix>`` straight to the routes of the service that owns the prefix.

An app that includes every service's router matches a request against the routers one after the
other, each nested inclusion matched again when it handles the request: ``POST /api/v1/counterparties``
cost 110-190 µs of matching, a route of the last service 360-650 µs. :class:`ServiceDispatch` is one
route put first in the app's router: it takes the first path segment under ``/api/v1``, looks up the
service that owns it (:attr:`crm_shared.service.Service.prefixes`) and matches only that service's
routes, flattened once, each with the exact handler the app built for it (the inclusions'
dependencies, response class, body limit and the app's dependency overrides provider).

The routers stay included in the app as before, so the OpenAPI document, ``url_for`` and every other
request (the web UI, ``/health``, a trailing slash that is redirected, a method that is not allowed:
405) take FastAPI's own routing unchanged: the dispatcher answers only a full match and otherwise
lets the app's router go on as if it were not there. While ``app.dependency_overrides`` holds
anything (tests), it steps aside too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_SCOPE_KEY,
    APIRoute,
    _EffectiveRouteContext,
    _IncludedRouter,
)
from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from crm_shared.service import API_PREFIX

_SELECTED = "crm.dispatch.selected"
"""Scope key: the route context :meth:`ServiceDispatch.matches` chose, for :meth:`~ServiceDispatch.handle`."""


def _plain(included: _IncludedRouter) -> bool:
    """Whether every router under ``included`` leaves form limits alone (the one thing a nested
    inclusion applies while handling that the flattened route context does not carry)."""
    if included.include_context.form_limits or included.original_router.form_limits:
        return False
    return all(_plain(route) for route in included.original_router.routes if isinstance(route, _IncludedRouter))


class ServiceDispatch(BaseRoute):
    """The first route of an app: ``/api/v1/<prefix>/...`` matched among the owner's routes only."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._by_prefix: dict[str, list[_EffectiveRouteContext]] = {}
        self._start = API_PREFIX + "/"

    def add(self, prefixes: tuple[str, ...], included: BaseRoute) -> bool:
        """Dispatch ``prefixes`` to the routes of ``included`` (what ``include_router`` appended).

        False (and nothing dispatched) when its routes cannot be taken by this fast path: anything
        but FastAPI routes, or form limits set on a nested router."""
        if not isinstance(included, _IncludedRouter) or not _plain(included):
            return False
        contexts = list(included.effective_route_contexts())
        if not all(isinstance(c.original_route, APIRoute) and c.app is not None for c in contexts):
            return False
        for prefix in prefixes:
            self._by_prefix[prefix] = contexts
        return True

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or self._app.dependency_overrides:
            return Match.NONE, {}
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if not path.startswith(self._start):
            return Match.NONE, {}
        segment = path[len(self._start) :].partition("/")[0]
        contexts = self._by_prefix.get(segment)
        if contexts is None:
            return Match.NONE, {}
        for context in contexts:
            match, child_scope = context.matches(scope)
            if match is Match.FULL:
                return Match.FULL, {**child_scope, "route": context.original_route, _SELECTED: context}
        # No full match (none at all, or another method: 405): FastAPI's routing decides.
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        # The routes stay included in the app, which finds them by name.
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        context: _EffectiveRouteContext = scope.pop(_SELECTED)
        fastapi_scope: dict[str, Any] = scope.setdefault(_FASTAPI_SCOPE_KEY, {})
        fastapi_scope[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = context
        await context.original_route.handle(scope, receive, send)


def include_service(app: FastAPI, prefixes: tuple[str, ...], router: APIRouter) -> None:
    """``app.include_router(router)``, and ``/api/v1/<prefix>`` for each of ``prefixes`` dispatched
    straight to its routes (see the module docstring)."""
    app.include_router(router)
    included = app.router.routes[-1]
    dispatch = next((r for r in app.router.routes if isinstance(r, ServiceDispatch)), None)
    if dispatch is None:
        dispatch = ServiceDispatch(app)
        app.router.routes.insert(0, dispatch)
    dispatch.add(prefixes, included)
